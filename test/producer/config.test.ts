import { test } from "uvu";
import * as assert from "uvu/assert";
import { defaults, resolveConfig, type ProducerOptions } from "../../src/producer/config.ts";
import { ClientError } from "../../src/errors.ts";

function rejects(options: Partial<ProducerOptions> & Record<string, unknown>, option: RegExp, why: RegExp): void {
  try {
    resolveConfig({ brokers: ["127.0.0.1:9092"], ...options } as ProducerOptions);
  } catch (e) {
    assert.instance(e, ClientError);
    assert.is((e as ClientError).code, "INVALID_CONFIG");
    assert.match((e as Error).message, option);
    assert.match((e as Error).message, why);
    return;
  }
  assert.unreachable(`accepted ${JSON.stringify(options)}`);
}

test("defaults: acks all, idempotent, Kafka's documented values", () => {
  const c = resolveConfig({ brokers: ["127.0.0.1:9092", "[::1]:9093"] });
  assert.is(c.acks, -1);
  assert.is(c.idempotent, true);
  assert.is(c.maxInFlight, 5);
  assert.is(c.batchSize, defaults.batchSize);
  assert.is(c.deliveryTimeoutMs, 120000);
  assert.equal(c.brokers, [{ host: "127.0.0.1", port: 9092, nodeId: -1 }, { host: "::1", port: 9093, nodeId: -1 }]);
});

test("idempotence is off by default when acks or maxInFlight given explicitly conflict with it (as in Java)", () => {
  assert.is(resolveConfig({ brokers: ["h:1"], acks: 1 }).idempotent, false);
  assert.is(resolveConfig({ brokers: ["h:1"], acks: 0 }).acks, 0);
  assert.is(resolveConfig({ brokers: ["h:1"], maxInFlight: 10 }).idempotent, false);
  assert.is(resolveConfig({ brokers: ["h:1"], acks: -1 }).idempotent, true);
});

test("explicit idempotence with acks other than all, or maxInFlight > 5, is rejected naming why", () => {
  rejects({ idempotent: true, acks: 1 }, /idempotent/, /requires acks "all"/);
  rejects({ idempotent: true, maxInFlight: 6 }, /maxInFlight/, /idempotence requires maxInFlight <= 5/);
});

test("millisecond values must fit the int32 wire fields; integers only; ranges named", () => {
  rejects({ requestTimeoutMs: 2 ** 31 }, /requestTimeoutMs/, /int32/);
  rejects({ lingerMs: -1 }, /lingerMs/, /outside/);
  rejects({ lingerMs: 1.5 }, /lingerMs/, /integer/);
  rejects({ maxBlockMs: "10" as unknown as number }, /maxBlockMs/, /integer/);
  rejects({ batchSize: 0 }, /batchSize/, /outside/);
});

test("deliveryTimeoutMs below lingerMs + requestTimeoutMs is rejected", () => {
  rejects({ deliveryTimeoutMs: 1000, requestTimeoutMs: 1000, lingerMs: 5 }, /deliveryTimeoutMs/, /lingerMs \+ requestTimeoutMs/);
  assert.is(resolveConfig({ brokers: ["h:1"], requestTimeoutMs: 200_000 }).deliveryTimeoutMs, 200_000);
});

test("bad brokers, acks, partitioner, compression and hooks are rejected", () => {
  rejects({ brokers: [] }, /brokers/, /non-empty/);
  rejects({ brokers: ["nohost"] }, /brokers/, /host:port/);
  rejects({ brokers: ["h:99999"] }, /brokers/, /host:port/);
  rejects({ acks: 2 as 1 }, /acks/, /0, 1 or "all"/);
  rejects({ partitioner: "murmur3" as "default" }, /partitioner/, /expected/);
  rejects({ compression: "brotli" as "gzip" }, /compression/, /gzip/);
  rejects({ onError: 5 as never }, /onError/, /function/);
  rejects({ retryBackoffMs: 500, retryBackoffMaxMs: 100 }, /retryBackoffMaxMs/, /below retryBackoffMs/);
});

test.run();
