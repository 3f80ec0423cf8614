/**
 * Key and value serializers. A serializer returns bytes, or a `string` that the codec encodes as
 * UTF-8 straight into WASM memory (no intermediate Uint8Array), or `null`.
 */
import { ClientError } from "../errors.ts";

/** Turns a key or value into what a record carries. `string` results are written as UTF-8. */
export type Serializer<T> = (data: T, topic: string) => Uint8Array | string | null;

function describe(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
}

/** `string` or `Uint8Array` (or `null`) as is; anything else fails with INVALID_RECORD. */
export const auto: Serializer<string | Uint8Array> = (data, topic) => {
  if (typeof data === "string" || data instanceof Uint8Array || data === null) return data;
  throw new ClientError("INVALID_RECORD", `Cannot serialize a ${describe(data)} for topic ${JSON.stringify(topic)}: expected a string or Uint8Array (set keySerializer/valueSerializer, e.g. serializers.json)`);
};

/** Bytes only. */
export const bytes: Serializer<Uint8Array> = (data, topic) => {
  if (data instanceof Uint8Array || data === null) return data;
  throw new ClientError("INVALID_RECORD", `Cannot serialize a ${describe(data)} for topic ${JSON.stringify(topic)}: the bytes serializer expects a Uint8Array`);
};

/** UTF-8 text; non-strings are converted with `String()`. */
export const string: Serializer<unknown> = (data) => (data === null ? null : typeof data === "string" ? data : String(data));

/** `JSON.stringify`, as UTF-8 text. */
export const json: Serializer<unknown> = (data, topic) => {
  if (data === null) return null;
  let s: string | undefined;
  try {
    s = JSON.stringify(data);
  } catch (e) {
    throw new ClientError("INVALID_RECORD", `Cannot serialize a value for topic ${JSON.stringify(topic)} as JSON: ${(e as Error).message}`, { cause: e });
  }
  if (s === undefined) throw new ClientError("INVALID_RECORD", `Cannot serialize a ${describe(data)} for topic ${JSON.stringify(topic)} as JSON`);
  return s;
};

/** The built-in serializers. */
export const serializers = Object.freeze({ auto, bytes, string, json });
