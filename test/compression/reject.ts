import * as assert from "uvu/assert";
import { ClientError } from "../../src/errors.ts";

/** Asserts that `f` throws a ClientError COMPRESSION_ERROR whose message matches `match`. */
export function rejectsWithCompressionError(f: () => unknown, match: RegExp): void {
  try { f(); } catch (e) {
    assert.instance(e, ClientError);
    assert.is((e as ClientError).code, "COMPRESSION_ERROR");
    assert.match((e as Error).message, match);
    return;
  }
  assert.unreachable("expected a COMPRESSION_ERROR");
}
