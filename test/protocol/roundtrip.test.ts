import { test } from "uvu";
import * as assert from "uvu/assert";
import { Reader, Writer } from "../../src/protocol/wire.ts";
import { decodeResponseFrame, encodeRequestFrame, encodeResponseFrame, readRequestHeader, readResponseCorrelationId } from "../../src/protocol/frame.ts";
import { samples } from "./samples.ts";

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}

for (const { api, requests, responses, atNewest } of samples) {
  test(`${api.name}: every version v${api.minVersion}-v${api.maxVersion} re-encodes its own decoded requests and responses byte for byte`, () => {
    for (let v = api.minVersion; v <= api.maxVersion; v++) {
      for (const req of requests) {
        const w = new Writer();
        api.encodeRequest(w, v, req);
        const bytes = w.finish();
        const r = new Reader(bytes);
        const decoded = api.decodeRequest(r, v);
        r.expectEnd(`${api.name} v${v} request`);
        const w2 = new Writer();
        api.encodeRequest(w2, v, decoded);
        assert.is(hex(w2.finish()), hex(bytes), `${api.name} v${v} request`);
      }
      for (const res of responses) {
        const frame = encodeResponseFrame(api, v, 77, res);
        const decoded = decodeResponseFrame(api, v, frame.subarray(4));
        assert.is(readResponseCorrelationId(frame.subarray(4)), 77);
        const again = encodeResponseFrame(api, v, 77, decoded);
        assert.is(hex(again), hex(frame), `${api.name} v${v} response`);
      }
    }
  });

  test(`${api.name}: the newest version keeps every sample value through a round trip`, () => {
    const v = api.maxVersion;
    for (const res of responses) {
      const decoded = decodeResponseFrame(api, v, encodeResponseFrame(api, v, 1, res).subarray(4));
      assert.equal(JSON.parse(JSON.stringify(decoded)), JSON.parse(JSON.stringify(atNewest ? atNewest(res) : res)));
    }
  });

  test(`${api.name}: request frames carry header v1 (v2 when flexible) that the broker side parses back`, () => {
    for (let v = api.minVersion; v <= api.maxVersion; v++) {
      const frame = encodeRequestFrame(api, v, 0x01020304, "client-ü", requests[0]);
      assert.is(new DataView(frame.buffer).getInt32(0), frame.length - 4);
      const { header, reader } = readRequestHeader(frame.subarray(4), () => api);
      assert.equal(header, { apiKey: api.apiKey, apiVersion: v, correlationId: 0x01020304, clientId: "client-ü" });
      api.decodeRequest(reader, v);
      reader.expectEnd("request body");
    }
  });
}

test.run();
