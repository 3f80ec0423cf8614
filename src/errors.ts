/**
 * One small closed error model. Every error kafkasm raises is a `KafkasmError` with a stable string
 * `code` and a `retriable` flag; errors a broker returned are `KafkaError`s that also carry Kafka's
 * numeric `errorCode` and its protocol name (e.g. 6 / NOT_LEADER_OR_FOLLOWER).
 */

/** Stable codes for failures that do not come from a broker's error code. */
export type ClientErrorCode =
  | "INVALID_CONFIG"          // an option is missing, of the wrong type or out of range
  | "INVALID_RECORD"          // a record the producer cannot send as given (no topic, bad partition…)
  | "RECORD_TOO_LARGE"        // larger than maxRequestSize / batch limits: fails before sending
  | "BUFFER_EXHAUSTED"        // bufferMemory full for longer than maxBlockMs
  | "DELIVERY_TIMEOUT"        // deliveryTimeoutMs passed before an ack
  | "REQUEST_TIMEOUT"         // no response within requestTimeoutMs
  | "PRODUCER_CLOSED"         // the producer was closed before the record could be delivered
  | "CONSUMER_CLOSED"         // the consumer was closed (a call after close())
  | "CONNECTION_ERROR"        // the socket could not be opened or was lost
  | "PROTOCOL_ERROR"          // a broker answer that does not parse, or breaks the protocol
  | "UNSUPPORTED_VERSION"     // no API version both sides support
  | "CORRUPT_RECORD_BATCH"    // a RecordBatch failed magic, length or CRC checks
  | "COMPRESSION_ERROR"       // compressed data that is corrupt, truncated, or too large
  | "WASM_ERROR"              // the WebAssembly codec reported a failure status
  | "INVALID_TXN_STATE"       // a transaction call out of order (beginTransaction twice, commit without begin…)
  | "TRANSACTION_ABORTED"     // the record was not sent: abortTransaction() was called first
  | "ILLEGAL_STATE";          // an internal invariant broke (a batch state change not allowed): a kafkasm bug

/** Base class of everything kafkasm throws or rejects with. */
export class KafkasmError extends Error {
  /** Stable, machine-readable code: a ClientErrorCode or a Kafka error name. */
  readonly code: string;
  /** Whether retrying the same operation may succeed. */
  readonly retriable: boolean;
  constructor(code: string, message: string, options?: { retriable?: boolean; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "KafkasmError";
    this.code = code;
    this.retriable = options?.retriable ?? false;
  }
}

/** A failure the client detected itself (configuration, timeouts, closed producer, bad bytes…). */
export class ClientError extends KafkasmError {
  declare readonly code: ClientErrorCode;
  constructor(code: ClientErrorCode, message: string, options?: { retriable?: boolean; cause?: unknown }) {
    super(code, message, options);
    this.name = "ClientError";
  }
}

/** One row of Kafka's error table (Errors.java). `retriable` = the Java exception is a RetriableException. */
export interface KafkaErrorInfo {
  readonly code: number;
  readonly name: string;
  readonly retriable: boolean;
}

// Every code of Kafka's Errors.java (through 4.1), in order from -1; "r" marks RetriableException subclasses.
const KAFKA_ERRORS_SOURCE =
  "UNKNOWN_SERVER_ERROR,NONE,OFFSET_OUT_OF_RANGE,CORRUPT_MESSAGE r,UNKNOWN_TOPIC_OR_PARTITION r," +
  "INVALID_FETCH_SIZE,LEADER_NOT_AVAILABLE r,NOT_LEADER_OR_FOLLOWER r,REQUEST_TIMED_OUT r,BROKER_NOT_AVAILABLE," +
  "REPLICA_NOT_AVAILABLE r,MESSAGE_TOO_LARGE,STALE_CONTROLLER_EPOCH,OFFSET_METADATA_TOO_LARGE," +
  "NETWORK_EXCEPTION r,COORDINATOR_LOAD_IN_PROGRESS r,COORDINATOR_NOT_AVAILABLE r,NOT_COORDINATOR r," +
  "INVALID_TOPIC_EXCEPTION,RECORD_LIST_TOO_LARGE,NOT_ENOUGH_REPLICAS r,NOT_ENOUGH_REPLICAS_AFTER_APPEND r," +
  "INVALID_REQUIRED_ACKS,ILLEGAL_GENERATION,INCONSISTENT_GROUP_PROTOCOL,INVALID_GROUP_ID,UNKNOWN_MEMBER_ID," +
  "INVALID_SESSION_TIMEOUT,REBALANCE_IN_PROGRESS,INVALID_COMMIT_OFFSET_SIZE,TOPIC_AUTHORIZATION_FAILED," +
  "GROUP_AUTHORIZATION_FAILED,CLUSTER_AUTHORIZATION_FAILED,INVALID_TIMESTAMP,UNSUPPORTED_SASL_MECHANISM," +
  "ILLEGAL_SASL_STATE,UNSUPPORTED_VERSION,TOPIC_ALREADY_EXISTS,INVALID_PARTITIONS,INVALID_REPLICATION_FACTOR," +
  "INVALID_REPLICA_ASSIGNMENT,INVALID_CONFIG,NOT_CONTROLLER r,INVALID_REQUEST,UNSUPPORTED_FOR_MESSAGE_FORMAT," +
  "POLICY_VIOLATION,OUT_OF_ORDER_SEQUENCE_NUMBER,DUPLICATE_SEQUENCE_NUMBER,INVALID_PRODUCER_EPOCH," +
  "INVALID_TXN_STATE,INVALID_PRODUCER_ID_MAPPING,INVALID_TRANSACTION_TIMEOUT,CONCURRENT_TRANSACTIONS r," +
  "TRANSACTION_COORDINATOR_FENCED,TRANSACTIONAL_ID_AUTHORIZATION_FAILED,SECURITY_DISABLED," +
  "OPERATION_NOT_ATTEMPTED,KAFKA_STORAGE_ERROR r,LOG_DIR_NOT_FOUND,SASL_AUTHENTICATION_FAILED," +
  "UNKNOWN_PRODUCER_ID,REASSIGNMENT_IN_PROGRESS,DELEGATION_TOKEN_AUTH_DISABLED,DELEGATION_TOKEN_NOT_FOUND," +
  "DELEGATION_TOKEN_OWNER_MISMATCH,DELEGATION_TOKEN_REQUEST_NOT_ALLOWED,DELEGATION_TOKEN_AUTHORIZATION_FAILED," +
  "DELEGATION_TOKEN_EXPIRED,INVALID_PRINCIPAL_TYPE,NON_EMPTY_GROUP,GROUP_ID_NOT_FOUND," +
  "FETCH_SESSION_ID_NOT_FOUND r,INVALID_FETCH_SESSION_EPOCH r,LISTENER_NOT_FOUND r,TOPIC_DELETION_DISABLED," +
  "FENCED_LEADER_EPOCH r,UNKNOWN_LEADER_EPOCH r,UNSUPPORTED_COMPRESSION_TYPE,STALE_BROKER_EPOCH," +
  "OFFSET_NOT_AVAILABLE r,MEMBER_ID_REQUIRED,PREFERRED_LEADER_NOT_AVAILABLE r,GROUP_MAX_SIZE_REACHED," +
  "FENCED_INSTANCE_ID,ELIGIBLE_LEADERS_NOT_AVAILABLE r,ELECTION_NOT_NEEDED r,NO_REASSIGNMENT_IN_PROGRESS," +
  "GROUP_SUBSCRIBED_TO_TOPIC,INVALID_RECORD,UNSTABLE_OFFSET_COMMIT r,THROTTLING_QUOTA_EXCEEDED r," +
  "PRODUCER_FENCED,RESOURCE_NOT_FOUND,DUPLICATE_RESOURCE,UNACCEPTABLE_CREDENTIAL,INCONSISTENT_VOTER_SET," +
  "INVALID_UPDATE_VERSION,FEATURE_UPDATE_FAILED,PRINCIPAL_DESERIALIZATION_FAILURE,SNAPSHOT_NOT_FOUND," +
  "POSITION_OUT_OF_RANGE,UNKNOWN_TOPIC_ID r,DUPLICATE_BROKER_REGISTRATION,BROKER_ID_NOT_REGISTERED," +
  "INCONSISTENT_TOPIC_ID r,INCONSISTENT_CLUSTER_ID,TRANSACTIONAL_ID_NOT_FOUND,FETCH_SESSION_TOPIC_ID_ERROR r," +
  "INELIGIBLE_REPLICA,NEW_LEADER_ELECTED,OFFSET_MOVED_TO_TIERED_STORAGE,FENCED_MEMBER_EPOCH," +
  "UNRELEASED_INSTANCE_ID,UNSUPPORTED_ASSIGNOR,STALE_MEMBER_EPOCH,MISMATCHED_ENDPOINT_TYPE," +
  "UNSUPPORTED_ENDPOINT_TYPE,UNKNOWN_CONTROLLER_ID,UNKNOWN_SUBSCRIPTION_ID,TELEMETRY_TOO_LARGE," +
  "INVALID_REGISTRATION,TRANSACTION_ABORTABLE,INVALID_RECORD_STATE,SHARE_SESSION_NOT_FOUND r," +
  "INVALID_SHARE_SESSION_EPOCH r,FENCED_STATE_EPOCH,INVALID_VOTER_KEY,DUPLICATE_VOTER,VOTER_NOT_FOUND," +
  "INVALID_REGULAR_EXPRESSION,REBOOTSTRAP_REQUIRED,STREAMS_INVALID_TOPOLOGY,STREAMS_INVALID_TOPOLOGY_EPOCH," +
  "STREAMS_TOPOLOGY_FENCED,SHARE_SESSION_LIMIT_REACHED r";

/**
 * Kafka error codes by name, for the codes the client branches on: `import * as ErrorCode from
 * "./error-codes.ts"` and `ErrorCode.NOT_LEADER_OR_FOLLOWER` (esbuild inlines the constants, so
 * naming a code costs no bundle bytes; a TS enum would not run under Node's type stripping).
 */
export * as ErrorCode from "./error-codes.ts";

/** Kafka's error table, keyed by numeric error code. */
export const KAFKA_ERRORS: ReadonlyMap<number, KafkaErrorInfo> = new Map(
  KAFKA_ERRORS_SOURCE.split(",").map((row, i): [number, KafkaErrorInfo] => {
    const [name, flag] = row.split(" ");
    return [i - 1, Object.freeze({ code: i - 1, name, retriable: flag === "r" })];
  }),
);

/** Looks up an error code; unknown codes get the name `UNKNOWN_ERROR_<code>` and are not retriable. */
export function kafkaErrorInfo(errorCode: number): KafkaErrorInfo {
  return KAFKA_ERRORS.get(errorCode) ?? { code: errorCode, name: `UNKNOWN_ERROR_${errorCode}`, retriable: false };
}

/** An error code a broker returned. `code` is Kafka's error name, `errorCode` its number. */
export class KafkaError extends KafkasmError {
  /** Kafka's numeric error code (e.g. 6). */
  readonly errorCode: number;
  constructor(errorCode: number, message: string, options?: { cause?: unknown }) {
    const info = kafkaErrorInfo(errorCode);
    super(info.name, message, { retriable: info.retriable, cause: options?.cause });
    this.name = "KafkaError";
    this.errorCode = errorCode;
  }
}

/**
 * Builds the KafkaError for a broker error code; `context` says what failed
 * (e.g. `Produce to "events"/3 on broker 1`).
 */
export function kafkaErrorFor(errorCode: number, context?: string): KafkaError {
  const info = kafkaErrorInfo(errorCode);
  const what = `${info.name} (${errorCode})`;
  return new KafkaError(errorCode, context ? `${context}: broker returned ${what}` : `Broker returned ${what}`);
}

/** `e` if kafkasm raised it, else a ClientError `code` saying `action` failed (a bug or a foreign throw, typed all the same). */
export function asKafkasmError(e: unknown, code: ClientErrorCode, action: string, retriable = false): KafkasmError {
  return e instanceof KafkasmError ? e : new ClientError(code, `${action}: ${(e as Error)?.message ?? e}`, { retriable, cause: e });
}
