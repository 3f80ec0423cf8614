// What a child program (run under Node, Deno or Bun) needs from the runtime it runs in: its arguments,
// its name and version for the result line, and that runtime's own kafkasm entries.
declare const Deno: { args: string[]; version: { deno: string } } | undefined;
declare const Bun: { version: string } | undefined;

const isDeno = typeof Deno !== "undefined";
const isBun = typeof Bun !== "undefined";

export const args: string[] = isDeno ? Deno!.args : process.argv.slice(2);
export const runtime = isDeno ? `deno ${Deno!.version.deno}` : isBun ? `bun ${Bun!.version}` : `node ${process.version}`;
export const producerEntry = () => (isDeno ? import("../../../src/deno.ts") : isBun ? import("../../../src/bun.ts") : import("../../../src/index.ts"));
export const consumerEntry = () => (isDeno ? import("../../../src/consumer-deno.ts") : isBun ? import("../../../src/consumer-bun.ts") : import("../../../src/consumer-node.ts"));
