// Records real Kafka frames between kcat (librdkafka) and librdkafka's mock cluster, through a TCP proxy
// on 127.0.0.1, into test/fixtures/protocol/captured/*.json. Not a test: run it to regenerate fixtures:
//   node --import tsx test/protocol/capture.ts
// The proxy forwards bytes unchanged except Metadata responses, whose broker ports it points at itself
// (so that librdkafka's broker connections also go through it); the fixture keeps the mock's original
// bytes, as received.
import { createServer, connect, type Server, type Socket } from "node:net";
import { mkdirSync, writeFileSync } from "node:fs";
import { startCluster } from "../harness/cluster.ts";
import { kcatProduce, runKcat } from "../harness/kcat.ts";
import { FrameAccumulator, decodeResponseFrame, encodeResponseFrame } from "../../src/protocol/frame.ts";
import { Metadata, MetadataServer } from "../../src/protocol/metadata.ts";
import { ApiKey } from "../../src/protocol/api.ts";
import { Reader } from "../../src/protocol/wire.ts";

export interface CapturedFrame {
  direction: "request" | "response";
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  /** Frame without its size prefix. */
  hex: string;
}


function proxy(upstreamPort: number, portMap: Map<number, number>, frames: CapturedFrame[]): Promise<{ server: Server; port: number }> {
  const server = createServer((client: Socket) => {
    const upstream = connect(upstreamPort, "127.0.0.1");
    const inflight = new Map<number, { apiKey: number; apiVersion: number }>();
    const fromClient = new FrameAccumulator();
    const fromBroker = new FrameAccumulator();
    const sized = (frame: Uint8Array) => {
      const out = Buffer.alloc(frame.length + 4);
      out.writeInt32BE(frame.length, 0);
      out.set(frame, 4);
      return out;
    };
    client.on("data", (chunk) => fromClient.push(chunk, (frame) => {
      // Only the fixed v1 part of the header is read here; flexibility does not matter for that.
      const r = new Reader(frame);
      const apiKey = r.int16(), apiVersion = r.int16(), correlationId = r.int32();
      inflight.set(correlationId, { apiKey, apiVersion });
      frames.push({ direction: "request", apiKey, apiVersion, correlationId, hex: Buffer.from(frame).toString("hex") });
      upstream.write(sized(frame));
    }));
    upstream.on("data", (chunk) => fromBroker.push(chunk, (frame) => {
      const correlationId = new Reader(frame).int32();
      const req = inflight.get(correlationId);
      inflight.delete(correlationId);
      if (!req) throw new Error(`response to unknown correlation id ${correlationId}`);
      frames.push({ direction: "response", apiKey: req.apiKey, apiVersion: req.apiVersion, correlationId, hex: Buffer.from(frame).toString("hex") });
      let out: Uint8Array = frame;
      if (req.apiKey === ApiKey.Metadata) {
        const md = decodeResponseFrame(Metadata, req.apiVersion, frame);
        for (const b of md.brokers) b.port = portMap.get(b.port) ?? b.port;
        out = encodeResponseFrame(MetadataServer, req.apiVersion, correlationId, md).subarray(4);
      }
      client.write(sized(out));
    }));
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, port: (server.address() as any).port })));
}

async function main(): Promise<void> {
  const cluster = await startCluster({ brokers: 1, topics: [{ name: "captured", partitions: 1, replicationFactor: 1 }] });
  const frames: CapturedFrame[] = [];
  const portMap = new Map<number, number>();
  const { server, port } = await proxy(cluster.brokers[0].port, portMap, frames);
  portMap.set(cluster.brokers[0].port, port);
  const bootstrap = `127.0.0.1:${port}`;
  try {
    const sessions: Record<string, () => Promise<unknown>> = {
      "kcat-produce-idempotent": () => kcatProduce(bootstrap, "captured", ["k1:hello", "k2:wörld"], {
        keyDelimiter: ":", headers: { h: "v" }, config: { "enable.idempotence": true },
      }),
      "kcat-consume": () => runKcat(["-b", bootstrap, "-C", "-t", "captured", "-o", "beginning", "-c", "2", "-e", "-q"], { timeoutMs: 15000 }),
    };
    const dir = new URL("../fixtures/protocol/captured/", import.meta.url);
    mkdirSync(dir, { recursive: true });
    for (const [name, run] of Object.entries(sessions)) {
      frames.length = 0;
      await run();
      writeFileSync(new URL(`${name}.json`, dir), JSON.stringify({
        source: "kcat 1.7.1 / librdkafka 2.0.2 against the librdkafka mock cluster (test/harness), recorded by test/protocol/capture.ts",
        frames,
      }, null, 1) + "\n");
      const apis = [...new Set(frames.map((f) => `${f.apiKey}v${f.apiVersion}`))].join(", ");
      console.log(`${name}: ${frames.length} frames (${apis})`);
    }
  } finally {
    server.close();
    await cluster.stop();
  }
}

await main();
