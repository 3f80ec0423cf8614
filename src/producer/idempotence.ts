/**
 * Idempotent producer state: the ProducerId and epoch from InitProducerId, sequence arithmetic, and
 * re-stamping a built batch with a new epoch/sequence after an epoch bump (KIP-360).
 *
 * Sequences are assigned per partition when a batch is first drained and kept across retries, so a
 * retried batch is the same bytes with the same baseSequence: the broker either appends it or
 * recognises it as a duplicate. After OUT_OF_ORDER_SEQUENCE_NUMBER (a real gap) or
 * UNKNOWN_PRODUCER_ID the producer bumps its epoch (InitProducerId v3+ with its current id and epoch)
 * once nothing is in flight, and every partition starts again at sequence 0; batches waiting to be
 * resent are re-stamped. A broker without InitProducerId v3 hands out a new ProducerId instead.
 */
import { ClientError, type KafkasmError, kafkaErrorFor } from "../errors.ts";
import * as ErrorCode from "../error-codes.ts";
import { InitProducerId, type InitProducerIdRequest } from "../protocol/init-producer-id.ts";
import type { Clock } from "../client/clock.ts";
import type { Brokers } from "../client/brokers.ts";
import { versionFor } from "../client/versions.ts";
import { loadChecks } from "./metadata.ts";

/** Kafka's DefaultRecordBatch.incrementSequence: sequences wrap from 2^31 − 1 to 0. */
export function incrementSequence(sequence: number, increment: number): number {
  return (sequence + increment) % 0x80000000;
}

// RecordBatch v2 header offsets (Kafka's DefaultRecordBatch).
const CRC_OFFSET = 17;
const ATTRIBUTES_OFFSET = 21;
const PRODUCER_ID_OFFSET = 43;
const PRODUCER_EPOCH_OFFSET = 51;
const BASE_SEQUENCE_OFFSET = 53;

/**
 * Rewrites producerId, producerEpoch and baseSequence of a built RecordBatch in place and recomputes
 * its CRC32C (which covers attributes to the end). Only the header changes; records keep their bytes.
 */
export function restampBatch(bytes: Uint8Array, producerId: number, producerEpoch: number, baseSequence: number,
  crc32c: (b: Uint8Array) => number): void {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  dv.setBigInt64(PRODUCER_ID_OFFSET, BigInt(producerId));
  dv.setInt16(PRODUCER_EPOCH_OFFSET, producerEpoch);
  dv.setInt32(BASE_SEQUENCE_OFFSET, baseSequence);
  dv.setUint32(CRC_OFFSET, crc32c(bytes.subarray(ATTRIBUTES_OFFSET)) >>> 0);
}

/** Retriable InitProducerId errors (coordinator moving or loading, concurrent transactions). */
function initRetriable(code: number): boolean {
  return code === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS || code === ErrorCode.COORDINATOR_NOT_AVAILABLE || code === ErrorCode.NOT_COORDINATOR
    || code === ErrorCode.CONCURRENT_TRANSACTIONS || code === ErrorCode.REQUEST_TIMED_OUT;
}

export class ProducerIdState {
  producerId = -1;
  producerEpoch = -1;
  /** Set after a sequence gap or lost producer state; the sender stops and bumps once nothing is in flight. */
  bumpNeeded = false;
  /** A fatal InitProducerId failure (e.g. CLUSTER_AUTHORIZATION_FAILED): every record fails with it.
   *  (`declare`: undefined until then; a bare field definition would cost browser bundle bytes.) */
  declare fatal: KafkasmError | undefined;
  #busy: Promise<void> | null = null;

  get ready(): boolean {
    return this.producerId >= 0 && !this.bumpNeeded;
  }
  get busy(): boolean {
    return this.#busy !== null;
  }

  /** The InitProducerId request, idempotent or transactional: with an id held and v3+, a bump of its epoch (KIP-360). */
  request(transactionalId: string | null, transactionTimeoutMs: number, version: number): InitProducerIdRequest {
    const bump = this.producerId >= 0 && version >= 3;
    return { transactionalId, transactionTimeoutMs, producerId: bump ? this.producerId : -1, producerEpoch: bump ? this.producerEpoch : -1 };
  }

  /** Takes the id and epoch of a successful InitProducerId (or of EndTxn's bump, KIP-890). */
  set(producerId: number, producerEpoch: number): void {
    this.producerId = producerId;
    this.producerEpoch = producerEpoch;
    this.bumpNeeded = false;
  }

  /** Gets a ProducerId, or bumps the epoch of the current one. Retries retriable errors with backoff. */
  run(brokers: Brokers, clock: Clock, backoffMs: number, timeoutMs: number, isClosed: () => boolean): Promise<void> {
    if (this.#busy) return this.#busy;
    this.#busy = (async () => {
      const deadline = clock.now() + timeoutMs;
      let lastError: unknown;
      for (let attempt = 0; !isClosed(); attempt++) {
        try {
          const conn = await brokers.any();
          const version = versionFor(conn, InitProducerId);
          const res = await conn.request(InitProducerId, version, this.request(null, 2147483647, version));
          (await loadChecks()).checkProducerId(res);
          if (res.errorCode === 0) {
            this.set(res.producerId, res.producerEpoch);
            return;
          }
          const err = kafkaErrorFor(res.errorCode, "InitProducerId");
          if (!initRetriable(res.errorCode) && !err.retriable) {
            this.fatal = err;
            return;
          }
          lastError = err;
        } catch (e) {
          lastError = e;
          if (e instanceof ClientError && !e.retriable) {
            this.fatal = e;
            return;
          }
        }
        if (clock.now() >= deadline) break;
        await new Promise<void>((r) => clock.setTimeout(r, Math.min(backoffMs * 2 ** Math.min(attempt, 10), 1000)));
      }
      if (!isClosed() && lastError && this.producerId < 0) {
        // Not fatal: the sender asks again; records meanwhile run into their delivery timeout.
        throw lastError;
      }
    })().finally(() => {
      this.#busy = null;
    });
    return this.#busy;
  }
}
