// Feeds random and mutated frames to every response decoder of every version (and the request decoders
// the fake broker uses): the only acceptable failure is ClientError PROTOCOL_ERROR, never a RangeError,
// TypeError or a hang. Seeded, bounded inputs, a few thousand cases per API.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ClientError } from "../../src/errors.ts";
import { decodeResponseFrame, encodeResponseFrame, FrameAccumulator } from "../../src/protocol/frame.ts";
import { Reader, Writer } from "../../src/protocol/wire.ts";
import { samples } from "./samples.ts";

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}

function mutate(rand: () => number, frame: Uint8Array): Uint8Array {
  const f = Array.from(frame);
  const n = 1 + Math.floor(rand() * 4);
  for (let i = 0; i < n; i++) {
    const pos = Math.floor(rand() * Math.max(1, f.length));
    switch (Math.floor(rand() * 7)) {
      case 0: f[pos] = Math.floor(rand() * 256); break; // random byte
      case 1: f[pos] ^= 1 << Math.floor(rand() * 8); break; // bit flip
      case 2: f.splice(pos, 1); break; // delete
      case 3: f.splice(pos, 0, Math.floor(rand() * 256)); break; // insert
      case 4: f.length = pos; break; // truncate
      case 5: f.splice(pos, 4, 0x7f, 0xff, 0xff, 0xff); break; // huge int32 length
      case 6: f.splice(pos, 1, 0xff, 0xff, 0xff, 0xff, 0x0f); break; // huge varint length
    }
  }
  return Uint8Array.from(f);
}

let accepted = 0, rejected = 0;

function check(what: string, fn: () => unknown): void {
  try {
    fn();
    accepted++;
  } catch (e) {
    if (!(e instanceof ClientError) || e.code !== "PROTOCOL_ERROR") {
      throw new Error(`${what}: expected only ClientError PROTOCOL_ERROR, got ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    }
    rejected++;
  }
}

for (const { api, requests, responses } of samples) {
  test(`${api.name} v${api.minVersion}-v${api.maxVersion}: random and mutated response frames only ever throw PROTOCOL_ERROR`, () => {
    const rand = rng(api.apiKey * 7919 + 17);
    const started = performance.now();
    for (let v = api.minVersion; v <= api.maxVersion; v++) {
      const valid = responses.map((res) => encodeResponseFrame(api, v, 1, res).subarray(4));
      // every truncation of a valid frame
      for (const frame of valid) for (let cut = 0; cut < frame.length; cut++) check(`${api.name} v${v} cut ${cut}`, () => decodeResponseFrame(api, v, frame.subarray(0, cut)));
      for (let i = 0; i < 300; i++) {
        const frame = mutate(rand, valid[i % valid.length]);
        check(`${api.name} v${v} mutated ${Buffer.from(frame).toString("hex")}`, () => decodeResponseFrame(api, v, frame));
      }
      for (let i = 0; i < 100; i++) {
        const frame = Uint8Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256));
        check(`${api.name} v${v} random ${Buffer.from(frame).toString("hex")}`, () => decodeResponseFrame(api, v, frame));
      }
      // request decoders (used by the fake broker) get the same treatment
      for (const req of requests) {
        const w = new Writer();
        api.encodeRequest(w, v, req);
        const body = w.finish();
        for (let i = 0; i < 50; i++) {
          const m = mutate(rand, body);
          check(`${api.name} v${v} request ${Buffer.from(m).toString("hex")}`, () => api.decodeRequest(new Reader(m), v));
        }
      }
    }
    assert.ok(performance.now() - started < 5000, "fuzzing one API stays well under 5 s (no pathological loops)");
  });
}

test("FrameAccumulator: random chunkings of random size headers only ever throw PROTOCOL_ERROR", () => {
  const rand = rng(99);
  for (let i = 0; i < 2000; i++) {
    const acc = new FrameAccumulator(1 << 20);
    const bytes = Uint8Array.from({ length: Math.floor(rand() * 40) }, () => Math.floor(rand() * 256));
    check("frame accumulator", () => {
      let off = 0;
      while (off < bytes.length) {
        const n = 1 + Math.floor(rand() * 8);
        acc.push(bytes.subarray(off, off + n), () => {});
        off += n;
      }
    });
  }
});

test("the fuzzer exercised both outcomes", () => {
  assert.ok(accepted > 100, `accepted ${accepted}`);
  assert.ok(rejected > 1000, `rejected ${rejected}`);
});

test.run();
