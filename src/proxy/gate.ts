/**
 * The proxy's Kafka-aware request gate (sans-IO): reassembles the client's request frames and lets
 * through only allowed API keys, allowed transactional ids and, when a topic allow-list is set, only
 * allowed topics. Without it, a token holder could send any Kafka request through the proxy:
 * DeleteTopics, CreateTopics, Fetch of every topic, or InitProducerId with another application's
 * transactional id (fencing it).
 *
 * Topics are enforced the way Kafka's own ACLs look to a client: a Metadata request naming a topic
 * outside the list is forwarded without it, and the broker's answer gets that topic back with
 * TOPIC_AUTHORIZATION_FAILED (29, not retriable), so the producer fails those records at once and
 * keeps producing to the allowed topics on the same connection; a Metadata answer for all topics is
 * filtered to the allowed ones (no topic enumeration). A Produce request naming such a topic (which
 * the producer never sends after that Metadata answer) closes the connection.
 *
 * Every request expecting an answer is tracked by correlation id until the broker answers it: a
 * duplicate in-flight id is a protocol violation (it would let a second Metadata answer pass
 * unfiltered), and a broker answer to no request is refused.
 */
import { KafkasmError } from "../errors.ts";
import { isFlexible, type Api } from "../protocol/api.ts";
import * as ApiKey from "../protocol/api-keys.ts";
import { decodeResponseFrame, encodeRequestFrame, encodeResponseFrame, FrameAccumulator, readRequestHeader } from "../protocol/frame.ts";
import { Metadata, MetadataServer, type MetadataRequest, type MetadataTopic } from "../protocol/metadata.ts";
import { Produce, ProduceServer } from "../protocol/produce.ts";
import { InitProducerId, InitProducerIdServer } from "../protocol/init-producer-id.ts";
import { COORDINATOR_TRANSACTION, FindCoordinator, FindCoordinatorServer } from "../protocol/find-coordinator.ts";
import { AddPartitionsToTxn, AddPartitionsToTxnServer } from "../protocol/add-partitions-to-txn.ts";
import { EndTxn, EndTxnServer } from "../protocol/end-txn.ts";
import { Reader, ZERO_UUID } from "../protocol/wire.ts";
import { COORDINATOR_GROUP } from "../protocol/find-coordinator.ts";
import { Fetch, FetchServer } from "../protocol/fetch.ts";
import { ListOffsets, ListOffsetsServer } from "../protocol/list-offsets.ts";
import { OffsetCommit, OffsetCommitServer } from "../protocol/offset-commit.ts";
import { OffsetFetch, OffsetFetchServer } from "../protocol/offset-fetch.ts";
import { JoinGroup, JoinGroupServer } from "../protocol/join-group.ts";
import { SyncGroup, SyncGroupServer } from "../protocol/sync-group.ts";
import { Heartbeat, HeartbeatServer } from "../protocol/heartbeat.ts";
import { LeaveGroup, LeaveGroupServer } from "../protocol/leave-group.ts";
import { CONSUMER_PROTOCOL_TYPE, decodeSubscription } from "../protocol/consumer-protocol.ts";
import * as ErrorCode from "../error-codes.ts";

/** What a producer needs: Produce, Metadata, ApiVersions, InitProducerId and the transaction APIs. */
export const PRODUCER_API_KEYS: readonly number[] = [
  ApiKey.Produce, ApiKey.Metadata, ApiKey.ApiVersions, ApiKey.InitProducerId,
  ApiKey.FindCoordinator, ApiKey.AddPartitionsToTxn, ApiKey.EndTxn,
];

/** What a group consumer needs on top of the producer's keys; they pass only under a `consumer` policy. */
export const CONSUMER_API_KEYS: readonly number[] = [
  ApiKey.Fetch, ApiKey.ListOffsets, ApiKey.OffsetCommit, ApiKey.OffsetFetch, ApiKey.FindCoordinator,
  ApiKey.JoinGroup, ApiKey.SyncGroup, ApiKey.Heartbeat, ApiKey.LeaveGroup,
];

const ADD_OFFSETS_TO_TXN = 25;
const TXN_OFFSET_COMMIT = 28;
/** Largest broker response the gate will hold to rewrite (a Metadata answer for a huge cluster). */
const MAX_REWRITTEN_RESPONSE = 100 * 1024 * 1024;
/** Requests awaiting an answer per connection (the Java producer keeps at most 5 per connection). */
const MAX_IN_FLIGHT = 1000;

export type GateRefusal = {
  reason: "API_NOT_ALLOWED" | "TOPIC_NOT_ALLOWED" | "TRANSACTIONAL_ID_NOT_ALLOWED" | "GROUP_NOT_ALLOWED" | "BAD_REQUEST" | "BAD_RESPONSE";
  detail: string;
};

export interface GatePolicy {
  /** Allowed API keys; undefined = any. */
  apiKeys?: readonly number[];
  /** Allowed topics: exact names, or a prefix ending in "*"; undefined = any. */
  topics?: readonly string[];
  /** Allowed transactional ids: exact, or a prefix ending in "*"; undefined = none (transactional requests are refused). */
  transactionalIds?: readonly string[];
  /**
   * Lets group consumers through (off by default): Fetch, ListOffsets, OffsetCommit, OffsetFetch and
   * the group APIs pass, for group ids matching `groups` and topics matching `topics` (else the
   * gate's `topics`). Exact names or "prefix*".
   */
  consumer?: ConsumerPolicy;
  /** Largest request frame accepted (Kafka's socket.request.max.bytes is 100 MiB). */
  maxRequestSize: number;
  /** [maxTopicsPerRequest=1000] Most topics one Metadata or Produce request may name (checked before decoding them). */
  maxTopicsPerRequest?: number;
  /**
   * Refuse SaslHandshake and SaslAuthenticate whatever `apiKeys` says: the proxy authenticated the
   * broker socket itself, and a client's own exchange (KIP-368 re-authentication) could change its identity.
   */
  refuseSasl?: boolean;
  /** This connection's token's topics (JWT claim): a topic must match both these and `topics`. */
  tokenTopics?: readonly string[];
  /** This connection's token's transactional ids (JWT claim): an id must match both these and `transactionalIds`. */
  tokenTransactionalIds?: readonly string[];
  /** Told, with the clock's `now`, how long each broker answer took from its request's forwarding. */
  onLatency?: (apiKey: number, ms: number) => void;
  now?: () => number;
  /** Told about each Metadata request whose topics were (partly) refused without closing. */
  onTopicsDenied?: (detail: string) => void;
  /** Told about each transactional id the gate answered with TRANSACTIONAL_ID_AUTHORIZATION_FAILED. */
  onTransactionalIdDenied?: (detail: string) => void;
  /** Told about each group id the gate answered with GROUP_AUTHORIZATION_FAILED. */
  onGroupDenied?: (detail: string) => void;
}

export interface ConsumerPolicy {
  /** Group ids consumers may use: exact or "prefix*". */
  groups: readonly string[];
  /** Topics consumers may read and commit: exact or "prefix*". [default: the gate's `topics`] */
  topics?: readonly string[];
}

/** Returns a predicate for names from exact names and "prefix*" patterns. */
export function topicMatcher(patterns: readonly string[]): (topic: string) => boolean {
  const exact = new Set(patterns.filter((p) => !p.endsWith("*")));
  const prefixes = patterns.filter((p) => p.endsWith("*")).map((p) => p.slice(0, -1));
  return (t) => exact.has(t) || prefixes.some((p) => t.startsWith(p));
}

// Header parsing needs only each API's first flexible version; the two APIs kafkasm does not speak get theirs here.
const flexibleFrom: Record<number, { firstFlexibleVersion: number }> = {
  [ApiKey.Produce]: Produce, [ApiKey.Metadata]: Metadata, [ApiKey.InitProducerId]: InitProducerId,
  [ApiKey.FindCoordinator]: FindCoordinator, [ApiKey.AddPartitionsToTxn]: AddPartitionsToTxn, [ApiKey.EndTxn]: EndTxn,
  [ADD_OFFSETS_TO_TXN]: { firstFlexibleVersion: 3 }, [TXN_OFFSET_COMMIT]: { firstFlexibleVersion: 3 },
  [ApiKey.Fetch]: Fetch, [ApiKey.ListOffsets]: ListOffsets, [ApiKey.OffsetCommit]: OffsetCommit, [ApiKey.OffsetFetch]: OffsetFetch,
  [ApiKey.JoinGroup]: JoinGroup, [ApiKey.SyncGroup]: SyncGroup, [ApiKey.Heartbeat]: Heartbeat, [ApiKey.LeaveGroup]: LeaveGroup,
};
const headerApi = (k: number) => flexibleFrom[k] as Api<unknown, unknown> | undefined;
const int32 = (b: Uint8Array, at: number) => ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]);
const quote = (s: string) => JSON.stringify(s.slice(0, 200));

/**
 * A request awaiting its answer; `rewrite` when it is a Metadata answer to filter, `answer` when the
 * gate answers it itself (a refused transactional id), once every earlier request has its answer.
 */
interface InFlight { rewrite?: { version: number; denied: string[] }; answer?: Uint8Array; apiKey?: number; sentAt?: number }

/** Both matchers when both lists are given (the intersection), else the one given. */
function both(a: readonly string[] | undefined, b: readonly string[] | undefined): ((t: string) => boolean) | undefined {
  if (!a || !b) return a ? topicMatcher(a) : b ? topicMatcher(b) : undefined;
  const x = topicMatcher(a), y = topicMatcher(b);
  return (t) => x(t) && y(t);
}

class Refused extends Error {
  constructor(readonly refusal: GateRefusal) { super(refusal.detail); }
}
const refuse = (reason: GateRefusal["reason"], detail: string): never => { throw new Refused({ reason, detail }); };

/** One per connection: feed it the client's bytes (`push`) and the broker's (`pushResponse`). */
export class RequestGate {
  private readonly frames: FrameAccumulator;
  private readonly apiKeys: ReadonlySet<number> | undefined;
  private readonly topicAllowed: ((t: string) => boolean) | undefined;
  private readonly txnAllowed: ((t: string) => boolean) | undefined;
  /** Topics Produce and AddPartitionsToTxn may name. */
  private readonly produceAllowed: ((t: string) => boolean) | undefined;
  /** Set only under a consumer policy. */
  private readonly groupAllowed: ((g: string) => boolean) | undefined;
  /** Topics consumers may read: the consumer policy's, else the gate's. */
  private readonly readAllowed: ((t: string) => boolean) | undefined;
  private readonly maxTopics: number;
  private readonly refuseSasl: boolean;
  private readonly inFlight = new Map<number, InFlight>();
  // Response framing (broker → client).
  private head = new Uint8Array(8);
  private headLen = 0;
  private skip = 0;
  private capture: { rewrite: NonNullable<InFlight["rewrite"]>; parts: Uint8Array[]; remaining: number } | undefined;
  private readonly onTopicsDenied: ((detail: string) => void) | undefined;
  private readonly onTransactionalIdDenied: ((detail: string) => void) | undefined;
  private readonly onGroupDenied: ((detail: string) => void) | undefined;
  private readonly onLatency: ((apiKey: number, ms: number) => void) | undefined;
  private readonly now: (() => number) | undefined;
  /** In-flight entries the gate answers itself. */
  private answers = 0;
  /** Whether push() may answer refused transactional ids (it was given a way to reply). */
  private canAnswer = false;

  constructor(policy: GatePolicy) {
    this.frames = new FrameAccumulator(policy.maxRequestSize);
    const consumer = policy.consumer;
    this.apiKeys = policy.apiKeys ? new Set(consumer ? [...policy.apiKeys, ...CONSUMER_API_KEYS] : policy.apiKeys) : undefined;
    this.groupAllowed = consumer ? topicMatcher(consumer.groups) : undefined;
    this.readAllowed = consumer?.topics ? both(consumer.topics, policy.tokenTopics) : both(policy.topics, policy.tokenTopics);
    // Metadata serves both ends: a consumer's topics must be describable even when producing to them is not allowed.
    const produce = both(policy.topics, policy.tokenTopics), read = this.readAllowed;
    this.topicAllowed = produce && consumer?.topics ? (t) => produce(t) || read!(t) : produce;
    this.produceAllowed = produce;
    // A token's claim narrows the proxy's ids; it cannot grant any when the proxy allows none.
    this.txnAllowed = policy.transactionalIds ? both(policy.transactionalIds, policy.tokenTransactionalIds) : undefined;
    this.onLatency = policy.onLatency;
    this.now = policy.now;
    this.maxTopics = policy.maxTopicsPerRequest ?? 1000;
    this.refuseSasl = policy.refuseSasl === true;
    this.onTopicsDenied = policy.onTopicsDenied;
    this.onTransactionalIdDenied = policy.onTransactionalIdDenied;
    this.onGroupDenied = policy.onGroupDenied;
  }

  /** Requests forwarded and not answered yet. */
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /**
   * Consumes client bytes; calls `forward(sizePrefix, frame)` for each allowed (possibly rewritten)
   * request frame, in order. Returns the first refusal (nothing after it is forwarded; close then).
   * With `reply`, a FindCoordinator or InitProducerId for a transactional id outside the allow-list is
   * answered by the gate with TRANSACTIONAL_ID_AUTHORIZATION_FAILED, as a broker's ACL would (in
   * request order: after the broker's answers to every earlier request); without it, it is refused.
   */
  push(chunk: Uint8Array, forward: (sizePrefix: Uint8Array, frame: Uint8Array) => void, reply?: (response: Uint8Array) => void): GateRefusal | undefined {
    let refusal: GateRefusal | undefined;
    this.canAnswer = reply !== undefined;
    try {
      this.frames.push(chunk, (frame) => {
        if (refusal) return;
        const checked = this.check(frame);
        if ("reason" in checked) { refusal = checked; return; }
        if (checked.answered) {
          if (this.headLen === 0 && this.skip === 0 && !this.capture) this.sendAnswers(reply!);
          return;
        }
        const out = checked.frame;
        const prefix = new Uint8Array(4);
        new DataView(prefix.buffer).setInt32(0, out.length);
        forward(prefix, out);
      });
    } catch (e) {
      refusal ??= { reason: "BAD_REQUEST", detail: e instanceof Error ? e.message : String(e) };
    }
    return refusal;
  }

  /** Sends the gate's own answers that are next in request order (Kafka answers a connection's requests in order). */
  private sendAnswers(emit: (bytes: Uint8Array) => void): void {
    for (const [id, request] of this.inFlight) {
      if (!request.answer) return;
      this.inFlight.delete(id);
      this.answers--;
      emit(request.answer);
    }
  }

  /**
   * Consumes broker bytes; calls `forward` with what the client gets, in order: bytes passed through
   * untouched, and rewritten Metadata answers. Returns a refusal if the broker's bytes do not frame
   * or answer no request in flight.
   */
  pushResponse(chunk: Uint8Array, forward: (bytes: Uint8Array) => void): GateRefusal | undefined {
    let i = 0;
    let passFrom = -1; // start of a pass-through region in this chunk
    const flushPass = (end: number) => {
      if (passFrom >= 0 && end > passFrom) forward(chunk.subarray(passFrom, end));
      passFrom = -1;
    };
    while (i < chunk.length) {
      if (this.answers > 0 && this.headLen === 0 && this.skip === 0 && !this.capture) {
        flushPass(i);
        this.sendAnswers(forward);
      }
      if (this.capture) {
        const c = this.capture;
        const take = Math.min(c.remaining, chunk.length - i);
        c.parts.push(chunk.subarray(i, i + take));
        c.remaining -= take;
        i += take;
        if (c.remaining === 0) {
          this.capture = undefined;
          const refusal = this.rewrite(c.rewrite, c.parts, forward);
          if (refusal) return refusal;
        }
        continue;
      }
      if (this.skip > 0) {
        if (passFrom < 0) passFrom = i;
        const take = Math.min(this.skip, chunk.length - i);
        this.skip -= take;
        i += take;
        continue;
      }
      // A frame starts: hold its size and correlation id back until we know whether to rewrite it.
      flushPass(i);
      const take = Math.min(8 - this.headLen, chunk.length - i);
      this.head.set(chunk.subarray(i, i + take), this.headLen);
      this.headLen += take;
      i += take;
      if (this.headLen < 8) break;
      this.headLen = 0;
      const size = int32(this.head, 0);
      if (size < 4 || size > MAX_REWRITTEN_RESPONSE) {
        return { reason: "BAD_RESPONSE", detail: `broker response frame size ${size} is outside 4..${MAX_REWRITTEN_RESPONSE}` };
      }
      const correlationId = int32(this.head, 4);
      const request = this.inFlight.get(correlationId);
      if (!request) return { reason: "BAD_RESPONSE", detail: `broker response with correlation id ${correlationId} answers no request in flight` };
      this.inFlight.delete(correlationId);
      if (this.onLatency && request.sentAt !== undefined) this.onLatency(request.apiKey!, this.now!() - request.sentAt);
      const rewrite = request.rewrite;
      if (rewrite) {
        this.capture = { rewrite, parts: [this.head.slice(4)], remaining: size - 4 };
        if (this.capture.remaining === 0) {
          this.capture = undefined;
          const refusal = this.rewrite(rewrite, [this.head.slice(4)], forward);
          if (refusal) return refusal;
        }
      } else {
        forward(this.head.slice());
        this.skip = size - 4;
      }
    }
    flushPass(i);
    if (this.answers > 0 && this.headLen === 0 && this.skip === 0 && !this.capture) this.sendAnswers(forward);
    return undefined;
  }

  private rewrite(p: NonNullable<InFlight["rewrite"]>, parts: Uint8Array[], forward: (bytes: Uint8Array) => void): GateRefusal | undefined {
    let frame: Uint8Array;
    if (parts.length === 1) frame = parts[0];
    else {
      frame = new Uint8Array(parts.reduce((n, x) => n + x.length, 0));
      let off = 0;
      for (const x of parts) { frame.set(x, off); off += x.length; }
    }
    try {
      const res = decodeResponseFrame(Metadata, p.version, frame);
      const allowed = this.topicAllowed!;
      const topics: MetadataTopic[] = res.topics.filter((t) => t.name !== null && allowed(t.name));
      for (const name of p.denied) {
        topics.push({ errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, name, topicId: ZERO_UUID, isInternal: false, partitions: [], topicAuthorizedOperations: -2147483648 });
      }
      forward(encodeResponseFrame(MetadataServer, p.version, int32(frame, 0), { ...res, topics }));
      return undefined;
    } catch (e) {
      return { reason: "BAD_RESPONSE", detail: `cannot rewrite a Metadata v${p.version} response: ${e instanceof Error ? e.message : String(e)}` };
    }
  }

  private check(frame: Uint8Array): { frame: Uint8Array; answered?: boolean } | GateRefusal {
    if (frame.length < 8) return { reason: "BAD_REQUEST", detail: `request frame of ${frame.length} bytes is too short for a header` };
    const apiKey = (frame[0] << 8) | frame[1];
    if (this.apiKeys && !this.apiKeys.has(apiKey)) return { reason: "API_NOT_ALLOWED", detail: `API key ${apiKey} is not allowed` };
    if (this.refuseSasl && (apiKey === ApiKey.SaslHandshake || apiKey === ApiKey.SaslAuthenticate)) {
      return { reason: "API_NOT_ALLOWED", detail: `API key ${apiKey} (SASL): the proxy authenticates to the broker itself` };
    }
    const correlationId = int32(frame, 4);
    if (this.inFlight.has(correlationId)) return { reason: "BAD_REQUEST", detail: `correlation id ${correlationId} is already in flight` };
    if (this.inFlight.size >= MAX_IN_FLIGHT) return { reason: "BAD_REQUEST", detail: `over ${MAX_IN_FLIGHT} requests in flight` };
    try {
      const { header, reader } = readRequestHeader(frame, headerApi);
      const out = this.checkBody(apiKey, header.apiVersion, header.correlationId, header.clientId, reader, frame);
      if (out.answer) {
        this.inFlight.set(correlationId, { answer: out.answer });
        this.answers++;
        return { frame, answered: true };
      }
      if (out.expectsResponse) {
        this.inFlight.set(correlationId, this.onLatency ? { rewrite: out.rewrite, apiKey, sentAt: this.now!() } : { rewrite: out.rewrite });
      }
      return { frame: out.frame };
    } catch (e) {
      if (e instanceof Refused) return e.refusal;
      return { reason: "BAD_REQUEST", detail: e instanceof KafkasmError ? e.message : String(e) };
    }
  }

  private transactionalId(api: string, id: string | null): void {
    if (id !== null && !this.txnIdAllowed(id)) refuse("TRANSACTIONAL_ID_NOT_ALLOWED", `${api} with transactional id ${quote(id)} is not allowed`);
  }

  private txnIdAllowed(id: string): boolean {
    return this.txnAllowed !== undefined && this.txnAllowed(id);
  }

  private topicCount(api: string, n: number): void {
    if (n > this.maxTopics) refuse("BAD_REQUEST", `${api} names ${n} topics, over maxTopicsPerRequest ${this.maxTopics}`);
  }

  private checkBody(apiKey: number, v: number, correlationId: number, clientId: string | null, r: Reader, frame: Uint8Array):
    { frame: Uint8Array; expectsResponse: boolean; rewrite?: InFlight["rewrite"]; answer?: Uint8Array } {
    const range = (api: { name: string; minVersion: number; maxVersion: number }) => {
      if (v < api.minVersion || v > api.maxVersion) refuse("BAD_REQUEST", `${api.name} v${v} cannot be checked by the gate (v${api.minVersion}-v${api.maxVersion} can)`);
    };
    const flex = isFlexible(flexibleFrom[apiKey] ?? { firstFlexibleVersion: -1 }, v);
    switch (apiKey) {
      case ApiKey.Produce: {
        // Peek the fields before the topics without decoding records: acks 0 gets no answer.
        const peek = new Reader(r.bytes, r.pos, r.end);
        const transactionalId = v >= 3 ? peek.nullableStr(flex, "transactional_id") : null;
        const acks = peek.int16("acks");
        peek.int32("timeout_ms");
        this.transactionalId("Produce", transactionalId);
        this.topicCount("Produce", peek.arrayLength(flex, "topic_data", 3));
        const allowed = this.produceAllowed;
        if (allowed) {
          range(Produce);
          for (const t of ProduceServer.decodeRequest(r, v).topics) {
            if (!allowed(t.name)) refuse("TOPIC_NOT_ALLOWED", `Produce to topic ${quote(t.name)} is not allowed`);
          }
        }
        return { frame, expectsResponse: acks !== 0 };
      }
      case ApiKey.Metadata:
        return this.checkMetadata(v, correlationId, clientId, r, frame, flex);
      case ApiKey.InitProducerId: {
        range(InitProducerId);
        const id = InitProducerIdServer.decodeRequest(r, v).transactionalId;
        if (id === null || this.txnIdAllowed(id)) return { frame, expectsResponse: true };
        if (!this.canAnswer) this.transactionalId("InitProducerId", id);
        this.onTransactionalIdDenied?.(`InitProducerId with transactional id ${quote(id)} answered with TRANSACTIONAL_ID_AUTHORIZATION_FAILED`);
        return { frame, expectsResponse: true, answer: encodeResponseFrame(InitProducerIdServer, v, correlationId,
          { throttleTimeMs: 0, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, producerId: -1, producerEpoch: -1 }) };
      }
      case ApiKey.FindCoordinator: {
        range(FindCoordinator);
        const req = FindCoordinatorServer.decodeRequest(r, v);
        if (req.keyType === COORDINATOR_GROUP) {
          // Without a consumer policy it passes as before (it only locates a broker).
          const denied = this.groupAllowed ? req.keys.filter((k) => !this.groupAllowed!(k)) : [];
          if (denied.length === 0) return { frame, expectsResponse: true };
          if (!this.canAnswer || denied.length < req.keys.length) this.group("FindCoordinator", denied[0]);
          this.onGroupDenied?.(`FindCoordinator for group ${quote(denied[0])} answered with GROUP_AUTHORIZATION_FAILED`);
          const coordinators = req.keys.map((key) => ({ key: v >= 4 ? key : "", nodeId: -1, host: "", port: -1,
            errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, errorMessage: "Group authorization failed." }));
          return { frame, expectsResponse: true, answer: encodeResponseFrame(FindCoordinatorServer, v, correlationId, { throttleTimeMs: 0, coordinators }) };
        }
        if (req.keyType !== COORDINATOR_TRANSACTION) return { frame, expectsResponse: true };
        const denied = req.keys.filter((k) => !this.txnIdAllowed(k));
        if (denied.length === 0) return { frame, expectsResponse: true };
        // A batch mixing allowed and refused ids would need a merged answer; no producer sends one.
        if (!this.canAnswer || denied.length < req.keys.length) this.transactionalId("FindCoordinator", denied[0]);
        this.onTransactionalIdDenied?.(`FindCoordinator for transactional id ${quote(denied[0])} answered with TRANSACTIONAL_ID_AUTHORIZATION_FAILED`);
        const coordinators = req.keys.map((key) => ({ key: v >= 4 ? key : "", nodeId: -1, host: "", port: -1,
          errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, errorMessage: "Transactional Id authorization failed." }));
        return { frame, expectsResponse: true, answer: encodeResponseFrame(FindCoordinatorServer, v, correlationId, { throttleTimeMs: 0, coordinators }) };
      }
      case ApiKey.AddPartitionsToTxn: {
        range(AddPartitionsToTxn); // v4+ batches transactions for brokers only
        const req = AddPartitionsToTxnServer.decodeRequest(r, v);
        this.transactionalId("AddPartitionsToTxn", req.transactionalId);
        const allowed = this.produceAllowed;
        if (allowed) for (const t of req.topics) if (!allowed(t.name)) refuse("TOPIC_NOT_ALLOWED", `AddPartitionsToTxn for topic ${quote(t.name)} is not allowed`);
        return { frame, expectsResponse: true };
      }
      case ApiKey.EndTxn:
        range(EndTxn);
        this.transactionalId("EndTxn", EndTxnServer.decodeRequest(r, v).transactionalId);
        return { frame, expectsResponse: true };
      case ADD_OFFSETS_TO_TXN:
      case TXN_OFFSET_COMMIT: // both begin with the transactional id
        this.transactionalId(apiKey === ADD_OFFSETS_TO_TXN ? "AddOffsetsToTxn" : "TxnOffsetCommit", r.str(flex, "transactional_id"));
        return { frame, expectsResponse: true };
      case ApiKey.Fetch: {
        range(Fetch);
        const req = FetchServer.decodeRequest(r, v);
        this.consumerClient("Fetch", req.replicaId ?? -1);
        if (this.readAllowed && v >= 13) refuse("TOPIC_NOT_ALLOWED", `Fetch v${v} names topics by id, which cannot be checked against the topic allow-list`);
        this.read("Fetch", req.topics.map((t) => t.topic));
        this.read("Fetch", (req.forgottenTopicsData ?? []).map((t) => t.topic));
        return { frame, expectsResponse: true };
      }
      case ApiKey.ListOffsets: {
        range(ListOffsets);
        const req = ListOffsetsServer.decodeRequest(r, v);
        this.consumerClient("ListOffsets", req.replicaId ?? -1);
        this.read("ListOffsets", req.topics.map((t) => t.name));
        return { frame, expectsResponse: true };
      }
      case ApiKey.OffsetCommit: {
        range(OffsetCommit);
        const req = OffsetCommitServer.decodeRequest(r, v);
        this.group("OffsetCommit", req.groupId);
        this.read("OffsetCommit", req.topics.map((t) => t.name));
        return { frame, expectsResponse: true };
      }
      case ApiKey.OffsetFetch: {
        range(OffsetFetch);
        const req = OffsetFetchServer.decodeRequest(r, v);
        for (const g of req.groups) {
          // Null topics = every topic the group committed: its answer could name topics outside the list.
          if (g.topics === null && this.readAllowed) refuse("TOPIC_NOT_ALLOWED", "OffsetFetch for all of a group's topics cannot be checked against the topic allow-list");
          this.read("OffsetFetch", (g.topics ?? []).map((t) => t.name));
        }
        const denied = this.groupAllowed ? req.groups.filter((g) => !this.groupAllowed!(g.groupId)) : [];
        if (denied.length === 0) return { frame, expectsResponse: true };
        // v0-v1 carry no group error code, and a batch mixing allowed and refused groups needs a merged answer.
        if (!this.canAnswer || v < 2 || denied.length < req.groups.length) this.group("OffsetFetch", denied[0].groupId);
        this.onGroupDenied?.(`OffsetFetch for group ${quote(denied[0].groupId)} answered with GROUP_AUTHORIZATION_FAILED`);
        const groups = req.groups.map((g) => ({ groupId: v >= 8 ? g.groupId : "", topics: [], errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED }));
        return { frame, expectsResponse: true, answer: encodeResponseFrame(OffsetFetchServer, v, correlationId, { throttleTimeMs: 0, groups }) };
      }
      case ApiKey.JoinGroup: {
        range(JoinGroup);
        const req = JoinGroupServer.decodeRequest(r, v);
        if (!this.groupAllowed) return { frame, expectsResponse: true };
        if (this.groupAllowed(req.groupId)) {
          // The subscription names the topics the leader assigns: each must be readable.
          if (req.protocolType !== CONSUMER_PROTOCOL_TYPE) refuse("GROUP_NOT_ALLOWED", `JoinGroup with protocol type ${quote(req.protocolType)} is not allowed (only "consumer")`);
          for (const p of req.protocols) this.read("JoinGroup", decodeSubscription(p.metadata).topics);
          return { frame, expectsResponse: true };
        }
        if (!this.canAnswer) this.group("JoinGroup", req.groupId);
        this.onGroupDenied?.(`JoinGroup for group ${quote(req.groupId)} answered with GROUP_AUTHORIZATION_FAILED`);
        return { frame, expectsResponse: true, answer: encodeResponseFrame(JoinGroupServer, v, correlationId, { throttleTimeMs: 0,
          errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, generationId: -1, protocolType: null, protocolName: null, leader: "", skipAssignment: false, memberId: "", members: [] }) };
      }
      case ApiKey.SyncGroup:
        range(SyncGroup);
        this.group("SyncGroup", SyncGroupServer.decodeRequest(r, v).groupId);
        return { frame, expectsResponse: true };
      case ApiKey.Heartbeat:
        range(Heartbeat);
        this.group("Heartbeat", HeartbeatServer.decodeRequest(r, v).groupId);
        return { frame, expectsResponse: true };
      case ApiKey.LeaveGroup:
        range(LeaveGroup);
        this.group("LeaveGroup", LeaveGroupServer.decodeRequest(r, v).groupId);
        return { frame, expectsResponse: true };
      default:
        return { frame, expectsResponse: true };
    }
  }

  /** Under a consumer policy a group must match its list; without one, group APIs reach the broker only if `apiKeys` lists them. */
  private group(api: string, id: string): void {
    if (this.groupAllowed && !this.groupAllowed(id)) refuse("GROUP_NOT_ALLOWED", `${api} for group ${quote(id)} is not allowed`);
  }

  private read(api: string, topics: readonly string[]): void {
    this.topicCount(api, topics.length);
    const allowed = this.readAllowed;
    if (allowed) for (const t of topics) if (!allowed(t)) refuse("TOPIC_NOT_ALLOWED", `${api} for topic ${quote(t)} is not allowed`);
  }

  /** A replica id ≥ 0 is a follower broker's request (a cluster action, never a client's). */
  private consumerClient(api: string, replicaId: number): void {
    if (replicaId >= 0) refuse("BAD_REQUEST", `${api} with replica id ${replicaId} (a broker's request) is not allowed`);
  }

  private checkMetadata(v: number, correlationId: number, clientId: string | null, r: Reader, frame: Uint8Array, flex: boolean):
    { frame: Uint8Array; expectsResponse: boolean; rewrite?: InFlight["rewrite"] } {
    const allowed = this.topicAllowed;
    const n = r.arrayLength(flex, "topics", v >= 10 ? 18 : 2);
    this.topicCount("Metadata", n);
    if (!allowed) return { frame, expectsResponse: true };
    if (v < Metadata.minVersion || v > Metadata.maxVersion) {
      refuse("BAD_REQUEST", `Metadata v${v} cannot be checked against the topic allow-list (v${Metadata.minVersion}-v${Metadata.maxVersion} can)`);
    }
    // Decoded here rather than by MetadataServer, which drops topic ids: a topic asked for by id cannot be checked.
    let topics: string[] | null = null;
    if (n >= 0) {
      topics = new Array<string>(n);
      for (let i = 0; i < n; i++) {
        const id = v >= 10 ? r.uuid("topic_id") : ZERO_UUID;
        const name = r.nullableStr(flex, "topic name");
        r.tags(flex);
        if (id.some((b) => b !== 0)) refuse("TOPIC_NOT_ALLOWED", "Metadata by topic id cannot be checked against the topic allow-list");
        if (name === null) refuse("BAD_REQUEST", "Metadata names a null topic without a topic id");
        topics[i] = name!;
      }
      if (v === 0 && n === 0) topics = null;
    }
    const request: MetadataRequest = { topics };
    if (v >= 4) request.allowAutoTopicCreation = r.bool("allow_auto_topic_creation");
    if (v >= 8 && v <= 10) request.includeClusterAuthorizedOperations = r.bool("include_cluster_authorized_operations");
    if (v >= 8) request.includeTopicAuthorizedOperations = r.bool("include_topic_authorized_operations");
    r.tags(flex);
    r.expectEnd(`Metadata v${v} request`);
    const all = topics === null;
    const denied = all ? [] : topics!.filter((t) => !allowed(t));
    if (v === 0 && denied.length > 0) {
      // v0 cannot ask for "no topics" (empty means all), so it cannot be rewritten.
      refuse("TOPIC_NOT_ALLOWED", `Metadata v0 for topic ${quote(denied[0])} is not allowed`);
    }
    if (!all && denied.length === 0) return { frame, expectsResponse: true };
    const rewrite = { version: v, denied };
    if (denied.length === 0) return { frame, expectsResponse: true, rewrite }; // all topics: the answer is filtered
    this.onTopicsDenied?.(`Metadata for topic${denied.length > 1 ? "s" : ""} ${denied.slice(0, 5).map(quote).join(", ")} answered with TOPIC_AUTHORIZATION_FAILED`);
    const rewritten: MetadataRequest = { ...request, topics: topics!.filter((t) => allowed(t)) };
    return { frame: encodeRequestFrame(Metadata, v, correlationId, clientId, rewritten).subarray(4), expectsResponse: true, rewrite };
  }
}
