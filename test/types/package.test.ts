// The published types: the package as `npm pack` ships it (no TypeScript sources in it) is installed
// into a throwaway consumer project, and tsc type-checks a file importing every entry, with
// skipLibCheck off (our .d.ts are checked too) under moduleResolution "bundler" and "nodenext".
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exitAfterSuite, spawnChild } from "../harness/bounded.ts";

const root = join(import.meta.dirname, "../..");
const tsc = join(root, "node_modules/typescript/bin/tsc");

async function run(cmd: string, args: string[], cwd: string): Promise<string> {
  const child = spawnChild(cmd, args, { cwd });
  try {
    const code = await child.exited(120_000);
    // (without the file list of tsc --listFiles: the diagnostics are what matters)
    const output = (child.stdout + child.stderr).split("\n").filter((l) => !l.startsWith("/")).join("\n");
    if (code !== 0) throw new Error(`${cmd} ${args.join(" ")} exited with ${code}:\n${output}`);
    return child.stdout;
  } finally {
    child.kill();
  }
}

const dir = mkdtempSync(join(tmpdir(), "kafkasm-consumer-"));
const installed = join(dir, "node_modules/kafkasm");

/** What every consumer does. The @ts-expect-error lines fail the check if a type resolved to `any`. */
const common = `
import { ClientError, KafkaError, Producer, websocketTransport, type ProducerOptions, type RecordMetadata } from "kafkasm";
import { startProxy, type KafkaProxy } from "kafkasm/proxy";
import { crc32c, decodeRecordBatches, encodeRecordBatch } from "kafkasm/codec";

const options: ProducerOptions = { brokers: ["127.0.0.1:9092"], acks: "all", transport: websocketTransport({ url: "ws://proxy/broker/{host}:{port}" }) };
const producer = new Producer(options);
export const sent: Promise<RecordMetadata> = producer.send({ topic: "events", key: "k", value: "v" });
export const offset: Promise<string> = sent.then((m) => \`\${m.topic}/\${m.partition}@\${m.offset}\`);
export const isRetriable = (e: unknown): boolean => (e instanceof KafkaError && e.retriable) || (e instanceof ClientError && e.code === "BUFFER_EXHAUSTED");
// @ts-expect-error a record needs a topic
producer.produce({ value: "v" });
// @ts-expect-error acks is 0, 1, "all" or -1
export const badAcks: ProducerOptions = { brokers: [], acks: 2 };

export const proxy: Promise<KafkaProxy> = startProxy({ allow: ["127.0.0.1:9092"] });
export const crc: number = crc32c(new Uint8Array(1));
const batch: Uint8Array = encodeRecordBatch({ records: [{ key: null, value: new Uint8Array([1]), timestamp: 0 }] });
export const firstOffset = decodeRecordBatches(batch)[0]!.records[0]!.offset;
// @ts-expect-error crc32c takes bytes
crc32c("123456789");
`;

/** Each module resolution, with the export condition it lands on and a use of what only that entry exports. */
const consumers = [
  {
    name: "bundler",
    // No custom conditions: "default", the browser entry, as a bundler for the web picks it.
    compilerOptions: { module: "esnext", moduleResolution: "bundler", lib: ["ES2022", "DOM"] },
    entry: "browser.d.ts",
    only: `import { flushOnPageHide } from "kafkasm";\nexport const stop: () => void = flushOnPageHide({ flush: async () => {} });\n`,
  },
  {
    name: "nodenext",
    // A Node project: the "node" condition, and no DOM lib (the types must not need it).
    compilerOptions: { module: "nodenext", moduleResolution: "nodenext", lib: ["ES2022"] },
    entry: "index.d.ts",
    only: `import { nodeTransport, type Transport } from "kafkasm";\nexport const transport: Transport = nodeTransport;\n`,
  },
];

test.before(async () => {
  // Up to date after scripts/setup.sh; this makes the file correct when run alone after an edit too.
  await run(process.execPath, ["scripts/build.mjs", "--types-only"], root);
  const packed = JSON.parse(await run("npm", ["pack", "--json", "--pack-destination", dir], root)) as { filename: string }[];
  mkdirSync(installed, { recursive: true });
  await run("tar", ["-xzf", join(dir, packed[0].filename), "-C", installed, "--strip-components=1"], dir);
  // Consumers of kafkasm/proxy (Node only) have Node's types.
  mkdirSync(join(dir, "node_modules/@types"), { recursive: true });
  symlinkSync(join(root, "node_modules/@types/node"), join(dir, "node_modules/@types/node"), "dir");
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  writeFileSync(join(dir, "common.ts"), common);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test("the packed package ships declarations and no TypeScript sources", () => {
  const files: string[] = [];
  (function walk(d: string) {
    for (const e of readdirSync(d, { withFileTypes: true })) e.isDirectory() ? walk(join(d, e.name)) : files.push(join(d, e.name).slice(installed.length + 1));
  })(installed);
  const sources = files.filter((f) => /\.(c|m)?ts$/.test(f) && !/\.d\.(c|m)?ts$/.test(f));
  assert.equal(sources, [], "TypeScript sources in the package");
  for (const entry of ["index", "browser", "deno", "bun", "workerd", "codec", "proxy/proxy"]) {
    assert.ok(files.includes(`dist/types/src/${entry}.d.ts`), `dist/types/src/${entry}.d.ts in the package`);
  }
});

for (const c of consumers) {
  test(`a consumer with moduleResolution "${c.name}" and skipLibCheck false type-checks imports of kafkasm, kafkasm/proxy and kafkasm/codec from the packed .d.ts`, async () => {
    writeFileSync(join(dir, `${c.name}.ts`), c.only);
    writeFileSync(join(dir, `tsconfig.${c.name}.json`), JSON.stringify({
      compilerOptions: { ...c.compilerOptions, target: "ES2022", strict: true, skipLibCheck: false, noEmit: true, types: ["node"] },
      files: ["common.ts", `${c.name}.ts`],
    }));
    const listed = await run(process.execPath, [tsc, "-p", `tsconfig.${c.name}.json`, "--listFiles"], dir);
    const fromPackage = listed.split("\n").filter((f) => f.includes("/node_modules/kafkasm/"));
    assert.ok(fromPackage.length > 0, "tsc read the package's files");
    assert.equal(fromPackage.filter((f) => !f.endsWith(".d.ts")), [], "only declarations read from the package");
    assert.ok(fromPackage.some((f) => f.endsWith(`/dist/types/src/${c.entry}`)), `"kafkasm" resolved to dist/types/src/${c.entry}`);
  });
}

exitAfterSuite(test);
test.run();
