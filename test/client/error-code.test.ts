import { test } from "uvu";
import * as assert from "uvu/assert";
import { ErrorCode, KAFKA_ERRORS } from "../../src/errors.ts";

test("every ErrorCode member names the code Kafka's error table gives that name", () => {
  const members = Object.entries(ErrorCode).filter(([, v]) => typeof v === "number") as [string, number][];
  assert.ok(members.length > 40, `members ${members.length}`);
  for (const [name, code] of members) assert.is(KAFKA_ERRORS.get(code)?.name, name, `ErrorCode.${name} = ${code}`);
});

test.run();
