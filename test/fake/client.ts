// A minimal raw Kafka client over any Transport, for tests of the fake cluster and protocol: sends one
// request frame, resolves with the decoded response (or null when none came within the wait).
import type { Api } from "../../src/protocol/api.ts";
import { decodeResponseFrame, encodeRequestFrame, FrameAccumulator, readResponseCorrelationId } from "../../src/protocol/frame.ts";
import type { Transport, TransportSocket } from "../../src/transport/transport.ts";

export class RawClient {
  private pending = new Map<number, { api: Api<any, any>; version: number; resolve: (v: any) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private acc = new FrameAccumulator();
  socket!: TransportSocket;
  closedWith: Error | undefined | null = null;

  static async connect(transport: Transport, host: string, port: number): Promise<RawClient> {
    const c = new RawClient();
    c.socket = await transport({ host, port, nodeId: -1 }, {
      onData: (chunk) => c.acc.push(chunk, (frame) => {
        const id = readResponseCorrelationId(frame);
        const p = c.pending.get(id);
        if (!p) return;
        c.pending.delete(id);
        try {
          p.resolve(decodeResponseFrame(p.api, p.version, frame));
        } catch (e) {
          p.reject(e as Error);
        }
      }),
      onClose: (e) => {
        c.closedWith = e;
        for (const p of c.pending.values()) p.reject(e ?? new Error("closed"));
        c.pending.clear();
      },
    });
    return c;
  }

  /** Sends a request; resolves with the response. `expectResponse: false` (acks=0) resolves right after sending. */
  async send<Req, Res>(api: Api<Req, Res>, version: number, request: Req, expectResponse = true): Promise<Res> {
    const id = this.nextId++;
    const frame = encodeRequestFrame(api, version, id, "raw-client", request);
    if (!expectResponse) {
      await this.socket.write(frame);
      return undefined as Res;
    }
    const p = new Promise<Res>((resolve, reject) => this.pending.set(id, { api, version, resolve, reject }));
    await this.socket.write(frame);
    return p;
  }

  /** Resolves with the response, or "timeout" after `ms` of real time. */
  async sendWithin<Req, Res>(api: Api<Req, Res>, version: number, request: Req, ms: number): Promise<Res | "timeout"> {
    return Promise.race([this.send(api, version, request), new Promise<"timeout">((r) => setTimeout(() => r("timeout"), ms))]);
  }

  close(): void {
    this.socket.close();
  }
}
