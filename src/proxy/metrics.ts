/**
 * Prometheus text exposition (format 0.0.4) of the proxy's counters, and the latency histogram of
 * broker requests as the gate sees them (request forwarded → its answer's header arrives).
 */
import { ApiVersions, Metadata, Produce, InitProducerId, FindCoordinator, AddPartitionsToTxn, EndTxn } from "../protocol/api-keys.ts";
import type { ProxyStats } from "./proxy.ts";

/** Upper bounds in seconds: 1 ms to 10 s, the range of a broker answering a producer (acks all, replication). */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

const API_NAMES: Record<number, string> = {
  [Produce]: "Produce", [Metadata]: "Metadata", [ApiVersions]: "ApiVersions", [InitProducerId]: "InitProducerId",
  [FindCoordinator]: "FindCoordinator", [AddPartitionsToTxn]: "AddPartitionsToTxn", [EndTxn]: "EndTxn",
};

class Histogram {
  /** Per bucket, not cumulative (summed when rendered); the last is +Inf. */
  readonly counts = new Array<number>(LATENCY_BUCKETS.length + 1).fill(0);
  sum = 0;
  count = 0;

  observe(seconds: number): void {
    let i = 0;
    while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]) i++;
    this.counts[i]++;
    this.sum += seconds;
    this.count++;
  }
}

/** Broker request latency per API key; at most one histogram per API key (≤ 32768, in practice a handful). */
export class LatencyHistograms {
  readonly byApi = new Map<number, Histogram>();

  observe(apiKey: number, ms: number): void {
    let h = this.byApi.get(apiKey);
    if (!h) this.byApi.set(apiKey, (h = new Histogram()));
    h.observe(Math.max(0, ms) / 1000);
  }
}

/** A label value as the format wants it: backslash, double quote and newline escaped. */
const label = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
const num = (n: number) => String(n);

export function renderMetrics(stats: ProxyStats, latency: LatencyHistograms): string {
  const out: string[] = [];
  const family = (name: string, type: "counter" | "gauge" | "histogram", help: string) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  };
  const byLabel = (name: string, key: string, values: Record<string, number | undefined>) => {
    for (const [k, v] of Object.entries(values)) if (v !== undefined) out.push(`${name}{${key}="${label(k)}"} ${num(v)}`);
  };
  family("kafkasm_proxy_connections_open", "gauge", "WebSocket connections open now.");
  out.push(`kafkasm_proxy_connections_open ${stats.connections.open}`);
  family("kafkasm_proxy_connections_total", "counter", "WebSocket connections opened since start.");
  out.push(`kafkasm_proxy_connections_total ${stats.connections.total}`);
  family("kafkasm_proxy_refusals_total", "counter", "Requests, connections and messages refused, by reason.");
  byLabel("kafkasm_proxy_refusals_total", "reason", stats.refused.byReason);
  family("kafkasm_proxy_closes_total", "counter", "Connections closed, by reason.");
  byLabel("kafkasm_proxy_closes_total", "reason", stats.closed.byReason);
  family("kafkasm_proxy_bytes_total", "counter", "Bytes forwarded, by direction.");
  byLabel("kafkasm_proxy_bytes_total", "direction", { to_broker: stats.bytes.toBroker, to_client: stats.bytes.toClient });
  family("kafkasm_proxy_throttles_total", "counter", "Times a connection was slowed, by cause (the bytesPerSecond limit, or backpressure).");
  byLabel("kafkasm_proxy_throttles_total", "cause", {
    rate: stats.throttled.rate, broker_backpressure: stats.throttled.brokerBackpressure, client_backpressure: stats.throttled.clientBackpressure,
  });
  const h = "kafkasm_proxy_broker_request_duration_seconds";
  family(h, "histogram", "Broker request latency seen by the gate: from forwarding a request to its answer arriving, by API.");
  for (const [apiKey, hist] of [...latency.byApi].sort((a, b) => a[0] - b[0])) {
    const api = `api="${label(API_NAMES[apiKey] ?? String(apiKey))}"`;
    let cumulative = 0;
    LATENCY_BUCKETS.forEach((le, i) => {
      cumulative += hist.counts[i];
      out.push(`${h}_bucket{${api},le="${le}"} ${cumulative}`);
    });
    out.push(`${h}_bucket{${api},le="+Inf"} ${hist.count}`, `${h}_sum{${api}} ${hist.sum}`, `${h}_count{${api}} ${hist.count}`);
  }
  return `${out.join("\n")}\n`;
}
