import { telemetryEvents } from "./corpus.ts";

/** The lines kcat produced for test/fixtures/compression/kcat-*.bin: "key\tvalue", one per record. */
export function kcatFixtureLines(): string[] {
  return telemetryEvents(400, 1234).map((json, i) => `device-${i % 17}\t${json}`);
}
