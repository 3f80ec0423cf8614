// Prometheus GET /metrics: off unless enabled, token-protected like /stats, text format 0.0.4 that a
// strict parser accepts, and values that match known traffic (latency from a manual clock).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { encodeRequestFrame } from "../../src/protocol/frame.ts";
import { ApiVersions } from "../../src/protocol/api-versions.ts";
import { LATENCY_BUCKETS } from "../../src/proxy/metrics.ts";
import { exitAfterSuite, nextEvent } from "../harness/bounded.ts";
import { closed, heldStub, manualClock, openWs, refusedStatus, startProxy, until } from "./helpers.ts";

interface Sample { name: string; labels: Record<string, string>; value: number }

/** Parses the text exposition format strictly: every sample's family has HELP and TYPE lines first; returns samples and types. */
function parse(text: string): { samples: Sample[]; types: Map<string, string> } {
  assert.ok(text.endsWith("\n"), "ends with a newline");
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const samples: Sample[] = [];
  for (const line of text.slice(0, -1).split("\n")) {
    let m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (m) { assert.not.ok(helps.has(m[1]), `one HELP per family: ${m[1]}`); helps.add(m[1]); continue; }
    m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (m) { assert.ok(helps.has(m[1]), `HELP before TYPE: ${m[1]}`); types.set(m[1], m[2]); continue; }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `a sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const l of (m![2] ?? "").match(/[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"/g) ?? []) {
      const eq = l.indexOf("=");
      labels[l.slice(0, eq)] = l.slice(eq + 2, -1).replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\");
    }
    const family = m![1].replace(/_(bucket|sum|count)$/, (s) => (types.get(m![1].slice(0, -s.length)) === "histogram" ? "" : s));
    assert.ok(types.has(family), `TYPE before samples of ${family}`);
    samples.push({ name: m![1], labels, value: Number(m![3]) });
  }
  return { samples, types };
}

const value = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

async function get(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  return { status: res.status, type: res.headers.get("content-type"), body: await res.text() };
}

test("/metrics is off unless metricsPath is set, and needs the token like /stats", async () => {
  const stub = await heldStub();
  const off = await startProxy({ allow: [`127.0.0.1:${stub.port}`], log: () => {} });
  const on = await startProxy({ allow: [`127.0.0.1:${stub.port}`], token: "tok", metricsPath: "/metrics", log: () => {} });
  try {
    assert.is((await get(`${off.url.replace("ws", "http")}/metrics`)).status, 404);
    assert.is((await get(`${on.url.replace("ws", "http")}/metrics`)).status, 401);
    assert.is((await get(`${on.url.replace("ws", "http")}/metrics?token=nope`)).status, 401);
    const ok = await get(`${on.url.replace("ws", "http")}/metrics`, { authorization: "Bearer tok" });
    assert.is(ok.status, 200);
    assert.is(ok.type, "text/plain; version=0.0.4; charset=utf-8");
    parse(ok.body);
  } finally {
    await off.close();
    await on.close();
    await stub.close();
  }
});

test("after known traffic: connections, refusals and closes by reason, bytes each way, and a cumulative latency histogram whose sum and count match the answers' delays", async () => {
  const stub = await heldStub();
  const clock = manualClock();
  const proxy = await startProxy({ allow: [`127.0.0.1:${stub.port}`], metricsPath: "/metrics", clock, log: () => {} });
  const http = proxy.url.replace("ws", "http");
  try {
    assert.is((await refusedStatus(`${proxy.url}/broker/127.0.0.1:1`)).status, 403);
    const ws = await openWs(`${proxy.url}/broker/127.0.0.1:${stub.port}`);
    const delaysMs = [0.5, 3, 40, 40, 2000, 20_000];
    let sent = 0;
    for (const [i, ms] of delaysMs.entries()) {
      const frame = encodeRequestFrame(ApiVersions, 0, i, "m", {} as never);
      sent += frame.length;
      ws.send(frame);
      await until(() => stub.pending.length === 1, 10_000, `request ${i} at the broker`);
      const answered = nextEvent(ws, "message", 10_000, `answer ${i}`);
      clock.advance(ms);
      stub.answerNext();
      await answered;
    }
    const c = closed(ws);
    ws.close();
    await c;
    await until(() => proxy.stats().connections.open === 0, 10_000, "the close to be counted");

    const res = await get(`${http}/metrics`);
    const { samples, types } = parse(res.body);
    const h = "kafkasm_proxy_broker_request_duration_seconds";
    assert.is(types.get(h), "histogram");
    assert.is(types.get("kafkasm_proxy_connections_open"), "gauge");
    for (const counter of ["connections_total", "refusals_total", "closes_total", "bytes_total", "throttles_total"]) assert.is(types.get(`kafkasm_proxy_${counter}`), "counter", counter);
    assert.is(value(samples, "kafkasm_proxy_connections_open"), 0);
    assert.is(value(samples, "kafkasm_proxy_connections_total"), 1);
    assert.is(value(samples, "kafkasm_proxy_refusals_total", { reason: "TARGET_NOT_ALLOWED" }), 1);
    assert.is(value(samples, "kafkasm_proxy_closes_total", { reason: "client closed" }), 1);
    assert.is(value(samples, "kafkasm_proxy_bytes_total", { direction: "to_broker" }), sent);
    assert.is(value(samples, "kafkasm_proxy_bytes_total", { direction: "to_client" }), 8 * delaysMs.length);
    assert.is(value(samples, "kafkasm_proxy_throttles_total", { cause: "rate" }), 0);

    const api = { api: "ApiVersions" };
    const buckets = samples.filter((s) => s.name === `${h}_bucket` && s.labels.api === "ApiVersions");
    assert.equal(buckets.map((b) => b.labels.le), [...LATENCY_BUCKETS.map(String), "+Inf"]);
    for (const b of buckets) {
      const le = b.labels.le === "+Inf" ? Infinity : Number(b.labels.le);
      assert.is(b.value, delaysMs.filter((d) => d / 1000 <= le).length, `le=${b.labels.le}`);
    }
    assert.is(value(samples, `${h}_count`, api), delaysMs.length);
    assert.ok(Math.abs(value(samples, `${h}_sum`, api)! - delaysMs.reduce((a, b) => a + b, 0) / 1000) < 1e-9);
  } finally {
    await proxy.close();
    await stub.close();
  }
});

exitAfterSuite(test);
test.run();
