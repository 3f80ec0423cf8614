/**
 * The client's raw WebSocket bytes, scanned before ws parses them (a prepended "data" listener):
 *
 * - counts the fragments of the message being received: ws bounds a message's total bytes
 *   (maxPayload) but keeps one Buffer per fragment, so a message sent as millions of 1-byte
 *   fragments would cost hundreds of megabytes;
 * - unmasks each frame's payload in place, a 32-bit word at a time, and writes a zero masking key
 *   over the client's: ws skips unmasking a zero key, and its byte-at-a-time JS loop (without the
 *   native bufferutil) was 45 % of the proxy's CPU at 50 MB/s. ws then sees the frame a client
 *   masking with 00000000 would have sent, so every check it makes (mask bit, lengths, opcodes,
 *   control frames, maxPayload) is unchanged; a ws without that shortcut would XOR with 0, still right.
 */
export class ClientFrameScanner {
  private readonly head = new Uint8Array(14);
  private headLen = 0;
  /** Header bytes of the current frame (2 until its second byte says more). */
  private need = 2;
  private masked = false;
  private readonly key = new Uint8Array(4);
  /** Payload bytes of the current frame not scanned yet. */
  private skip = 0;
  /** Offset in the payload of the next byte, mod 4 (which key byte applies). */
  private phase = 0;
  private fragments = 0;

  constructor(private readonly maxFragments: number) {}

  /** Unmasks `chunk` in place; returns false once a message has more than maxFragments fragments. */
  push(chunk: Uint8Array): boolean {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.skip > 0) {
        const take = Math.min(this.skip, n - i);
        if (this.masked) {
          unmask(chunk, i, i + take, this.key, this.phase);
          this.phase = (this.phase + take) & 3;
        }
        this.skip -= take;
        i += take;
        continue;
      }
      const at = this.headLen++;
      this.head[at] = chunk[i];
      // The key's bytes are zeroed as they pass, so a key split across chunks never reaches ws half-zeroed.
      if (at >= this.need - 4 && at >= 2 && this.masked) {
        this.key[at - (this.need - 4)] = chunk[i];
        chunk[i] = 0;
      }
      i++;
      if (at === 1) {
        const len7 = this.head[1] & 0x7f;
        this.masked = (this.head[1] & 0x80) !== 0;
        this.need = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (this.masked ? 4 : 0);
      }
      if (this.headLen < this.need) continue;
      const h = this.head;
      const len7 = h[1] & 0x7f;
      const length = len7 === 126 ? (h[2] << 8) | h[3]
        : len7 === 127 ? (((h[2] << 24) | (h[3] << 16) | (h[4] << 8) | h[5]) >>> 0) * 2 ** 32 + (((h[6] << 24) | (h[7] << 16) | (h[8] << 8) | h[9]) >>> 0)
        : len7;
      this.headLen = 0;
      this.need = 2;
      this.skip = length;
      this.phase = 0;
      const opcode = h[0] & 0x0f;
      if (opcode < 8) { // a data frame: control frames may come between fragments
        if (h[0] & 0x80) this.fragments = 0;
        else if (++this.fragments > this.maxFragments) return false;
      }
    }
    return true;
  }
}

const word = new Uint8Array(4);
const wordView = new Uint32Array(word.buffer);

/** XORs `b[from..to)` with `key`, `phase` being the payload offset of `b[from]` mod 4. */
export function unmask(b: Uint8Array, from: number, to: number, key: Uint8Array, phase: number): void {
  let i = from;
  // Bytes until the 4-byte-aligned address a Uint32Array view needs, then whole words, then the tail.
  const lead = Math.min(to, i + ((4 - ((b.byteOffset + i) & 3)) & 3));
  for (; i < lead; i++) b[i] ^= key[(phase + i - from) & 3];
  const words = (to - i) >>> 2;
  if (words >= 4) {
    const p = (phase + i - from) & 3;
    // The key's bytes in memory order from phase p, read as one word: right whatever the endianness.
    for (let k = 0; k < 4; k++) word[k] = key[(p + k) & 3];
    const w = wordView[0];
    const view = new Uint32Array(b.buffer, b.byteOffset + i, words);
    for (let k = 0; k < words; k++) view[k] ^= w;
    i += words * 4;
  }
  for (; i < to; i++) b[i] ^= key[(phase + i - from) & 3];
}
