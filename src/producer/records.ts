/**
 * Per-record state as struct-of-arrays, for a batch's records and for the wait queue: references in
 * one plain array (`w` per record: record, resolve or callback, reject or CALLBACK, then key and value
 * when waiting) and numbers in a Float64Array (`d` per record: timestamp, or deadline, size and
 * sequence when waiting). A number in a plain array is a 16-byte heap box unless it is a small
 * integer (a timestamp never is); in the Float64Array it costs nothing per record.
 */

/** Marks a record whose "resolve" is a Node-style callback `(err, meta) => void`. */
export const CALLBACK = 1;

export class Records {
  /** Records held: indexes 0 to length − 1. */
  length = 0;
  /** References per record. */
  declare readonly w: number;
  /** Numbers per record. */
  declare readonly d: number;
  declare o: unknown[];
  declare n: Float64Array;

  /** A batch's records: `new Records(3, 1)`; the wait queue's: `new Records(5, 3)`. */
  constructor(w: number, d: number) {
    this.w = w;
    this.d = d;
    this.o = [];
    this.n = new Float64Array(d * 64);
  }

  /** Appends one record (no allocation unless the arrays grow); `key` to `seq` only when d is 3. */
  add(record: unknown, resolve: unknown, reject: unknown, time: number, key?: unknown, value?: unknown, size?: number, seq?: number): void {
    const i = this.length++;
    const o = this.o;
    const j = i * this.w;
    const k = i * this.d;
    if (k >= this.n.length) {
      const n = new Float64Array(this.n.length * 2);
      n.set(this.n);
      this.n = n;
    }
    if (j < o.length) {
      o[j] = record; o[j + 1] = resolve; o[j + 2] = reject;
    } else {
      o.push(record, resolve, reject);
    }
    this.n[k] = time;
    if (this.d > 1) {
      o[j + 3] = key; o[j + 4] = value;
      this.n[k + 1] = size!; this.n[k + 2] = seq!;
    }
  }

  record(i: number): unknown { return this.o[i * this.w]; }
  /** The promise's resolve, the callback (reject is then CALLBACK), or null (produce()). */
  resolve(i: number): unknown { return this.o[i * this.w + 1]; }
  reject(i: number): unknown { return this.o[i * this.w + 2]; }
  key(i: number): unknown { return this.o[i * this.w + 3]; }
  value(i: number): unknown { return this.o[i * this.w + 4]; }
  /** A batch record's timestamp; a waiting record's deadline (maxBlockMs). */
  time(i: number): number { return this.n[i * this.d]; }
  /** A waiting record's bytes, counted against bufferMemory. */
  size(i: number): number { return this.n[i * this.d + 1]; }
  /** A waiting record's number in send order (flush() waits for those before its call). */
  seq(i: number): number { return this.n[i * this.d + 2]; }

  /** Copies record `from` over record `to`. */
  move(from: number, to: number): void {
    const w = this.w, d = this.d;
    this.o.copyWithin(to * w, from * w, from * w + w);
    this.n.copyWithin(to * d, from * d, from * d + d);
  }

  /** Drops the references of records [from, to) (they stay counted in length). */
  drop(from: number, to: number): void {
    this.o.fill(undefined, from * this.w, to * this.w);
  }

  /** Moves records [from, length) down to start at `to` (≤ from), dropping the rest. */
  compact(from: number, to: number): void {
    for (let i = from; i < this.length; i++) this.move(i, to + i - from);
    const n = this.length - from + to;
    this.drop(n, this.length);
    this.length = n;
  }

  /** Empties the records, keeping the arrays for reuse. */
  clear(): void {
    this.compact(this.length, 0);
  }
}
