// Proves that the mock cluster's fault injection really happens, observed by clients we did not
// write: kcat (librdkafka) and raw TCP. Skipped against KAFKA_BROKERS (no fault injection there).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { connect } from "node:net";
import { ApiKey, startCluster, type Cluster } from "./cluster.ts";
import { consumeAll, kcatMetadata, kcatProduce, KcatError, runKcat } from "./kcat.ts";
import { exchange, parseApiVersionsV0, requestFrame } from "./raw.ts";

const external = Boolean(process.env.KAFKA_BROKERS?.trim());
const it = external ? test.skip : test;
let cluster: Cluster;

test.before(async () => { if (!external) cluster = await startCluster({ brokers: 3, topics: [{ name: "f", partitions: 1 }] }); });
test.after(async () => { await cluster?.stop(); });

/** "refused" | "open" | "closed" (accepted, then closed by the peer within 300 ms). */
function probe(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    s.on("error", (e: NodeJS.ErrnoException) => resolve(e.code === "ECONNREFUSED" ? "refused" : `error ${e.code}`));
    s.on("connect", () => {
      const t = setTimeout(() => { s.destroy(); resolve("open"); }, 300);
      s.on("close", () => { clearTimeout(t); resolve("closed"); });
    });
  });
}

it("an injected Produce error fails a kcat produce that has retries disabled, and is consumed once", async () => {
  await cluster.pushRequestErrors(ApiKey.Produce, [87]); // INVALID_RECORD
  const noRetry = { "message.send.max.retries": 0, retries: 0 };
  const err = await kcatProduce(cluster.bootstrap, "f", ["lost"], { config: noRetry }).catch((e: unknown) => e);
  assert.instance(err, KcatError);
  assert.match((err as KcatError).stderr, /failed to validate record/i);
  // The stack held one error: the next produce succeeds and only its record is in the log.
  await kcatProduce(cluster.bootstrap, "f", ["kept"], { config: noRetry });
  const records = await consumeAll(cluster.bootstrap, "f", { count: 1 });
  assert.equal(records.map((r) => r.payload), ["kept"]);
});

it("a per-broker error with an RTT is answered late with that error, and only by that broker", async () => {
  const [b1, b2] = cluster.brokers;
  await cluster.pushBrokerRequestErrors(b1.id, ApiKey.ApiVersions, [{ code: 35, rttMs: 300 }, { code: 0, rttMs: 0 }]);
  assert.is(await cluster.brokerRequestErrorCount(b1.id, ApiKey.ApiVersions), 2);
  const [other] = await exchange(b2.host, b2.port, [requestFrame(ApiKey.ApiVersions, 0, 1)], 1);
  assert.is(parseApiVersionsV0(other.frame).errorCode, 0);
  const [first, second] = await exchange(b1.host, b1.port, [requestFrame(ApiKey.ApiVersions, 0, 2), requestFrame(ApiKey.ApiVersions, 0, 3)], 2);
  assert.is(parseApiVersionsV0(first.frame).errorCode, 35);
  assert.ok(first.elapsedMs >= 290, `answered after ${first.elapsedMs} ms, expected >= 300`);
  assert.is(parseApiVersionsV0(second.frame).errorCode, 0);
  assert.is(await cluster.brokerRequestErrorCount(b1.id, ApiKey.ApiVersions), 0);
});

it("cluster-wide errors are consumed in order by the next requests of that API key on any broker", async () => {
  // A fresh cluster: a broker that ever had per-broker errors for a key ignores cluster-wide ones.
  const c = await startCluster({ brokers: 3 });
  try {
    await c.pushRequestErrors(ApiKey.ApiVersions, [35, 0, 35]);
    const codes: number[] = [];
    for (const b of [...c.brokers, c.brokers[0]]) {
      const [r] = await exchange(b.host, b.port, [requestFrame(ApiKey.ApiVersions, 0, 9)], 1);
      codes.push(parseApiVersionsV0(r.frame).errorCode);
    }
    assert.equal(codes, [35, 0, 35, 0]);
  } finally {
    await c.stop();
  }
});

it("a broker whose own error stack for a key ran empty ignores cluster-wide errors for that key (mock quirk)", async () => {
  const [b1, b2] = cluster.brokers; // b1 had per-broker ApiVersions errors in an earlier test
  await cluster.pushRequestErrors(ApiKey.ApiVersions, [35]);
  const [r1] = await exchange(b1.host, b1.port, [requestFrame(ApiKey.ApiVersions, 0, 1)], 1);
  assert.is(parseApiVersionsV0(r1.frame).errorCode, 0);
  const [r2] = await exchange(b2.host, b2.port, [requestFrame(ApiKey.ApiVersions, 0, 2)], 1);
  assert.is(parseApiVersionsV0(r2.frame).errorCode, 35);
});

it("a broker taken down refuses TCP connections and accepts them again once up", async () => {
  const b = cluster.brokers[1];
  assert.is(await probe(b.port), "open");
  await cluster.brokerDown(b.id);
  assert.is(await probe(b.port), "refused");
  assert.is(await probe(cluster.brokers[0].port), "open");
  await cluster.brokerUp(b.id);
  assert.is(await probe(b.port), "open");
});

it("a partition leader move shows in the metadata kcat reads", async () => {
  for (const id of [2, 3, 1]) {
    await cluster.setLeader("f", 0, id);
    const md = await kcatMetadata(cluster.bootstrap, "f");
    assert.is(md.topics.find((t) => t.topic === "f")!.partitions[0].leader, id);
  }
});

it("an RTT set on a broker delays each of its responses by at least that long", async () => {
  const b = cluster.brokers[2];
  await cluster.setRtt(b.id, 800);
  try {
    const [r] = await exchange(b.host, b.port, [requestFrame(ApiKey.ApiVersions, 0, 1)], 1);
    assert.ok(r.elapsedMs >= 790, `answered after ${r.elapsedMs} ms, expected >= 800`);
  } finally {
    await cluster.setRtt(b.id, 0);
  }
  // The best of three round trips: one slowed by a loaded machine is not the RTT.
  const fast: number[] = [];
  for (let i = 0; i < 3; i++) fast.push((await exchange(b.host, b.port, [requestFrame(ApiKey.ApiVersions, 0, 2)], 1))[0].elapsedMs);
  assert.ok(Math.min(...fast) < 400, `still slow after clearing the RTT: ${fast.join(", ")} ms`);
});

it("a narrowed API version range is what the brokers advertise to kcat", async () => {
  const c = await startCluster({ brokers: 1 });
  try {
    await c.setApiVersion(ApiKey.Produce, 0, 3);
    const b = c.brokers[0];
    const [r] = await exchange(b.host, b.port, [requestFrame(ApiKey.ApiVersions, 0, 1)], 1);
    assert.equal(parseApiVersionsV0(r.frame).apis.find((a) => a.apiKey === ApiKey.Produce), { apiKey: 0, min: 0, max: 3 });
    const k = await runKcat(["-b", c.bootstrap, "-L", "-X", "debug=protocol,feature"]);
    assert.match(k.stderr, /ApiKey Produce \(0\) Versions 0\.\.3/);
  } finally {
    await c.stop();
  }
});

it("bad commands are answered with errors, not applied", async () => {
  const l = await cluster.setLeader("f", 0, 9).catch((x: Error) => x);
  assert.match(String(l), /unknown broker id 9/);
  const e = await cluster.brokerDown(42).catch((x: Error) => x);
  assert.instance(e, Error);
  assert.match(String(e), /unknown broker id 42/);
  const t = await cluster.createTopic("has space", 1).catch((x: Error) => x);
  assert.instance(t, TypeError);
});

test.run();
