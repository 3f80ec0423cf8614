/**
 * bench/plot: a dependency-free SVG writer for the benchmarks' comparisons — one horizontal bar chart
 * per metric (groups of labelled bars, each with its value printed), stacked in one file.
 */
import { writeFileSync } from "node:fs";

export interface Bar { label: string; value: number; /** highlighted (kafkasm) */ ours?: boolean }
export interface Chart {
  title: string; unit: string; bars: Bar[]; /** a vertical target line */ target?: { value: number; label: string };
  /** bar lengths on a log scale, for values 100× apart (a linear scale leaves the small ones invisible) */ log?: boolean;
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const fmt = (n: number) => (Math.abs(n) >= 100 ? Math.round(n).toLocaleString("en-US") : Math.abs(n) >= 1 ? n.toFixed(2) : n.toPrecision(3));

/** Renders the charts as one SVG document. */
export function svg(title: string, charts: Chart[], footnote = ""): string {
  const W = 760, labelW = 220, valueW = 110, barH = 22, gap = 6, plotW = W - labelW - valueW - 20;
  const parts: string[] = [];
  let y = 30;
  parts.push(`<text x="10" y="20" font-size="15" font-weight="bold">${esc(title)}</text>`);
  for (const c of charts) {
    const bars = c.bars.filter((b) => Number.isFinite(b.value));
    y += 14;
    parts.push(`<text x="10" y="${y + 4}" font-size="13" font-weight="bold">${esc(c.title)} (${esc(c.unit)}${c.log ? ", log scale" : ""})</text>`);
    y += 12;
    const max = Math.max(1e-9, ...bars.map((b) => b.value), c.target?.value ?? 0);
    // Log scale: the axis starts a decade below the smallest positive value, so every bar shows.
    const lo = Math.log10(Math.min(max, ...bars.map((b) => b.value).filter((v) => v > 0))) - 1;
    const scale = (v: number) => (c.log ? (v > 0 ? Math.max(0, (Math.log10(v) - lo) / (Math.log10(max) - lo)) : 0) : v / max);
    const top = y;
    for (const b of bars) {
      const w = Math.max(1, scale(b.value) * plotW);
      parts.push(`<text x="${labelW - 6}" y="${y + barH * 0.7}" font-size="12" text-anchor="end">${esc(b.label)}</text>`,
        `<rect x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${b.ours ? "#2b6cb0" : "#a0aec0"}"/>`,
        `<text x="${labelW + w + 4}" y="${y + barH * 0.7}" font-size="12">${esc(fmt(b.value))}</text>`);
      y += barH + gap;
    }
    if (c.target && Number.isFinite(c.target.value)) {
      const x = labelW + scale(c.target.value) * plotW;
      parts.push(`<line x1="${x.toFixed(1)}" y1="${top - 4}" x2="${x.toFixed(1)}" y2="${y - gap + 4}" stroke="#c53030" stroke-dasharray="4 3"/>`,
        `<text x="${x.toFixed(1)}" y="${y + 10}" font-size="11" fill="#c53030" text-anchor="middle">${esc(c.target.label)}</text>`);
      y += 14;
    }
    y += 6;
  }
  if (footnote) { y += 8; parts.push(`<text x="10" y="${y}" font-size="11" fill="#4a5568">${esc(footnote)}</text>`); }
  y += 12;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y}" viewBox="0 0 ${W} ${y}" font-family="sans-serif">\n` +
    `<rect width="100%" height="100%" fill="white"/>\n${parts.join("\n")}\n</svg>\n`;
}

/** Writes `svg(...)` next to a results JSON (same name, .svg). */
export function writeSvg(jsonPath: string, title: string, charts: Chart[], footnote?: string): string {
  const path = jsonPath.replace(/\.json$/, "") + ".svg";
  writeFileSync(path, svg(title, charts, footnote));
  return path;
}

/** "PASS"/"MISS" line for a target, in the benchmarks' common style. */
export function targetLine(ok: boolean, target: string, measured: string): string {
  return `  ${ok ? "PASS" : "MISS"}  ${target.padEnd(34)} ${measured}`;
}
