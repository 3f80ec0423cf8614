// Regenerates test/fixtures/codec/*.{json,hex} from KafkaJS's encoder (see test/fixtures/codec/NOTES.md).
//   node --import tsx test/codec/make-fixtures.ts
import { writeFileSync } from "node:fs";
import { kafkajsEncode, type SpecBatch } from "./oracle.ts";

const te = new TextEncoder();
const fixtures: Record<string, SpecBatch> = {
  "kafkajs-plain": {
    producerId: -1, producerEpoch: -1, baseSequence: -1, transactional: false,
    records: [
      { key: te.encode("user-42"), value: te.encode('{"event":"login"}'), headers: [{ key: "trace-id", value: te.encode("abc123") }], timestamp: 1700000000000 },
      { key: null, value: te.encode("no key"), headers: [], timestamp: 1700000000123 },
      { key: te.encode("tombstone"), value: null, headers: [], timestamp: 1699999999000 },
      { key: te.encode("ünïcödé"), value: new Uint8Array(200).fill(0xab), headers: [{ key: "a", value: new Uint8Array(0) }, { key: "b", value: te.encode("2") }], timestamp: 1700000000123 },
    ],
  },
  "kafkajs-idempotent": {
    producerId: 123456789012, producerEpoch: 7, baseSequence: 2147483000, transactional: true,
    records: Array.from({ length: 20 }, (_, i) => ({ key: te.encode(`k${i}`), value: te.encode(`value ${i}`.repeat(i + 1)), headers: [], timestamp: 1700000000000 + i * 1000 })),
  },
};

const dir = new URL("../fixtures/codec/", import.meta.url);
for (const [name, spec] of Object.entries(fixtures)) {
  const bytes = await kafkajsEncode(spec);
  writeFileSync(new URL(`${name}.hex`, dir), Buffer.from(bytes).toString("hex") + "\n");
  writeFileSync(new URL(`${name}.json`, dir), JSON.stringify(spec, (_k, v) => v instanceof Uint8Array ? { hex: Buffer.from(v).toString("hex") } : v, 1) + "\n");
}
