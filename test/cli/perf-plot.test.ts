import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { perfSvg } from "../../src/cli/perf.ts";
import { startCluster } from "../harness/cluster.ts";
import { exitAfterSuite, spawnChild } from "../harness/bounded.ts";
import { freshTopic } from "./topics.ts";

const root = new URL("../..", import.meta.url).pathname;

interface XmlElement { name: string; attributes: Record<string, string>; children: XmlElement[] }

/** A strict parser for the XML subset an SVG uses (declaration, elements, quoted attributes, text, entities); throws on anything ill-formed. */
function parseXml(text: string): XmlElement {
  let i = 0;
  const fail = (why: string): never => { throw new Error(`${why} at ${i}: ${JSON.stringify(text.slice(i, i + 40))}`); };
  const checkText = (t: string) => { if (/[<>]|&(?!(amp|lt|gt|quot|apos|#\d+);)/.test(t)) fail(`bad character data ${JSON.stringify(t)}`); };
  if (text.startsWith("<?xml")) { i = text.indexOf("?>") + 2; if (i < 2) fail("unterminated declaration"); }
  const element = (): XmlElement => {
    const m = /^<([A-Za-z][\w:-]*)/.exec(text.slice(i)) ?? fail("expected an element");
    i += m[0].length;
    const el: XmlElement = { name: m[1]!, attributes: {}, children: [] };
    for (;;) {
      const a = /^\s+([A-Za-z][\w:-]*)="([^"]*)"/.exec(text.slice(i));
      if (!a) break;
      if (a[1]! in el.attributes) fail(`duplicate attribute ${a[1]}`);
      checkText(a[2]!);
      el.attributes[a[1]!] = a[2]!;
      i += a[0].length;
    }
    const close = /^\s*(\/?)>/.exec(text.slice(i)) ?? fail("expected > or />");
    i += close[0].length;
    if (close[1]) return el;
    for (;;) {
      const lt = text.indexOf("<", i);
      if (lt === -1) fail("unclosed element");
      checkText(text.slice(i, lt));
      i = lt;
      if (text.startsWith(`</${el.name}>`, i)) { i += el.name.length + 3; return el; }
      if (text.startsWith("</", i)) fail(`mismatched close of ${el.name}`);
      el.children.push(element());
    }
  };
  while (/\s/.test(text[i] ?? "")) i++;
  const doc = element();
  if (text.slice(i).trim() !== "") fail("content after the root element");
  return doc;
}

const all = (el: XmlElement): XmlElement[] => [el, ...el.children.flatMap(all)];

test("perfSvg: well-formed SVG with one polyline per series holding every point, escaped title", () => {
  const points = [0.5, 1, 1.5].map((t, i) => ({ t, recordsPerSec: 1000 * (i + 1), mbPerSec: i, avgMs: 2 + i, maxMs: 10 * (i + 1) }));
  points.push({ t: 2, recordsPerSec: 500, mbPerSec: 0, avgMs: NaN, maxMs: 0 });
  const doc = parseXml(perfSvg(points, `a <b> & "c"`));
  assert.is(doc.name, "svg");
  assert.is(doc.attributes.xmlns, "http://www.w3.org/2000/svg");
  const series = Object.fromEntries(all(doc).filter((e) => e.name === "polyline").map((e) => [e.attributes["data-series"], e.attributes.points!.split(" ").map((p) => p.split(",").map(Number))]));
  assert.equal(Object.keys(series).sort(), ["avgMs", "maxMs", "recordsPerSec"]);
  assert.is(series.recordsPerSec!.length, 4);
  assert.is(series.avgMs!.length, 3, "a window without samples (NaN) is left out");
  // x grows with time; the highest throughput is drawn highest (smallest y).
  const xs = series.recordsPerSec!.map(([x]) => x!);
  assert.equal([...xs].sort((a, b) => a - b), xs);
  const ys = series.recordsPerSec!.map(([, y]) => y!);
  assert.is(Math.min(...ys), ys[2]);
});

test("kafkasm perf --plot out.svg: writes the SVG and the JSON result (with the series) next to it", async () => {
  const cluster = await startCluster({ brokers: 1 });
  const dir = mkdtempSync(join(tmpdir(), "kafkasm-plot-"));
  try {
    const { name: topic } = await freshTopic(cluster, "plot", 1);
    const out = join(dir, "run.svg");
    const child = spawnChild(process.execPath, ["--import", "tsx", "src/cli/main.ts", "perf", "--brokers", cluster.bootstrap, "--topic", topic,
      "--records", "3000", "--record-size", "50", "--throughput", "1500", "--plot", out], { cwd: root });
    assert.is(await child.exited(60_000), 0, child.stderr);
    const json = JSON.parse(readFileSync(join(dir, "run.json"), "utf8"));
    assert.equal(JSON.parse(child.stdout.trim().split("\n").pop()!), (({ series, ...rest }) => rest)(json), "the file holds the stdout summary");
    assert.ok(json.series.length >= 2, `points: ${json.series.length}`);
    const doc = parseXml(readFileSync(out, "utf8"));
    const lines = all(doc).filter((e) => e.name === "polyline");
    const rps = lines.find((e) => e.attributes["data-series"] === "recordsPerSec")!;
    assert.is(rps.attributes.points!.split(" ").length, json.series.length);
    assert.ok(lines.some((e) => e.attributes["data-series"] === "maxMs"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await cluster.stop();
  }
});

exitAfterSuite(test);
test.run();
