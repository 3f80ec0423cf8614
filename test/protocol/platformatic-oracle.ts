// @platformatic/kafka as a dev-only oracle for the differential tests: its modules by path, our request
// bodies as hex, and our responses parsed by its decoders.
import type { Api, ServerApi } from "../../src/protocol/api.ts";
import { encodeResponseFrame, responseHeaderHasTags } from "../../src/protocol/frame.ts";
import { Writer } from "../../src/protocol/wire.ts";

const root = new URL("../../node_modules/@platformatic/kafka/dist/", import.meta.url).href;
/** One of platformatic's modules, e.g. "apis/producer/produce-v9.js". */
export const plt = (p: string) => import(root + p);
const { Reader } = await plt("protocol/reader.js");

export const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** Our request body (no header) for `req` at version `v`, as hex. */
export function ourBody<Req>(api: Api<Req, any>, v: number, req: Req): string {
  const w = new Writer();
  api.encodeRequest(w, v, req);
  return hex(w.finish());
}

/** Our response, parsed by platformatic: the body after the header, as its connection hands it to parseResponse. */
export function theirParse(mod: any, api: ServerApi<any, any>, v: number, res: unknown): any {
  const frame = encodeResponseFrame(api, v, 1, res);
  return mod.parseResponse(1, api.apiKey, v, Reader.from(Buffer.from(frame.subarray(8 + (responseHeaderHasTags(api, v) ? 1 : 0)))));
}
