/**
 * `kafkasm/otel`: OpenTelemetry tracing for the producer, with `@opentelemetry/api` as an optional peer
 * dependency (the core never imports it). `instrumentProducer(producer)` returns the producer whose
 * `send` opens a PRODUCER span per record, named and attributed by the messaging semantic conventions
 * ("send <topic>", messaging.system "kafka", …), and carries the span's W3C `traceparent`/`tracestate`
 * in the record's headers, so the consumer of the record continues the trace (`extractContext`).
 *
 * @example
 * ```ts
 * import { Producer } from "kafkasm";
 * import { Consumer } from "kafkasm/consumer";
 * import { instrumentConsumer, instrumentProducer, extractContext } from "kafkasm/otel";
 * import { SpanKind, trace } from "@opentelemetry/api";
 * const producer = instrumentProducer(new Producer({ brokers: ["localhost:9092"] }));
 * await producer.send({ topic: "clicks", value: "{}" }); // a span "send clicks"; headers.traceparent set
 * // The consumer's span continues the trace from the record's headers:
 * const headers = { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" };
 * trace.getTracer("app").startSpan("process clicks", { kind: SpanKind.CONSUMER }, extractContext(headers)).end();
 * // Or let kafkasm open them: a CONSUMER span "process <topic>" per record, parented to its producer span.
 * const consumer = instrumentConsumer(new Consumer({ brokers: ["localhost:9092"], groupId: "g", topics: ["clicks"] }));
 * await consumer.run({ eachBatch: async (batch) => console.log(batch.records.length) });
 * ```
 */
import {
  context as contextApi, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags,
  type Attributes, type Context, type Span, type SpanContext, type TextMapPropagator, type Tracer,
} from "@opentelemetry/api";
import type { ProducerRecord, RecordMetadata } from "./producer/config.ts";
import type { ConsumerBatch, ConsumerRecord } from "./consumer/config.ts";

/** Record headers as kafkasm takes them (and as a consumer reads them back: values may be bytes). */
export type Headers = Record<string, string | Uint8Array | null>;

/** The part of a producer that is traced: the callback form of `send` (the Promise form is built on it). */
export interface SendingProducer<K = string | Uint8Array, V = string | Uint8Array> {
  send(record: ProducerRecord<K, V>, callback: (error: Error | null, metadata?: RecordMetadata) => void): void;
}

export interface InstrumentOptions {
  /** @default trace.getTracer("kafkasm") */
  tracer?: Tracer;
  /** Injects the span context into headers. @default the global propagator, or W3C Trace Context when none is registered */
  propagator?: TextMapPropagator;
  /** `messaging.client.id` on every span. */
  clientId?: string;
}

/** Both `send` forms of the producer, traced; every other member is the producer's own. */
export type Instrumented<P> = P & {
  send<K, V>(record: ProducerRecord<K, V>): Promise<RecordMetadata>;
  send<K, V>(record: ProducerRecord<K, V>, callback: (error: Error | null, metadata?: RecordMetadata) => void): void;
};

/** Kafka's name in the conventions (`messaging.system`). */
const SYSTEM = "kafka";
const VERSION_PATTERN = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** Header getter/setter for the propagator API over a record's headers (byte values read as UTF-8). */
const headerGetter = {
  keys: (carrier: Headers) => Object.keys(carrier),
  get(carrier: Headers, key: string): string | undefined {
    const v = carrier[key] ?? carrier[key.toLowerCase()];
    return v == null ? undefined : typeof v === "string" ? v : new TextDecoder().decode(v);
  },
};
const headerSetter = { set: (carrier: Headers, key: string, value: string) => { carrier[key] = value; } };

/** The global propagator unless it is the API's no-op one (it has no fields). */
function propagatorOf(options: InstrumentOptions): TextMapPropagator | undefined {
  if (options.propagator) return options.propagator;
  return propagation.fields().length > 0 ? (propagation as unknown as TextMapPropagator) : undefined;
}

/** W3C Trace Context (version 00) written from the span's own context, when no propagator is set. */
function injectTraceContext(span: SpanContext, headers: Headers): void {
  if (!trace.isSpanContextValid(span)) return;
  headers.traceparent = `00-${span.traceId}-${span.spanId}-${(span.traceFlags & 0xff).toString(16).padStart(2, "0")}`;
  const state = span.traceState?.serialize();
  if (state) headers.tracestate = state;
}

/**
 * The context a record's headers carry (its producer span as the remote parent), for a consumer's
 * span: `tracer.startSpan("process t", { kind: SpanKind.CONSUMER }, extractContext(headers))`.
 */
export function extractContext(headers: Headers | undefined, options: { propagator?: TextMapPropagator; context?: Context } = {}): Context {
  const base = options.context ?? ROOT_CONTEXT;
  if (!headers) return base;
  const propagator = propagatorOf(options);
  if (propagator) return propagator.extract(base, headers, headerGetter);
  const m = VERSION_PATTERN.exec(headerGetter.get(headers, "traceparent")?.trim() ?? "");
  if (!m) return base;
  const spanContext: SpanContext = { traceId: m[1]!, spanId: m[2]!, traceFlags: parseInt(m[3]!, 16) & TraceFlags.SAMPLED, isRemote: true };
  if (!trace.isSpanContextValid(spanContext)) return base;
  return trace.setSpanContext(base, spanContext);
}

function keyAttribute(key: unknown): string | undefined {
  // The conventions: set only for a key that is not null; kafkasm's keys are strings or bytes.
  return typeof key === "string" ? key : undefined;
}

/** The attributes known before the send (the conventions' "send" operation). */
function sendAttributes(record: ProducerRecord<unknown, unknown>, clientId: string | undefined): Attributes {
  const attributes: Attributes = {
    "messaging.system": SYSTEM,
    "messaging.operation.name": "send",
    "messaging.operation.type": "send",
    "messaging.destination.name": record.topic,
  };
  if (record.partition !== undefined) {
    attributes["messaging.destination.partition.id"] = String(record.partition);
    attributes["messaging.kafka.destination.partition"] = record.partition;
  }
  const key = keyAttribute(record.key);
  if (key !== undefined) attributes["messaging.kafka.message.key"] = key;
  if (record.value === null) attributes["messaging.kafka.message.tombstone"] = true;
  if (clientId !== undefined) attributes["messaging.client.id"] = clientId;
  return attributes;
}

function endSpan(span: Span, error: Error | null, metadata: RecordMetadata | undefined): void {
  if (error) {
    const code = (error as { code?: unknown }).code;
    span.setAttribute("error.type", typeof code === "string" ? code : error.name || "Error");
    span.recordException(error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
  } else if (metadata) {
    span.setAttribute("messaging.destination.partition.id", String(metadata.partition));
    span.setAttribute("messaging.kafka.destination.partition", metadata.partition);
    // -1 with acks 0: no offset to report.
    if (metadata.offset >= 0) {
      span.setAttribute("messaging.kafka.offset", metadata.offset);
      span.setAttribute("messaging.kafka.message.offset", metadata.offset);
      span.setAttribute("messaging.message.id", `${metadata.topic}-${metadata.partition}-${metadata.offset}`);
    }
  }
  span.end();
}

/**
 * Sends `record` through `producer` in a PRODUCER span ("send <topic>", a child of the active span),
 * with the span's trace context added to a copy of the record's headers (the caller's record and
 * headers objects are not touched). The span ends when the record is acknowledged or finally fails.
 */
export function tracedSend<K, V>(
  producer: SendingProducer<K, V>, record: ProducerRecord<K, V>,
  callback: (error: Error | null, metadata?: RecordMetadata) => void, options: InstrumentOptions = {},
): void {
  const tracer = options.tracer ?? trace.getTracer("kafkasm");
  const parent = contextApi.active();
  const span = tracer.startSpan(`send ${record.topic}`, {
    kind: SpanKind.PRODUCER, attributes: sendAttributes(record as ProducerRecord<unknown, unknown>, options.clientId),
  }, parent);
  const headers: Headers = { ...record.headers };
  const propagator = propagatorOf(options);
  if (propagator) propagator.inject(trace.setSpan(parent, span), headers, headerSetter);
  else injectTraceContext(span.spanContext(), headers);
  let ended = false;
  const done = (error: Error | null, metadata?: RecordMetadata) => {
    if (ended) return;
    ended = true;
    endSpan(span, error, metadata);
    callback(error, metadata);
  };
  try {
    producer.send({ ...record, headers }, done);
  } catch (error) {
    // A send that throws (closed producer, invalid record) ends its span as failed, then rethrows.
    if (!ended) { ended = true; endSpan(span, error as Error, undefined); }
    throw error;
  }
}

/**
 * The producer with a traced `send` (both forms): a view of `producer`, which is not modified; every
 * other member (flush, close, metrics…) is the producer's own, bound to it.
 */
export function instrumentProducer<P extends SendingProducer<any, any>>(producer: P, options: InstrumentOptions = {}): Instrumented<P> {
  function send(record: ProducerRecord<any, any>, callback?: (error: Error | null, metadata?: RecordMetadata) => void): Promise<RecordMetadata> | void {
    if (callback) return tracedSend(producer, record, callback, options);
    return new Promise<RecordMetadata>((resolve, reject) => {
      tracedSend(producer, record, (error, metadata) => (error ? reject(error) : resolve(metadata!)), options);
    });
  }
  return new Proxy(producer, {
    get(target, property) {
      if (property === "send") return send;
      const value = Reflect.get(target, property, target);
      // Producer methods use private fields: they must run with the producer itself as `this`.
      return typeof value === "function" ? value.bind(target) : value;
    },
  }) as Instrumented<P>;
}

// ---- the consumer ----

/** The part of a consumer that is traced (kafkasm/consumer's Consumer). */
export interface ReceivingConsumer {
  readonly config: { groupId: string; clientId: string };
  [Symbol.asyncIterator](): AsyncIterator<ConsumerRecord, void, undefined>;
  run(handlers: { eachBatch: (batch: ConsumerBatch) => void | Promise<void> }): Promise<void>;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** A consumed record's headers (a list; the last of a repeated key wins) as the carrier extractContext reads. */
function headersOf(record: ConsumerRecord): Headers {
  const out: Headers = {};
  for (const h of record.headers) out[h.key] = h.value;
  return out;
}

function processAttributes(record: ConsumerRecord, group: string | undefined, clientId: string | undefined): Attributes {
  const attributes: Attributes = {
    "messaging.system": SYSTEM,
    "messaging.operation.name": "process",
    "messaging.operation.type": "process",
    "messaging.destination.name": record.topic,
    "messaging.destination.partition.id": String(record.partition),
    "messaging.kafka.destination.partition": record.partition,
    "messaging.kafka.offset": record.offset,
    "messaging.kafka.message.offset": record.offset,
    "messaging.message.id": `${record.topic}-${record.partition}-${record.offset}`,
  };
  if (group !== undefined) {
    attributes["messaging.consumer.group.name"] = group;
    attributes["messaging.kafka.consumer.group"] = group;
  }
  if (record.key) {
    // The conventions want the key as a string: set only for a key that is valid UTF-8.
    try { attributes["messaging.kafka.message.key"] = utf8.decode(record.key); } catch { /* a binary key */ }
  }
  if (record.value === null) attributes["messaging.kafka.message.tombstone"] = true;
  if (clientId !== undefined) attributes["messaging.client.id"] = clientId;
  return attributes;
}

export interface ConsumerInstrumentOptions extends InstrumentOptions {
  /** `messaging.consumer.group.name` (instrumentConsumer takes the consumer's groupId). */
  groupId?: string;
}

/**
 * Opens the CONSUMER span "process <topic>" of a record: a child of the context its headers carry
 * (the producer's span), or of the active context when they carry none. The caller ends it.
 */
export function startProcessSpan(record: ConsumerRecord, options: ConsumerInstrumentOptions = {}): Span {
  const tracer = options.tracer ?? trace.getTracer("kafkasm");
  const active = contextApi.active();
  const carried = extractContext(headersOf(record), { propagator: options.propagator, context: active });
  return tracer.startSpan(`process ${record.topic}`, { kind: SpanKind.CONSUMER, attributes: processAttributes(record, options.groupId, options.clientId) }, carried);
}

function failSpan(span: Span, error: unknown): void {
  const e = error as Error & { code?: unknown };
  span.setAttribute("error.type", typeof e?.code === "string" ? e.code : e?.name || "Error");
  if (error instanceof Error) span.recordException(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: e?.message ?? String(error) });
}

/**
 * Runs `handler` for one consumed record inside its "process <topic>" span (the active span while it
 * runs); a handler that throws or rejects sets ERROR status on the span, which rethrows.
 */
export async function tracedProcess<T>(record: ConsumerRecord, handler: (record: ConsumerRecord) => T | Promise<T>, options: ConsumerInstrumentOptions = {}): Promise<T> {
  const span = startProcessSpan(record, options);
  try {
    return await contextApi.with(trace.setSpan(contextApi.active(), span), () => handler(record));
  } catch (error) {
    failSpan(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/**
 * The consumer whose records are handed out in "process <topic>" CONSUMER spans (a view of
 * `consumer`, which is not modified): `run()` opens one per record of the batch before `eachBatch`
 * and ends them when it settles (ERROR status and rethrow when it throws); the async iterator opens
 * one per record yielded and ends it when the application asks for the next one (or leaves the loop).
 */
export function instrumentConsumer<C extends ReceivingConsumer>(consumer: C, options: ConsumerInstrumentOptions = {}): C {
  const opts: ConsumerInstrumentOptions = { ...options, groupId: options.groupId ?? consumer.config.groupId, clientId: options.clientId ?? consumer.config.clientId };
  function run(handlers: { eachBatch: (batch: ConsumerBatch) => void | Promise<void> }): Promise<void> {
    const eachBatch = handlers?.eachBatch;
    if (typeof eachBatch !== "function") return consumer.run(handlers); // its own INVALID_CONFIG
    return consumer.run({
      async eachBatch(batch) {
        const spans = batch.records.map((r) => startProcessSpan(r, opts));
        if (spans.length === 0) return eachBatch(batch);
        try {
          // One span is active while the handler runs: the first record's (the batch shares one handler call).
          await contextApi.with(trace.setSpan(contextApi.active(), spans[0]!), () => eachBatch(batch));
        } catch (error) {
          for (const s of spans) failSpan(s, error);
          throw error;
        } finally {
          for (const s of spans) s.end();
        }
      },
    });
  }
  async function* records(): AsyncGenerator<ConsumerRecord, void, undefined> {
    const it = consumer[Symbol.asyncIterator]();
    let span: Span | undefined;
    try {
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        span = startProcessSpan(r.value, opts);
        yield r.value;
        span.end();
        span = undefined;
      }
    } finally {
      span?.end();
      await it.return?.();
    }
  }
  return new Proxy(consumer, {
    get(target, property) {
      if (property === "run") return run;
      if (property === Symbol.asyncIterator) return records;
      const value = Reflect.get(target, property, target);
      // Consumer methods use private fields: they must run with the consumer itself as `this`.
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
