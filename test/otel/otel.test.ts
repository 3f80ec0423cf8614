import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  context, createTraceState, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace,
  type Attributes, type AttributeValue, type Context, type ContextManager, type Exception, type Span, type SpanContext,
  type SpanOptions, type SpanStatus, type TextMapPropagator, type Tracer,
} from "@opentelemetry/api";
import { FakeCluster, ERR } from "../fake/cluster.ts";
import { Producer, type ProducerRecord, type RecordMetadata } from "../../src/public.ts";
import { extractContext, instrumentConsumer, instrumentProducer, tracedProcess, tracedSend } from "../../src/otel.ts";
import { Consumer, type ConsumerBatch, type ConsumerRecord } from "../../src/consumer/consumer.ts";
import { within } from "../harness/bounded.ts";
import { ApiKey } from "../../src/protocol/api.ts";

/** A finished-span recorder implementing the API's Span and Tracer interfaces (no SDK). */
class MemorySpan implements Span {
  attributes: Attributes = {};
  status: SpanStatus = { code: SpanStatusCode.UNSET };
  exceptions: Exception[] = [];
  ended = false;
  constructor(readonly name: string, readonly kind: SpanKind, readonly context: SpanContext, readonly parentSpanId: string | undefined, readonly sink: MemorySpan[]) {}
  spanContext() { return this.context; }
  setAttribute(key: string, value: AttributeValue) { this.attributes[key] = value; return this; }
  setAttributes(attributes: Attributes) { Object.assign(this.attributes, attributes); return this; }
  addEvent() { return this; }
  addLink() { return this; }
  addLinks() { return this; }
  setStatus(status: SpanStatus) { this.status = status; return this; }
  updateName() { return this; }
  end() { assert.not.ok(this.ended, `span ${this.name} ended twice`); this.ended = true; this.sink.push(this); }
  isRecording() { return !this.ended; }
  recordException(exception: Exception) { this.exceptions.push(exception); }
}

const hex = (bytes: number) => Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");

class MemoryTracer implements Tracer {
  finished: MemorySpan[] = [];
  startSpan(name: string, options: SpanOptions = {}, ctx: Context = context.active()): Span {
    const parent = trace.getSpanContext(ctx);
    const traceId = parent && trace.isSpanContextValid(parent) ? parent.traceId : hex(16);
    return new MemorySpan(name, options.kind ?? SpanKind.INTERNAL, { traceId, spanId: hex(8), traceFlags: 1, ...(parent?.traceState ? { traceState: parent.traceState } : {}) }, parent?.spanId, this.finished)
      .setAttributes(options.attributes ?? {}) as MemorySpan;
  }
  startActiveSpan(): never { throw new Error("not used"); }
}

/** A synchronous stack-based context manager, so context.with() makes a span active in the test. */
class StackContextManager implements ContextManager {
  #stack: Context[] = [];
  active() { return this.#stack.at(-1) ?? ROOT_CONTEXT; }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    this.#stack.push(ctx);
    try { return fn.call(thisArg, ...args); } finally { this.#stack.pop(); }
  }
  bind<T>(_ctx: Context, target: T) { return target; }
  enable() { return this; }
  disable() { this.#stack = []; return this; }
}
context.setGlobalContextManager(new StackContextManager());

/** The W3C traceparent grammar (version 00). */
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

function setup() {
  const cluster = new FakeCluster({ brokers: 1, topics: [{ name: "t", partitions: 2 }] });
  const producer = new Producer({ brokers: cluster.bootstrap, transport: cluster.transport, lingerMs: 0 });
  return { cluster, producer };
}

test("send opens a PRODUCER span 'send <topic>' with the messaging attributes and the broker's offset", async () => {
  const { producer } = setup();
  const tracer = new MemoryTracer();
  const traced = instrumentProducer(producer, { tracer, clientId: "app" });
  const meta = await within(traced.send({ topic: "t", key: "user-7", value: "v", partition: 1 }), 10_000, "send");
  const second = await within(traced.send({ topic: "t", key: "user-7", value: "w", partition: 1 }), 10_000, "send 2");
  assert.is(tracer.finished.length, 2);
  const [span] = tracer.finished;
  assert.is(span!.name, "send t");
  assert.is(span!.kind, SpanKind.PRODUCER);
  assert.equal(span!.attributes, {
    "messaging.system": "kafka",
    "messaging.operation.name": "send",
    "messaging.operation.type": "send",
    "messaging.destination.name": "t",
    "messaging.destination.partition.id": "1",
    "messaging.kafka.destination.partition": 1,
    "messaging.kafka.message.key": "user-7",
    "messaging.client.id": "app",
    "messaging.kafka.offset": meta.offset,
    "messaging.kafka.message.offset": meta.offset,
    "messaging.message.id": `t-1-${meta.offset}`,
  });
  assert.is(tracer.finished[1]!.attributes["messaging.kafka.offset"], second.offset);
  assert.is(second.offset, meta.offset + 1, "offsets are the broker's");
  assert.is(span!.status.code, SpanStatusCode.UNSET);
  await producer.close();
});

test("traceparent in the record headers parses as W3C Trace Context with the span's trace and span ids; the caller's record is untouched", async () => {
  const sent: ProducerRecord[] = [];
  const stub = { send(record: ProducerRecord, cb: (e: Error | null, m?: RecordMetadata) => void) { sent.push(record); cb(null, { topic: record.topic, partition: 0, offset: 5, timestamp: 0 }); } };
  const tracer = new MemoryTracer();
  const headers = { app: "x" };
  const record = { topic: "t", value: "v", headers };
  await instrumentProducer(stub, { tracer }).send(record);
  assert.equal(record, { topic: "t", value: "v", headers: { app: "x" } }, "record not mutated");
  assert.is(record.headers, headers, "headers object not replaced");
  const m = TRACEPARENT.exec(String(sent[0]!.headers!.traceparent));
  assert.ok(m, `traceparent ${sent[0]!.headers!.traceparent}`);
  const span = tracer.finished[0]!;
  assert.is(m![1], span.context.traceId);
  assert.is(m![2], span.context.spanId);
  assert.is(m![3], "01");
  assert.is(sent[0]!.headers!.app, "x", "the caller's headers are kept");
});

test("the span is a child of the active span, and a consumer continues the trace from the headers (string or byte values)", async () => {
  const sent: ProducerRecord[] = [];
  const stub = { send(record: ProducerRecord, cb: (e: Error | null, m?: RecordMetadata) => void) { sent.push(record); cb(null, { topic: record.topic, partition: 0, offset: 0, timestamp: 0 }); } };
  const tracer = new MemoryTracer();
  const root = tracer.startSpan("click");
  await context.with(trace.setSpan(context.active(), root), () => instrumentProducer(stub, { tracer }).send({ topic: "t", value: "v" }));
  const producerSpan = tracer.finished[0]!;
  assert.is(producerSpan.context.traceId, root.spanContext().traceId, "same trace as the active span");
  assert.is(producerSpan.parentSpanId, root.spanContext().spanId);
  // Consumer side: headers come back as bytes.
  const received = Object.fromEntries(Object.entries(sent[0]!.headers!).map(([k, v]) => [k, new TextEncoder().encode(String(v))]));
  const consumerSpan = tracer.startSpan("process t", { kind: SpanKind.CONSUMER }, extractContext(received)) as MemorySpan;
  assert.is(consumerSpan.context.traceId, root.spanContext().traceId);
  assert.is(consumerSpan.parentSpanId, producerSpan.context.spanId, "the consumer's parent is the producer span");
  assert.ok(trace.getSpanContext(extractContext(received))!.isRemote);
  assert.is(trace.getSpanContext(extractContext({ traceparent: "00-00000000000000000000000000000000-0000000000000001-01" })), undefined, "an all-zero trace id is invalid");
  assert.is(trace.getSpanContext(extractContext({ traceparent: "garbage" })), undefined);
});

test("a failed send ends its span with ERROR status, error.type = the Kafka error code and the exception", async () => {
  const { cluster, producer } = setup();
  cluster.inject({ apiKey: ApiKey.Produce, action: { error: ERR.INVALID_REQUIRED_ACKS } });
  const tracer = new MemoryTracer();
  const traced = instrumentProducer(producer, { tracer });
  const error = await within(traced.send({ topic: "t", value: "v" }).then(() => undefined, (e: Error) => e), 20_000, "failure");
  assert.ok(error, "the send failed");
  const span = tracer.finished[0]!;
  assert.is(span.status.code, SpanStatusCode.ERROR);
  assert.is(span.attributes["error.type"], (error as { code?: string }).code);
  assert.is(span.exceptions[0], error);
  assert.is(span.attributes["messaging.kafka.offset"], undefined);
  await producer.close();
});

test("a send that throws synchronously ends its span as failed and rethrows", () => {
  const tracer = new MemoryTracer();
  const boom = new Error("closed");
  const stub = { send(): void { throw boom; } };
  assert.throws(() => tracedSend(stub, { topic: "t", value: "v" }, () => assert.unreachable("callback"), { tracer }), (e: unknown) => e === boom);
  assert.is(tracer.finished[0]!.status.code, SpanStatusCode.ERROR);
});

test("a registered global propagator injects the headers (with tracestate), and extractContext uses it", async () => {
  const fields: string[] = [];
  const custom: TextMapPropagator = {
    inject(ctx, carrier, setter) { const s = trace.getSpanContext(ctx)!; setter.set(carrier, "x-trace", `${s.traceId}:${s.spanId}`); fields.push("inject"); },
    extract(ctx, carrier, getter) {
      const [traceId, spanId] = String(getter.get(carrier, "x-trace")).split(":");
      return trace.setSpanContext(ctx, { traceId: traceId!, spanId: spanId!, traceFlags: 1, isRemote: true });
    },
    fields: () => ["x-trace"],
  };
  propagation.setGlobalPropagator(custom);
  try {
    const sent: ProducerRecord[] = [];
    const stub = { send(record: ProducerRecord, cb: (e: Error | null, m?: RecordMetadata) => void) { sent.push(record); cb(null, { topic: "t", partition: 0, offset: 0, timestamp: 0 }); } };
    const tracer = new MemoryTracer();
    await instrumentProducer(stub, { tracer }).send({ topic: "t", value: "v" });
    const span = tracer.finished[0]!;
    assert.is(sent[0]!.headers!["x-trace"], `${span.context.traceId}:${span.context.spanId}`);
    assert.is(sent[0]!.headers!.traceparent, undefined, "the registered propagator decides the header");
    assert.is(trace.getSpanContext(extractContext(sent[0]!.headers))!.spanId, span.context.spanId);
  } finally {
    propagation.disable();
  }
  // Without a propagator, tracestate comes from the span context.
  const sent: ProducerRecord[] = [];
  const stub = { send(record: ProducerRecord, cb: (e: Error | null, m?: RecordMetadata) => void) { sent.push(record); cb(null, { topic: "t", partition: 0, offset: 0, timestamp: 0 }); } };
  const parent = trace.wrapSpanContext({ traceId: hex(16), spanId: hex(8), traceFlags: 1, traceState: createTraceState("vendor=abc") });
  const tracer = new MemoryTracer();
  await context.with(trace.setSpan(ROOT_CONTEXT, parent), () => instrumentProducer(stub, { tracer }).send({ topic: "t", value: "v" }));
  assert.ok(TRACEPARENT.test(String(sent[0]!.headers!.traceparent)));
  assert.is(sent[0]!.headers!.tracestate, "vendor=abc");
});

test("other members are the producer's own, bound to it (private fields work)", async () => {
  const { producer } = setup();
  const traced = instrumentProducer(producer, { tracer: new MemoryTracer() });
  await within(traced.send({ topic: "t", value: "v" }), 10_000, "send");
  await within(traced.flush(), 10_000, "flush");
  assert.ok(traced.metrics()!.recordsSent >= 1);
  await traced.close();
});

function consumerOf(cluster: FakeCluster, groupId = "g") {
  return new Consumer({ brokers: cluster.bootstrap, transport: cluster.transport, groupId, clientId: "reader", topics: ["t"], autoOffsetReset: "earliest",
    autoCommit: false, heartbeatIntervalMs: 50, sessionTimeoutMs: 2000, maxWaitMs: 50 });
}

test("a record's CONSUMER span 'process <topic>' (run/eachBatch) continues its producer span's trace, with the messaging attributes", async () => {
  const { cluster, producer } = setup();
  const tracer = new MemoryTracer();
  const root = tracer.startSpan("click");
  const meta = await within(context.with(trace.setSpan(ROOT_CONTEXT, root), () => instrumentProducer(producer, { tracer }).send({ topic: "t", partition: 1, key: "user-7", value: "v" })), 10_000, "send");
  await producer.close();
  const producerSpan = tracer.finished.find((s) => s.kind === SpanKind.PRODUCER)!;
  const consumer = instrumentConsumer(consumerOf(cluster), { tracer });
  let active: SpanContext | undefined;
  const done = consumer.run({ eachBatch: async (batch: ConsumerBatch) => { active = trace.getSpanContext(context.active()); if (batch.records.length) await consumer.close(); } });
  await within(done, 10_000, "run to end");
  const spans = tracer.finished.filter((s) => s.kind === SpanKind.CONSUMER);
  assert.is(spans.length, 1);
  const span = spans[0]!;
  assert.is(span.name, "process t");
  assert.is(span.context.traceId, producerSpan.context.traceId, "one trace from the click to the processing");
  assert.is(span.context.traceId, root.spanContext().traceId);
  assert.is(span.parentSpanId, producerSpan.context.spanId, "parented to the producer span");
  assert.is(active?.spanId, span.context.spanId, "the span is active while the handler runs");
  assert.equal(span.attributes, {
    "messaging.system": "kafka",
    "messaging.operation.name": "process",
    "messaging.operation.type": "process",
    "messaging.destination.name": "t",
    "messaging.destination.partition.id": "1",
    "messaging.kafka.destination.partition": 1,
    "messaging.kafka.offset": meta.offset,
    "messaging.kafka.message.offset": meta.offset,
    "messaging.message.id": `t-1-${meta.offset}`,
    "messaging.consumer.group.name": "g",
    "messaging.kafka.consumer.group": "g",
    "messaging.kafka.message.key": "user-7",
    "messaging.client.id": "reader",
  });
  assert.is(span.status.code, SpanStatusCode.UNSET);
  cluster.close();
});

test("an eachBatch handler that throws sets ERROR status on its records' spans, and run() rejects with the same error", async () => {
  const { cluster, producer } = setup();
  const tracer = new MemoryTracer();
  await within(instrumentProducer(producer, { tracer }).send({ topic: "t", partition: 0, value: "a" }), 10_000, "send");
  await producer.close();
  const consumer = instrumentConsumer(consumerOf(cluster), { tracer });
  const boom = new Error("handler failed");
  const error = await within(consumer.run({ eachBatch: () => { throw boom; } }).then(() => undefined, (e: unknown) => e), 10_000, "run to fail");
  assert.is(error, boom);
  const span = tracer.finished.find((s) => s.kind === SpanKind.CONSUMER)!;
  assert.is(span.status.code, SpanStatusCode.ERROR);
  assert.is(span.exceptions[0], boom);
  assert.is(span.attributes["error.type"], "Error");
  await consumer.close();
  cluster.close();
});

test("the async iterator's span per record lasts until the next record is asked for; tracedProcess wraps a handler and rethrows its error", async () => {
  const { cluster, producer } = setup();
  const tracer = new MemoryTracer();
  const traced = instrumentProducer(producer, { tracer });
  await within(traced.send({ topic: "t", partition: 0, value: "a" }), 10_000, "send a");
  await within(traced.send({ topic: "t", partition: 0, value: "b" }), 10_000, "send b");
  await producer.close();
  const [sendA, sendB] = tracer.finished;
  const consumer = instrumentConsumer(consumerOf(cluster), { tracer });
  const it = consumer[Symbol.asyncIterator]();
  const first = await within(it.next(), 10_000, "first record");
  const consumerSpans = () => tracer.finished.filter((s) => s.kind === SpanKind.CONSUMER);
  assert.is(consumerSpans().length, 0, "open while the application holds the record");
  await within(it.next(), 10_000, "second record");
  assert.is(consumerSpans().length, 1);
  assert.is(consumerSpans()[0]!.parentSpanId, sendA!.context.spanId);
  await it.return!();
  assert.is(consumerSpans().length, 2, "leaving the loop ends the last span");
  assert.is(consumerSpans()[1]!.parentSpanId, sendB!.context.spanId);
  // tracedProcess: the same span around a handler, with its failure recorded.
  const boom = new Error("bad record");
  const e = await tracedProcess(first.value as ConsumerRecord, () => { throw boom; }, { tracer, groupId: "g" }).then(() => undefined, (x: unknown) => x);
  assert.is(e, boom);
  const failed = consumerSpans()[2]!;
  assert.is(failed.status.code, SpanStatusCode.ERROR);
  assert.is(failed.context.traceId, sendA!.context.traceId);
  cluster.close();
});

test.run();
