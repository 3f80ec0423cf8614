// Group APIs (JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch): round trips of every
// version in both directions, every truncation and random mutations rejected only with PROTOCOL_ERROR, and
// hostile element counts rejected before anything is allocated for them.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ClientError } from "../../src/errors.ts";
import { Reader, Writer } from "../../src/protocol/wire.ts";
import { decodeResponseFrame, encodeRequestFrame, encodeResponseFrame, readRequestHeader } from "../../src/protocol/frame.ts";
import { JoinGroup, JoinGroupServer } from "../../src/protocol/join-group.ts";
import { LeaveGroup } from "../../src/protocol/leave-group.ts";
import { OffsetFetch, OffsetFetchServer } from "../../src/protocol/offset-fetch.ts";
import { OffsetCommitServer } from "../../src/protocol/offset-commit.ts";
import { groupSamples } from "./group-samples.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const json = (x: unknown) => JSON.parse(JSON.stringify(x, (_k, v) => (v instanceof Uint8Array ? hex(v) : v)));

function onlyProtocolErrors(what: string, fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch (e) {
    if (!(e instanceof ClientError) || e.code !== "PROTOCOL_ERROR") throw new Error(`${what}: expected ClientError PROTOCOL_ERROR, got ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    return false;
  }
}

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 4294967296; };
}

for (const { api, requests, responses, goneAtNewest = [] } of groupSamples) {
  test(`${api.name} v${api.minVersion}-v${api.maxVersion}: requests and responses decode and re-encode byte for byte at every version`, () => {
    for (let v = api.minVersion; v <= api.maxVersion; v++) {
      for (const req of requests) {
        const frame = encodeRequestFrame(api, v, 5, "kafkasm", req);
        const { header, reader } = readRequestHeader(frame.subarray(4), () => api);
        assert.equal([header.apiKey, header.apiVersion], [api.apiKey, v]);
        const decoded = api.decodeRequest(reader, v);
        reader.expectEnd(`${api.name} v${v} request`);
        assert.is(hex(encodeRequestFrame(api, v, 5, "kafkasm", decoded)), hex(frame), `${api.name} v${v} request`);
      }
      for (const res of responses) {
        const frame = encodeResponseFrame(api, v, 77, res);
        const decoded = decodeResponseFrame(api, v, frame.subarray(4));
        assert.is(hex(encodeResponseFrame(api, v, 77, decoded)), hex(frame), `${api.name} v${v} response`);
      }
    }
  });

  test(`${api.name}: the newest version v${api.maxVersion} keeps every sample field`, () => {
    const v = api.maxVersion;
    for (const res of responses) assert.equal(json(decodeResponseFrame(api, v, encodeResponseFrame(api, v, 1, res).subarray(4))), json(res));
    for (const req of requests) {
      const w = new Writer();
      api.encodeRequest(w, v, req);
      const expected = JSON.parse(JSON.stringify(json(req)), (k, x) => (goneAtNewest.includes(k) ? undefined : x));
      assert.equal(json(api.decodeRequest(new Reader(w.finish()), v)), expected);
    }
  });

  test(`${api.name}: every truncation of every request and response, and random mutations, fail only with PROTOCOL_ERROR`, () => {
    const rand = rng(api.apiKey * 131 + 7);
    let rejected = 0;
    for (let v = api.minVersion; v <= api.maxVersion; v++) {
      for (const res of responses) {
        const frame = encodeResponseFrame(api, v, 1, res).subarray(4);
        for (let cut = 0; cut < frame.length; cut++) {
          if (!onlyProtocolErrors(`${api.name} v${v} response cut ${cut}`, () => decodeResponseFrame(api, v, frame.subarray(0, cut)))) rejected++;
          else assert.unreachable(`${api.name} v${v} response cut at ${cut} of ${frame.length} bytes decoded`);
        }
        for (let i = 0; i < 300; i++) {
          const f = Array.from(frame);
          const pos = Math.floor(rand() * f.length);
          if (rand() < 0.5) f[pos] = Math.floor(rand() * 256);
          else f.splice(pos, 4, 0x7f, 0xff, 0xff, 0xff);
          onlyProtocolErrors(`${api.name} v${v} mutated response`, () => decodeResponseFrame(api, v, Uint8Array.from(f)));
        }
      }
      for (const req of requests) {
        const w = new Writer();
        api.encodeRequest(w, v, req);
        const body = w.finish();
        for (let cut = 0; cut < body.length; cut++) {
          const r = new Reader(body.subarray(0, cut));
          if (onlyProtocolErrors(`${api.name} v${v} request cut ${cut}`, () => { api.decodeRequest(r, v); r.expectEnd("request"); })) {
            assert.unreachable(`${api.name} v${v} request cut at ${cut} of ${body.length} bytes decoded`);
          }
          rejected++;
        }
      }
    }
    assert.ok(rejected > 100);
  });
}

test("A JoinGroup response claiming 2^31-1 members in a few bytes is refused before any member is read", () => {
  for (const v of [5, 6]) {
    const w = new Writer();
    const flex = v >= 6;
    w.int32(0).int16(0).int32(1).str(flex, "range").str(flex, "m").str(flex, "m");
    if (flex) w.uvarint(0x7fffffff); else w.int32(0x7fffffff);
    w.raw(new Uint8Array(8));
    const err = (() => { try { JoinGroup.decodeResponse(new Reader(w.finish()), v); } catch (e) { return e as ClientError; } })();
    assert.instance(err, ClientError);
    assert.is(err!.code, "PROTOCOL_ERROR");
    assert.match(err!.message, /members: 2147483646|members: 2147483647/);
    assert.match(err!.message, /cannot fit/);
  }
});

test("OffsetFetch v8 and OffsetCommit v8 refuse hostile group, topic and partition counts with PROTOCOL_ERROR naming the array", () => {
  const big = new Writer().int32(0).uvarint(0x0fffffff).raw(new Uint8Array(20)).finish();
  assert.throws(() => OffsetFetch.decodeResponse(new Reader(big), 8), (e: ClientError) => e.code === "PROTOCOL_ERROR" && /groups/.test(e.message));
  const req = new Writer().compactString("g").int32(1).compactString("m").compactString(null).uvarint(0x0fffffff).raw(new Uint8Array(9)).finish();
  assert.throws(() => OffsetCommitServer.decodeRequest(new Reader(req), 8), (e: ClientError) => e.code === "PROTOCOL_ERROR" && /topics/.test(e.message));
});

test("Null BYTES where Kafka requires bytes (JoinGroup member metadata) is a PROTOCOL_ERROR, not a null in the result", () => {
  const w = new Writer().int32(0).int16(0).int32(1).string("range").string("m").string("m").int32(1).string("m").string(null).int32(-1);
  assert.throws(() => JoinGroup.decodeResponse(new Reader(w.finish()), 5), (e: ClientError) => e.code === "PROTOCOL_ERROR" && /metadata/.test(e.message));
});

test("Versions that take one member or group refuse several with INVALID_CONFIG instead of sending only the first", () => {
  const two = [{ memberId: "a" }, { memberId: "b" }];
  assert.throws(() => LeaveGroup.encodeRequest(new Writer(), 2, { groupId: "g", members: two }), (e: ClientError) => e.code === "INVALID_CONFIG");
  LeaveGroup.encodeRequest(new Writer(), 3, { groupId: "g", members: two });
  const groups = [{ groupId: "a", topics: null }, { groupId: "b", topics: null }];
  assert.throws(() => OffsetFetch.encodeRequest(new Writer(), 7, { groups }), (e: ClientError) => e.code === "INVALID_CONFIG");
  assert.throws(() => OffsetFetch.encodeRequest(new Writer(), 1, { groups: [{ groupId: "a", topics: null }] }), (e: ClientError) => e.code === "INVALID_CONFIG" && /v2/.test(e.message));
  OffsetFetch.encodeRequest(new Writer(), 8, { groups });
});

test("OffsetFetch v2+ null topics (every committed partition) survive a round trip; v8 answers carry each group's id and error", () => {
  for (let v = 2; v <= 8; v++) {
    const w = new Writer();
    OffsetFetch.encodeRequest(w, v, { groups: [{ groupId: "g", topics: null }], requireStable: false });
    assert.equal(OffsetFetchServer.decodeRequest(new Reader(w.finish()), v).groups, [{ groupId: "g", topics: null }], `v${v}`);
  }
  const res = { throttleTimeMs: 0, groups: [{ groupId: "a", errorCode: 0, topics: [] }, { groupId: "b", errorCode: 15, topics: [] }] };
  assert.equal(decodeResponseFrame(OffsetFetch, 8, encodeResponseFrame(OffsetFetchServer, 8, 1, res).subarray(4)).groups.map((g) => [g.groupId, g.errorCode]), [["a", 0], ["b", 15]]);
});

test("JoinGroup v0 carries no rebalance timeout: the broker side reads the session timeout for both", () => {
  const w = new Writer();
  JoinGroup.encodeRequest(w, 0, { groupId: "g", sessionTimeoutMs: 6000, rebalanceTimeoutMs: 99999, memberId: "", protocolType: "consumer", protocols: [] });
  const d = JoinGroupServer.decodeRequest(new Reader(w.finish()), 0);
  assert.equal([d.sessionTimeoutMs, d.rebalanceTimeoutMs], [6000, 6000]);
});

test.run();
