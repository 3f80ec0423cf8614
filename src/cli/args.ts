/**
 * A tiny command-line parser shared by the `kafkasm` commands (no dependency): `--name value`,
 * `--name=value`, boolean `--flag` / `--no-flag`, `-h` / `--help`, and `--` to end options.
 * Every mistake is a `UsageError`, which `main.ts` prints with a hint and exits 2 for.
 */
import { parseHostPort } from "../client/address.ts";

/** The kinds of value an option takes. */
export type OptionType = "string" | "number" | "boolean";

/** How one option is parsed and documented. Keys of an `OptionSpecs` are the kebab-case names. */
export interface OptionSpec {
  readonly type: OptionType;
  /** One line for `--help`. */
  readonly description: string;
  /** Used when the option is absent; shown in `--help`. */
  readonly default?: string | number | boolean;
  /** The option must be given. */
  readonly required?: boolean;
  /** The only values accepted (string options). */
  readonly choices?: readonly string[];
  /** Placeholder in `--help`, e.g. `H:P[,H:P]`. */
  readonly valueName?: string;
  /** Number options: only integers (and the range below). */
  readonly integer?: boolean;
  readonly min?: number;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

type CamelCase<S extends string> = S extends `${infer H}-${infer T}` ? `${H}${Capitalize<CamelCase<T>>}` : S;
type ValueOf<O extends OptionSpec> = O["type"] extends "number" ? number : O["type"] extends "boolean" ? boolean : string;
type IsSet<O extends OptionSpec> = O extends { required: true } ? true : O extends { default: unknown } ? true : false;

/** Parsed options, keyed by camelCase name; optional ones without a default may be undefined. */
export type ParsedOptions<S extends OptionSpecs> = {
  -readonly [K in keyof S as CamelCase<K & string>]: IsSet<S[K]> extends true ? ValueOf<S[K]> : ValueOf<S[K]> | undefined;
};

/** A mistake on the command line: printed with a pointer to `--help`, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The result of `parseArgs`: `help` is true when `-h`/`--help` was given (nothing else is checked then). */
export interface ParseResult<S extends OptionSpecs> {
  readonly options: ParsedOptions<S>;
  readonly positionals: string[];
  readonly help: boolean;
}

function camel(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function convert(name: string, spec: OptionSpec, raw: string): string | number {
  if (spec.type === "number") {
    const n = raw.trim() === "" ? NaN : Number(raw);
    if (!Number.isFinite(n)) throw new UsageError(`Option --${name} expects a number, got "${raw}"`);
    if (spec.integer && !Number.isInteger(n)) throw new UsageError(`Option --${name} expects an integer, got "${raw}"`);
    if (spec.min !== undefined && n < spec.min) throw new UsageError(`Option --${name} must be at least ${spec.min}, got ${raw}`);
    return n;
  }
  if (spec.choices && !spec.choices.includes(raw)) {
    throw new UsageError(`Option --${name} expects one of ${spec.choices.join(", ")}, got "${raw}"`);
  }
  return raw;
}

/**
 * Parses `argv` (the arguments after the command name) against `specs`.
 * @param allowPositionals how many bare arguments are accepted (default 0).
 * @throws UsageError on an unknown option, a missing or malformed value, or a missing required option.
 */
export function parseArgs<S extends OptionSpecs>(argv: readonly string[], specs: S, allowPositionals = 0): ParseResult<S> {
  const values: Record<string, string | number | boolean> = {};
  const positionals: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") { positionals.push(...argv.slice(i + 1)); break; }
    if (arg === "-h" || arg === "--help") { help = true; continue; }
    if (!arg.startsWith("--") || arg === "--") {
      if (arg.startsWith("-") && arg.length > 1 && !/^-\d/.test(arg)) throw new UsageError(`Unknown option "${arg}"`);
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    let name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    let spec = specs[name];
    if (spec === undefined && name.startsWith("no-") && specs[name.slice(3)]?.type === "boolean") {
      if (eq !== -1) throw new UsageError(`Option --${name} takes no value`);
      name = name.slice(3);
      values[name] = false;
      continue;
    }
    if (spec === undefined) throw new UsageError(`Unknown option "--${name}"`);
    if (spec.type === "boolean") {
      if (eq === -1) { values[name] = true; continue; }
      const v = arg.slice(eq + 1);
      if (v !== "true" && v !== "false") throw new UsageError(`Option --${name} expects true or false, got "${v}"`);
      values[name] = v === "true";
      continue;
    }
    let raw: string;
    if (eq !== -1) raw = arg.slice(eq + 1);
    else {
      // The next argument is the value even if it starts with "-" (e.g. `--throughput -1`), but an
      // option name there almost always means the value was forgotten.
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith("--") && next.length > 2)) throw new UsageError(`Option --${name} needs a value`);
      raw = next;
      i++;
    }
    values[name] = convert(name, spec, raw);
  }
  const options: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    let v: string | number | boolean | undefined = values[name];
    if (v === undefined && !help && spec.required) throw new UsageError(`Missing required option --${name}`);
    if (v === undefined) v = spec.default;
    options[camel(name)] = v;
  }
  if (!help && positionals.length > allowPositionals) {
    throw new UsageError(`Unexpected argument "${positionals[allowPositionals]}"`);
  }
  return { options: options as ParsedOptions<S>, positionals, help };
}

/** Renders `--help` text: usage line, summary, then one aligned line per option. */
export function formatHelp(usage: string, summary: string, specs: OptionSpecs, notes: readonly string[] = []): string {
  const rows = Object.entries(specs).map(([name, spec]) => {
    const value = spec.type === "boolean" ? "" : ` <${spec.valueName ?? (spec.choices ? spec.choices.join("|") : spec.type)}>`;
    const left = `--${name}${value}`;
    let right = spec.description;
    if (spec.required) right += " (required)";
    else if (spec.default !== undefined && spec.default !== false) right += ` (default: ${spec.default})`;
    return [left, right] as const;
  });
  rows.push(["-h, --help", "show this help"]);
  const width = Math.max(...rows.map(([l]) => l.length));
  const lines = [`Usage: ${usage}`, "", summary, "", "Options:", ...rows.map(([l, r]) => `  ${l.padEnd(width)}  ${r}`)];
  if (notes.length) lines.push("", ...notes);
  return lines.join("\n") + "\n";
}

/** Splits `--brokers H:P[,H:P]` into a list, rejecting entries that are not host:port. */
export function parseBrokers(value: string): string[] {
  const brokers = value.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  if (brokers.length === 0) throw new UsageError(`Option --brokers expects host:port[,host:port], got "${value}"`);
  for (const b of brokers) if (!parseHostPort(b)) throw new UsageError(`Option --brokers: "${b}" is not host:port`);
  return brokers;
}

/** Parses `--acks 0|1|all|-1` into the producer's form. */
export function parseAcks(value: string): 0 | 1 | "all" {
  if (value === "0") return 0;
  if (value === "1") return 1;
  if (value === "all" || value === "-1") return "all";
  throw new UsageError(`Option --acks expects 0, 1 or all, got "${value}"`);
}
