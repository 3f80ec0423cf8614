import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { formatHelp, parseAcks, parseArgs, parseBrokers, UsageError, type OptionSpecs } from "../../src/cli/args.ts";
import { lines } from "../../src/cli/produce.ts";
import { quantile } from "../../src/cli/perf.ts";

const spec = {
  brokers: { type: "string", required: true, description: "b" },
  "linger-ms": { type: "number", default: 5, integer: true, min: 0, description: "l" },
  throughput: { type: "number", default: -1, description: "t" },
  idempotent: { type: "boolean", description: "i" },
  compression: { type: "string", default: "none", choices: ["none", "gzip"], description: "c" },
} as const satisfies OptionSpecs;

const usage = (argv: string[], re: RegExp) => {
  try { parseArgs(argv, spec); } catch (e) {
    assert.instance(e, UsageError);
    assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable(`expected a UsageError for ${argv.join(" ")}`);
};

test("parses --name value, --name=value, defaults and camelCases kebab names", () => {
  const { options } = parseArgs(["--brokers", "a:1", "--linger-ms=10"], spec);
  assert.equal(options, { brokers: "a:1", lingerMs: 10, throughput: -1, idempotent: undefined, compression: "none" });
});

test("boolean flags: --flag, --no-flag, --flag=false", () => {
  assert.is(parseArgs(["--brokers", "a:1", "--idempotent"], spec).options.idempotent, true);
  assert.is(parseArgs(["--brokers", "a:1", "--no-idempotent"], spec).options.idempotent, false);
  assert.is(parseArgs(["--brokers", "a:1", "--idempotent=false"], spec).options.idempotent, false);
});

test("a number option takes a negative value (--throughput -1)", () => {
  assert.is(parseArgs(["--brokers", "a:1", "--throughput", "-1"], spec).options.throughput, -1);
});

test("mistakes are UsageErrors naming the option", () => {
  usage(["--brokers", "a:1", "--bogus"], /Unknown option "--bogus"/);
  usage(["--brokers", "a:1", "-x"], /Unknown option "-x"/);
  usage([], /Missing required option --brokers/);
  usage(["--brokers"], /--brokers needs a value/);
  usage(["--brokers", "--linger-ms", "3"], /--brokers needs a value/);
  usage(["--brokers", "a:1", "--linger-ms", "abc"], /--linger-ms expects a number, got "abc"/);
  usage(["--brokers", "a:1", "--linger-ms", "1.5"], /--linger-ms expects an integer/);
  usage(["--brokers", "a:1", "--linger-ms", "-3"], /--linger-ms must be at least 0/);
  usage(["--brokers", "a:1", "--compression", "brotli"], /--compression expects one of none, gzip, got "brotli"/);
  usage(["--brokers", "a:1", "--no-compression"], /Unknown option "--no-compression"/);
  usage(["--brokers", "a:1", "stray"], /Unexpected argument "stray"/);
  usage(["--brokers", "a:1", "--idempotent=yes"], /expects true or false/);
});

test("--help skips required checks; help text lists every option with defaults", () => {
  const r = parseArgs(["--help"], spec);
  assert.ok(r.help);
  const text = formatHelp("x", "summary", spec);
  for (const name of ["--brokers", "--linger-ms", "--throughput", "--idempotent", "--compression"]) assert.ok(text.includes(name), name);
  assert.match(text, /\(default: 5\)/);
  assert.match(text, /\(required\)/);
});

test("parseBrokers and parseAcks accept the documented forms only", () => {
  assert.equal(parseBrokers("127.0.0.1:9092, b:1"), ["127.0.0.1:9092", "b:1"]);
  assert.throws(() => parseBrokers("localhost"), /not host:port/);
  assert.throws(() => parseBrokers("h:70000"), /not host:port/);
  assert.throws(() => parseBrokers(","), /expects host:port/);
  assert.is(parseAcks("0"), 0);
  assert.is(parseAcks("1"), 1);
  assert.is(parseAcks("all"), "all");
  assert.is(parseAcks("-1"), "all");
  assert.throws(() => parseAcks("2"), /expects 0, 1 or all/);
});

test("lines() splits at every chunk boundary the same way", async () => {
  const text = "alpha\nbeta\n\ngamma delta\nlast";
  const want = ["alpha", "beta", "", "gamma delta", "last"];
  const bytes = new TextEncoder().encode(text);
  for (let cut1 = 0; cut1 <= bytes.length; cut1++) {
    for (let cut2 = cut1; cut2 <= bytes.length; cut2 += 3) {
      async function* chunks() { yield bytes.subarray(0, cut1); yield bytes.subarray(cut1, cut2); yield bytes.subarray(cut2); }
      const got: string[] = [];
      for await (const l of lines(chunks())) got.push(new TextDecoder().decode(l));
      assert.equal(got, want, `cuts at ${cut1}, ${cut2}`);
    }
  }
});

test("quantile is nearest-rank", () => {
  const a = Float64Array.from({ length: 100 }, (_, i) => i + 1);
  assert.is(quantile(a, 0.5), 50);
  assert.is(quantile(a, 0.99), 99);
  assert.is(quantile([7], 0.99), 7);
  assert.ok(Number.isNaN(quantile([], 0.5)));
});

const cli = (args: string[]) => spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], { encoding: "utf8", cwd: new URL("../..", import.meta.url).pathname });

test("kafkasm: unknown command and unknown option exit 2 with a clear message", () => {
  const a = cli(["frobnicate"]);
  assert.is(a.status, 2);
  assert.match(a.stderr, /unknown command "frobnicate"/);
  const b = cli(["produce", "--brokers", "127.0.0.1:9", "--topic", "t", "--acks", "2"]);
  assert.is(b.status, 2);
  assert.match(b.stderr, /--acks expects 0, 1 or all, got "2"/);
  assert.match(b.stderr, /kafkasm produce --help/);
  const c = cli(["perf", "--topic", "t", "--wat"]);
  assert.is(c.status, 2);
  assert.match(c.stderr, /Unknown option "--wat"/);
});

test("kafkasm --help and <command> --help exit 0 and list the options", () => {
  const a = cli(["--help"]);
  assert.is(a.status, 0);
  assert.match(a.stdout, /produce/);
  assert.match(a.stdout, /perf/);
  const b = cli(["produce", "--help"]);
  assert.is(b.status, 0);
  assert.match(b.stdout, /--key-separator/);
  const c = cli(["perf", "--help"]);
  assert.is(c.status, 0);
  assert.match(c.stdout, /--record-size/);
});

test.run();
