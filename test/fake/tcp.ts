// Exposes a FakeCluster over real TCP on 127.0.0.1 (ephemeral ports), for runtime tests (Node, Deno, Bun
// transports) that cannot use the in-memory transport. Each TCP connection is piped to the broker's
// in-memory listener, so every fault injection works the same; Metadata then advertises the TCP ports.
import { createServer, type Server, type Socket } from "node:net";
import type { FakeCluster } from "./cluster.ts";

export interface TcpFront {
  /** "127.0.0.1:port" per broker, in node id order. */
  readonly bootstrap: string[];
  close(): Promise<void>;
}

export async function listenTcp(cluster: FakeCluster): Promise<TcpFront> {
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  for (const b of cluster.brokers) {
    const server = createServer((sock) => {
      sockets.add(sock);
      sock.on("close", () => sockets.delete(sock));
      sock.pause();
      cluster.transport({ host: b.host, port: b.port, nodeId: b.nodeId }, {
        onData: (chunk) => { sock.write(chunk); },
        onClose: () => { sock.destroy(); },
      }).then((mem) => {
        sock.on("data", (chunk) => { mem.write(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length)).catch(() => sock.destroy()); });
        sock.on("close", () => mem.close());
        sock.on("error", () => mem.close());
        sock.resume();
      }, () => sock.destroy()); // broker down: refuse
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    servers.push(server);
    b.advertisedHost = "127.0.0.1";
    b.advertisedPort = (server.address() as { port: number }).port;
  }
  return {
    bootstrap: cluster.bootstrap,
    async close() {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
      for (const b of cluster.brokers) {
        b.advertisedHost = b.host;
        b.advertisedPort = b.port;
      }
    },
  };
}
