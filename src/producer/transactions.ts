/**
 * Transactions (`transactionalId`): the coordinator found with FindCoordinator, InitProducerId with
 * the transactional id (which fences older instances), AddPartitionsToTxn before the first batch of
 * each partition in a transaction, EndTxn to commit or abort. Records of a transaction are written
 * with the transactional attribute and the Produce request carries the transactional id.
 *
 * States: uninitialized → ready (initTransactions) → inTransaction (beginTransaction) → committing /
 * aborting → ready. A record that finally fails inside a transaction makes it abortable (commit then
 * rejects with that error; abort works). Fencing and authorization errors are fatal.
 */
import { ClientError, KafkaError, KafkasmError, kafkaErrorFor } from "../errors.ts";
import * as ErrorCode from "../error-codes.ts";
import { AddPartitionsToTxn } from "../protocol/add-partitions-to-txn.ts";
import type { Api } from "../protocol/api.ts";
import { EndTxn } from "../protocol/end-txn.ts";
import { COORDINATOR_TRANSACTION, FindCoordinator } from "../protocol/find-coordinator.ts";
import type { InitProducerId } from "../protocol/init-producer-id.ts";
import type { PartitionState } from "./accumulator.ts";
import type { Clock } from "../client/clock.ts";
import type { ResolvedConfig } from "./config.ts";
import type { ProducerIdState } from "./idempotence.ts";
import type { Sender } from "./sender.ts";
import type { Brokers } from "../client/brokers.ts";
import type { versionFor } from "../client/versions.ts";

/**
 * What the manager uses from modules the producer has loaded already. Passed in, not imported: this
 * file is a chunk loaded on demand, and a module it shared with the entry would be split into a
 * third file the browser loads up front (bench/size.ts; test/protocol/bundle.test.ts checks it).
 */
export interface TransactionDeps {
  InitProducerId: typeof InitProducerId;
  versionFor: typeof versionFor;
  /** Producer.flush(). */
  flush(): Promise<void>;
  /** Fails every record waiting for codec, metadata or buffer room with `err`. */
  failWaiting(err: KafkasmError): void;
}

export type TransactionState = "uninitialized" | "initializing" | "ready" | "inTransaction" | "committing" | "aborting" | "fatal";

/** Errors after which this producer can never continue (another instance took over, or not allowed). */
const FATAL = new Set<number>([ErrorCode.INVALID_PRODUCER_EPOCH, ErrorCode.PRODUCER_FENCED, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
  ErrorCode.CLUSTER_AUTHORIZATION_FAILED, ErrorCode.TRANSACTION_COORDINATOR_FENCED, ErrorCode.INVALID_PRODUCER_ID_MAPPING, ErrorCode.UNSUPPORTED_VERSION]);

export class TransactionManager {
  readonly transactionalId: string;
  state: TransactionState = "uninitialized";
  /** Partitions added to the current transaction. */
  readonly added = new Set<PartitionState>();
  /** Why the current transaction can only be aborted. */
  abortableError: KafkasmError | undefined;
  fatalError: KafkasmError | undefined;
  /** A sequenced batch failed for good: the next abort also bumps the epoch (sequences restart at 0). */
  bumpOnAbort = false;
  #pendingAdd = new Set<PartitionState>();
  #adding = false;
  #coordinator = -1;
  #config: ResolvedConfig;
  #timeoutMs: number;
  #brokers: Brokers;
  #clock: Clock;
  #pid: ProducerIdState;
  #sender: Sender;
  #deps: TransactionDeps;

  constructor(transactionalId: string, transactionTimeoutMs: number, config: ResolvedConfig, brokers: Brokers, clock: Clock,
    pid: ProducerIdState, sender: Sender, deps: TransactionDeps) {
    this.transactionalId = transactionalId;
    this.#timeoutMs = transactionTimeoutMs;
    this.#config = config;
    this.#brokers = brokers;
    this.#clock = clock;
    this.#pid = pid;
    this.#sender = sender;
    this.#deps = deps;
  }

  /** Producer.initTransactions() once this chunk is loaded: see there. */
  async initTransactions(): Promise<void> {
    this.require("uninitialized", "initTransactions");
    this.state = "initializing";
    try {
      await this.init();
      this.#sender.resetSequences();
      this.state = "ready";
    } catch (e) {
      if (this.state === "initializing") this.state = "uninitialized";
      throw e;
    }
  }

  /** Producer.beginTransaction(): see there. */
  beginTransaction(): void {
    this.require("ready", "beginTransaction");
    this.state = "inTransaction";
  }

  /** Producer.commitTransaction(): see there. */
  async commitTransaction(): Promise<void> {
    this.require("inTransaction", "commitTransaction");
    this.state = "committing";
    try {
      await this.#deps.flush();
      if (this.fatalError) throw this.fatalError;
      if (this.abortableError) throw this.abortableError;
      if (await this.end(true)) this.#sender.resetSequences();
      this.state = "ready";
    } catch (e) {
      if (this.state === "committing") this.state = "inTransaction"; // abortable: abortTransaction() next
      throw e;
    }
  }

  /** Producer.abortTransaction(): see there. */
  async abortTransaction(): Promise<void> {
    if (this.fatalError) throw this.fatalError;
    if (this.state !== "inTransaction" && this.state !== "committing") this.require("inTransaction", "abortTransaction");
    this.state = "aborting";
    try {
      const err = new ClientError("TRANSACTION_ABORTED", "The record was not sent: its transaction was aborted");
      this.#deps.failWaiting(err);
      this.#sender.failQueued(err);
      for (const b of this.#sender.pendingBatches()) await b.whenDone();
      const bumped = await this.end(false);
      if (this.bumpOnAbort) {
        // A batch failed with its sequence used: start a new epoch so sequences restart at 0.
        await this.init();
        this.bumpOnAbort = false;
        this.#sender.resetSequences();
      } else if (bumped) {
        this.#sender.resetSequences();
      }
      this.state = "ready";
    } catch (e) {
      if (this.state === "aborting") this.state = "inTransaction";
      throw e;
    }
  }

  /** Throws unless the producer is in state `want` (or, for sends, has a transaction open). */
  require(want: TransactionState, action: string): void {
    if (this.fatalError) throw this.fatalError;
    if (this.state !== want) {
      throw new ClientError("INVALID_TXN_STATE", `Cannot ${action}: the transactional producer is ${this.state}${want === "inTransaction" ? "; call beginTransaction() first" : ""}`);
    }
  }

  /** FindCoordinator + InitProducerId with the transactional id; retries until maxBlockMs. */
  async init(): Promise<void> {
    const res = await this.#coordinatorRequest(this.#deps.InitProducerId, (version) => this.#pid.request(this.transactionalId, this.#timeoutMs, version), (r) => {
      // A negative id or epoch without an error is nonsense: retried like a lost answer.
      if (r.errorCode === 0 && (r.producerId < 0 || r.producerEpoch < 0)) throw new ClientError("PROTOCOL_ERROR", `InitProducerId answered ProducerId ${r.producerId}, epoch ${r.producerEpoch} without an error`, { retriable: true });
      return r.errorCode;
    }, "InitProducerId");
    this.#pid.set(res.producerId, res.producerEpoch);
  }

  /** Sender: whether `tp` may be produced to in the current transaction; if not, it is queued for AddPartitionsToTxn. */
  isAdded(tp: PartitionState): boolean {
    if (this.added.has(tp)) return true;
    if (this.state === "inTransaction" || this.state === "committing") this.#pendingAdd.add(tp);
    return false;
  }

  /** Sends one AddPartitionsToTxn for every partition waiting to be added. */
  sendAdds(): void {
    if (this.#adding || this.#pendingAdd.size === 0 || this.fatalError) return;
    const parts = [...this.#pendingAdd];
    this.#pendingAdd.clear();
    this.#adding = true;
    const byTopic = new Map<string, number[]>();
    for (const tp of parts) {
      let l = byTopic.get(tp.topic);
      if (!l) byTopic.set(tp.topic, (l = []));
      l.push(tp.partition);
    }
    this.#coordinatorRequest(AddPartitionsToTxn, () => ({
      transactionalId: this.transactionalId, producerId: this.#pid.producerId, producerEpoch: this.#pid.producerEpoch,
      topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
    }), (r) => {
      // The whole request is retried if any partition has a coordinator-level retriable error.
      for (const t of r.results) for (const p of t.results) if (p.errorCode !== 0) return p.errorCode;
      return 0;
    }, "AddPartitionsToTxn").then(() => {
      for (const tp of parts) this.added.add(tp);
    }, (e: unknown) => {
      const err = e instanceof KafkasmError ? e : new ClientError("CONNECTION_ERROR", String(e), { retriable: true });
      if (!this.fatalError) this.abortableError ??= err;
      this.#failedParts.push(...parts);
    }).finally(() => {
      this.#adding = false;
      this.#sender.wake();
    });
  }

  /** Partitions whose AddPartitionsToTxn failed for good (the sender fails their batches). */
  #failedParts: PartitionState[] = [];
  takeFailedPartitions(): PartitionState[] {
    const f = this.#failedParts;
    if (f.length > 0) this.#failedParts = [];
    return f;
  }

  /**
   * Commits or aborts the transaction on the coordinator (nothing to do if no partition was added).
   * Returns true when the coordinator bumped the epoch (KIP-890): sequences then restart at 0.
   */
  async end(commit: boolean): Promise<boolean> {
    let bumped = false;
    if (this.added.size > 0) {
      const res = await this.#coordinatorRequest(EndTxn, () => ({
        transactionalId: this.transactionalId, producerId: this.#pid.producerId, producerEpoch: this.#pid.producerEpoch, committed: commit,
      }), (r) => r.errorCode, commit ? "EndTxn (commit)" : "EndTxn (abort)");
      // KIP-890 (EndTxn v5+): the coordinator bumped the epoch.
      if (res.producerEpoch >= 0 && res.producerId >= 0 && (res.producerEpoch !== this.#pid.producerEpoch || res.producerId !== this.#pid.producerId)) {
        this.#pid.set(res.producerId, res.producerEpoch);
        bumped = true;
      }
    }
    this.added.clear();
    this.#pendingAdd.clear();
    this.abortableError = undefined;
    return bumped;
  }

  /**
   * Sends a request to the transaction coordinator: finds it first, rediscovers it on
   * NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE or a lost connection, backs off on
   * COORDINATOR_LOAD_IN_PROGRESS / CONCURRENT_TRANSACTIONS, and gives up after maxBlockMs.
   */
  async #coordinatorRequest<Req, Res>(api: Api<Req, Res>, make: (version: number) => Req, errorOf: (res: Res) => number, what: string): Promise<Res> {
    const deadline = this.#clock.now() + this.#config.maxBlockMs;
    let lastError: KafkasmError | undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        if (this.#coordinator < 0) await this.#findCoordinator();
        const conn = await this.#brokers.connect(this.#coordinator);
        const version = this.#deps.versionFor(conn, api);
        const res = await conn.request(api, version, make(version));
        const code = errorOf(res);
        if (code === 0) return res;
        const err = kafkaErrorFor(code, `${what} for transactional id ${JSON.stringify(this.transactionalId)}`);
        if (code === ErrorCode.NOT_COORDINATOR || code === ErrorCode.COORDINATOR_NOT_AVAILABLE) this.#coordinator = -1;
        else if (code !== ErrorCode.COORDINATOR_LOAD_IN_PROGRESS && code !== ErrorCode.CONCURRENT_TRANSACTIONS && !err.retriable) {
          if (FATAL.has(code)) this.#fatal(err);
          throw err;
        }
        lastError = err;
      } catch (e) {
        if (!(e instanceof KafkasmError) || !e.retriable || this.fatalError) throw e;
        if (e.code === "CONNECTION_ERROR" || e.code === "REQUEST_TIMEOUT") this.#coordinator = -1;
        lastError = e;
      }
      if (this.#clock.now() >= deadline) {
        throw new ClientError("DELIVERY_TIMEOUT", `${what} for transactional id ${JSON.stringify(this.transactionalId)} did not succeed within maxBlockMs ${this.#config.maxBlockMs}: ${lastError?.message}`, { cause: lastError });
      }
      const backoff = Math.min(this.#config.retryBackoffMaxMs, this.#config.retryBackoffMs * 2 ** Math.min(attempt, 20));
      await new Promise<void>((r) => this.#clock.setTimeout(r, backoff));
    }
  }

  async #findCoordinator(): Promise<void> {
    const conn = await this.#brokers.any();
    const version = this.#deps.versionFor(conn, FindCoordinator);
    const res = await conn.request(FindCoordinator, version, { keyType: COORDINATOR_TRANSACTION, keys: [this.transactionalId] });
    const c = res.coordinators[0];
    if (!c) throw new ClientError("PROTOCOL_ERROR", "FindCoordinator answered without a coordinator");
    if (c.errorCode !== 0) {
      const err = kafkaErrorFor(c.errorCode, `FindCoordinator for transactional id ${JSON.stringify(this.transactionalId)}`);
      if (FATAL.has(c.errorCode)) this.#fatal(err);
      throw c.errorCode === ErrorCode.COORDINATOR_NOT_AVAILABLE || c.errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS
        ? new KafkaError(c.errorCode, err.message) : err;
    }
    if (c.nodeId < 0 || !(c.port > 0 && c.port < 65536)) throw new ClientError("PROTOCOL_ERROR", `FindCoordinator answered node ${c.nodeId} at port ${c.port} without an error`, { retriable: true });
    this.#brokers.setBrokers([{ nodeId: c.nodeId, host: c.host, port: c.port }]);
    this.#coordinator = c.nodeId;
  }

  #fatal(err: KafkasmError): void {
    this.fatalError ??= err;
    this.state = "fatal";
  }
}
