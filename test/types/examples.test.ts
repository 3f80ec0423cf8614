// Every ```ts block under an @example tag in src/** and bindings/** TSDoc is a module that must
// type-check against the published types: "kafkasm", "kafkasm/proxy" and "kafkasm/codec" resolve
// through package.json's exports to dist/types/ as for a user (relative imports reach the sources,
// for examples of internal modules). Examples may use top-level await and `declare const` for the
// values they assume. A file named after an export condition (browser.ts, workerd.ts, deno.ts, ...)
// has its examples resolved with that condition; the others get the default (browser) entry.
import { test } from "uvu";
import * as assert from "uvu/assert";
import ts from "typescript";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, relative, resolve } from "node:path";
import { exitAfterSuite, spawnChild } from "../harness/bounded.ts";

const root = join(import.meta.dirname, "../..");

interface Example {
  /** Path relative to the repository root. */
  file: string;
  /** 1-based source line of each code line. */
  lines: number[];
  code: string[];
}

/** Modules every example may import that no installed package types: only what the runtime provides. */
const prelude = `
declare module "cloudflare:sockets" {
  // As @cloudflare/workers-types declares it (not a dependency of ours).
  export interface SocketAddress { hostname: string; port: number }
  export interface SocketOptions { secureTransport?: "off" | "on" | "starttls"; allowHalfOpen?: boolean }
  export interface Socket {
    readonly readable: ReadableStream<Uint8Array>;
    readonly writable: WritableStream<Uint8Array>;
    readonly opened: Promise<{ remoteAddress?: string; localAddress?: string }>;
    readonly closed: Promise<void>;
    close(): Promise<void>;
    startTls(): Socket;
  }
  export function connect(address: string | SocketAddress, options?: SocketOptions): Socket;
}
`;

/** The ```ts blocks of each @example in `text`'s doc comments; an @example without one is an error. */
export function extractExamples(file: string, text: string, errors: string[]): Example[] {
  const examples: Example[] = [];
  for (const m of text.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
    const firstLine = text.slice(0, m.index).split("\n").length;
    const lines = m[0].split("\n").map((l) => l.replace(/^\s*\/?\*+\/?\s?/, "").replace(/\s*\*\/$/, ""));
    let inExample = false, sawBlock = false, exampleLine = 0;
    let block: Example | undefined;
    const endExample = () => {
      if (inExample && !sawBlock) errors.push(`${file}:${exampleLine}: @example has no \`\`\`ts block`);
      inExample = false;
    };
    lines.forEach((line, i) => {
      const at = firstLine + i;
      if (block) {
        if (/^```\s*$/.test(line)) { examples.push(block); block = undefined; }
        else { block.code.push(line); block.lines.push(at); }
      } else if (/^@example\b/.test(line)) {
        endExample();
        inExample = true; sawBlock = false; exampleLine = at;
      } else if (/^@\w/.test(line)) {
        endExample();
      } else if (inExample && /^```(ts|typescript)\s*$/.test(line)) {
        sawBlock = true;
        block = { file, lines: [], code: [] };
      }
    });
    if (block) errors.push(`${file}:${(block as Example).lines[0] ?? firstLine}: \`\`\`ts block not closed`);
    endExample();
  }
  return examples;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [join(dir, e.name)] : []);
}

const conditions = new Set(["browser", "workerd", "deno", "bun", "node"]);
const conditionOf = (file: string) => {
  const name = basename(file, ".ts");
  return name === "index" && dirname(file) === "src" ? "node" : conditions.has(name) ? name : "";
};

const fileHosts = new Map<string, ts.SourceFile | undefined>();

/**
 * Type-checks `examples`, one module each, in `dir` (whose node_modules/kafkasm is the package).
 * Returns one line per error: `src/file.ts:LINE: TSnnnn message`.
 */
export function checkExamples(examples: Example[], dir: string): string[] {
  const out: string[] = [];
  writeFileSync(join(dir, "prelude.d.ts"), prelude);
  const byCondition = new Map<string, { path: string; example: Example }[]>();
  examples.forEach((example, n) => {
    const path = join(dir, `example-${n}.ts`);
    const sourceDir = resolve(root, dirname(example.file));
    // Relative specifiers name files next to the example's source file.
    const code = example.code.map((l) => l.replace(/(from\s+|import\s*\(\s*)(["'])(\.\.?\/[^"']*)\2/g,
      (_, kw: string, q: string, spec: string) => `${kw}${q}${resolve(sourceDir, spec)}${q}`));
    // `export {}` makes a block without imports a module too (top-level await, no global names).
    writeFileSync(path, `${code.join("\n")}\nexport {};\n`);
    const group = byCondition.get(conditionOf(example.file)) ?? [];
    group.push({ path, example });
    byCondition.set(conditionOf(example.file), group);
  });
  const base: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ["lib.es2022.d.ts", "lib.dom.d.ts"], types: ["node"], typeRoots: [join(root, "node_modules/@types")],
    strict: true, noEmit: true, skipLibCheck: true, allowImportingTsExtensions: true, verbatimModuleSyntax: true,
  };
  for (const [condition, group] of byCondition) {
    const options = { ...base, customConditions: condition ? [condition] : [] };
    const host = ts.createCompilerHost(options);
    const read = host.getSourceFile;
    // Library files parse once for every group.
    host.getSourceFile = (name, lang, ...rest) => {
      if (name.startsWith(dir)) return read(name, lang, ...rest);
      if (!fileHosts.has(name)) fileHosts.set(name, read(name, lang, ...rest));
      return fileHosts.get(name);
    };
    const program = ts.createProgram([join(dir, "prelude.d.ts"), ...group.map((g) => g.path)], options, host);
    for (const { path, example } of group) {
      const sf = program.getSourceFile(path)!;
      for (const d of ts.getPreEmitDiagnostics(program, sf)) {
        const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : 0;
        const where = d.file === sf ? `${example.file}:${example.lines[line] ?? example.lines.at(-1)}` : `${example.file}:${example.lines[0]} (in ${d.file ? relative(root, d.file.fileName) : "?"})`;
        out.push(`${where}: TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, " ")}${condition ? ` [condition ${condition}]` : ""}`);
      }
    }
  }
  return out;
}

const dir = mkdtempSync(join(tmpdir(), "kafkasm-examples-"));

test.before(async () => {
  // dist/types/ is up to date after scripts/setup.sh; this makes the file correct when run alone after an edit too.
  const build = spawnChild(process.execPath, ["scripts/build.mjs", "--types-only"], { cwd: root });
  try {
    assert.is(await build.exited(120_000), 0, build.stderr);
  } finally {
    build.kill();
  }
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(root, join(dir, "node_modules/kafkasm"), "dir");
  // kafkasm/otel's peer dependency, as an application using it installs it.
  mkdirSync(join(dir, "node_modules/@opentelemetry"));
  symlinkSync(join(root, "node_modules/@opentelemetry/api"), join(dir, "node_modules/@opentelemetry/api"), "dir");
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test("every ```ts @example block in src/ and bindings/ type-checks against the published types", () => {
  const errors: string[] = [];
  const examples = ["src", "bindings"].flatMap((d) => sourceFiles(join(root, d)))
    .flatMap((f) => extractExamples(relative(root, f), readFileSync(f, "utf8"), errors));
  // The walk found them (the check would pass vacuously otherwise).
  assert.ok(examples.some((e) => e.file === "src/producer/producer.ts"), "examples of src/producer/producer.ts found");
  errors.push(...checkExamples(examples, dir));
  assert.equal(errors, [], `\n${errors.join("\n")}\n`);
});

test("a wrong example is reported with its file and line, and a right one passes", () => {
  const text = [
    "/**",                                                   // 1
    " * A doc comment.",                                     // 2
    " * @example",                                           // 3
    " * ```ts",                                              // 4
    ' * import { Producer } from "kafkasm";',                // 5
    ' * const producer = new Producer({ brokers: ["b:9092"] });', // 6
    ' * await producer.send({ topic: "t", value: 1 });',     // 7: value 1 is neither string nor bytes
    " * ```",                                                // 8
    " * @example",                                           // 9
    " * ```ts",                                              // 10
    ' * import { crc32c } from "kafkasm/codec";',            // 11
    " * declare const bytes: Uint8Array;",                   // 12
    " * const crc: number = crc32c(bytes);",                 // 13
    " * ```",                                                // 14
    " * @example",                                           // 15
    " * no fence here",                                      // 16
    " */",
  ].join("\n");
  const errors: string[] = [];
  const examples = extractExamples("src/fixture.ts", text, errors);
  assert.equal(examples.map((e) => e.lines), [[5, 6, 7], [11, 12, 13]]);
  assert.equal(errors, ["src/fixture.ts:15: @example has no ```ts block"]);
  const found = checkExamples(examples, dir);
  assert.is(found.length, 1, found.join("\n"));
  assert.match(found[0], /^src\/fixture\.ts:7: TS2322 /);
});

exitAfterSuite(test);
test.run();
