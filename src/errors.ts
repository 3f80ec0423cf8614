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
  | "CONNECTION_ERROR"        // the socket could not be opened or was lost
  | "PROTOCOL_ERROR"          // a broker answer that does not parse, or breaks the protocol
  | "UNSUPPORTED_VERSION"     // no API version both sides support
  | "CORRUPT_RECORD_BATCH"    // a RecordBatch failed magic, length or CRC checks
  | "COMPRESSION_ERROR"       // compressed data that is corrupt, truncated, or too large
  | "WASM_ERROR";             // the WebAssembly codec reported a failure status

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

// Every code of Kafka's Errors.java (through 4.1), in order; "r" marks RetriableException subclasses.
const KAFKA_ERRORS_SOURCE =
  "-1 UNKNOWN_SERVER_ERROR,0 NONE,1 OFFSET_OUT_OF_RANGE,2 CORRUPT_MESSAGE r,3 UNKNOWN_TOPIC_OR_PARTITION r," +
  "4 INVALID_FETCH_SIZE,5 LEADER_NOT_AVAILABLE r,6 NOT_LEADER_OR_FOLLOWER r,7 REQUEST_TIMED_OUT r," +
  "8 BROKER_NOT_AVAILABLE,9 REPLICA_NOT_AVAILABLE r,10 MESSAGE_TOO_LARGE,11 STALE_CONTROLLER_EPOCH," +
  "12 OFFSET_METADATA_TOO_LARGE,13 NETWORK_EXCEPTION r,14 COORDINATOR_LOAD_IN_PROGRESS r," +
  "15 COORDINATOR_NOT_AVAILABLE r,16 NOT_COORDINATOR r,17 INVALID_TOPIC_EXCEPTION,18 RECORD_LIST_TOO_LARGE," +
  "19 NOT_ENOUGH_REPLICAS r,20 NOT_ENOUGH_REPLICAS_AFTER_APPEND r,21 INVALID_REQUIRED_ACKS,22 ILLEGAL_GENERATION," +
  "23 INCONSISTENT_GROUP_PROTOCOL,24 INVALID_GROUP_ID,25 UNKNOWN_MEMBER_ID,26 INVALID_SESSION_TIMEOUT," +
  "27 REBALANCE_IN_PROGRESS,28 INVALID_COMMIT_OFFSET_SIZE,29 TOPIC_AUTHORIZATION_FAILED," +
  "30 GROUP_AUTHORIZATION_FAILED,31 CLUSTER_AUTHORIZATION_FAILED,32 INVALID_TIMESTAMP," +
  "33 UNSUPPORTED_SASL_MECHANISM,34 ILLEGAL_SASL_STATE,35 UNSUPPORTED_VERSION,36 TOPIC_ALREADY_EXISTS," +
  "37 INVALID_PARTITIONS,38 INVALID_REPLICATION_FACTOR,39 INVALID_REPLICA_ASSIGNMENT,40 INVALID_CONFIG," +
  "41 NOT_CONTROLLER r,42 INVALID_REQUEST,43 UNSUPPORTED_FOR_MESSAGE_FORMAT,44 POLICY_VIOLATION," +
  "45 OUT_OF_ORDER_SEQUENCE_NUMBER,46 DUPLICATE_SEQUENCE_NUMBER,47 INVALID_PRODUCER_EPOCH,48 INVALID_TXN_STATE," +
  "49 INVALID_PRODUCER_ID_MAPPING,50 INVALID_TRANSACTION_TIMEOUT,51 CONCURRENT_TRANSACTIONS r," +
  "52 TRANSACTION_COORDINATOR_FENCED,53 TRANSACTIONAL_ID_AUTHORIZATION_FAILED,54 SECURITY_DISABLED," +
  "55 OPERATION_NOT_ATTEMPTED,56 KAFKA_STORAGE_ERROR r,57 LOG_DIR_NOT_FOUND,58 SASL_AUTHENTICATION_FAILED," +
  "59 UNKNOWN_PRODUCER_ID,60 REASSIGNMENT_IN_PROGRESS,61 DELEGATION_TOKEN_AUTH_DISABLED," +
  "62 DELEGATION_TOKEN_NOT_FOUND,63 DELEGATION_TOKEN_OWNER_MISMATCH,64 DELEGATION_TOKEN_REQUEST_NOT_ALLOWED," +
  "65 DELEGATION_TOKEN_AUTHORIZATION_FAILED,66 DELEGATION_TOKEN_EXPIRED,67 INVALID_PRINCIPAL_TYPE," +
  "68 NON_EMPTY_GROUP,69 GROUP_ID_NOT_FOUND,70 FETCH_SESSION_ID_NOT_FOUND r,71 INVALID_FETCH_SESSION_EPOCH r," +
  "72 LISTENER_NOT_FOUND r,73 TOPIC_DELETION_DISABLED,74 FENCED_LEADER_EPOCH r,75 UNKNOWN_LEADER_EPOCH r," +
  "76 UNSUPPORTED_COMPRESSION_TYPE,77 STALE_BROKER_EPOCH,78 OFFSET_NOT_AVAILABLE r,79 MEMBER_ID_REQUIRED," +
  "80 PREFERRED_LEADER_NOT_AVAILABLE r,81 GROUP_MAX_SIZE_REACHED,82 FENCED_INSTANCE_ID," +
  "83 ELIGIBLE_LEADERS_NOT_AVAILABLE r,84 ELECTION_NOT_NEEDED r,85 NO_REASSIGNMENT_IN_PROGRESS," +
  "86 GROUP_SUBSCRIBED_TO_TOPIC,87 INVALID_RECORD,88 UNSTABLE_OFFSET_COMMIT r,89 THROTTLING_QUOTA_EXCEEDED r," +
  "90 PRODUCER_FENCED,91 RESOURCE_NOT_FOUND,92 DUPLICATE_RESOURCE,93 UNACCEPTABLE_CREDENTIAL," +
  "94 INCONSISTENT_VOTER_SET,95 INVALID_UPDATE_VERSION,96 FEATURE_UPDATE_FAILED," +
  "97 PRINCIPAL_DESERIALIZATION_FAILURE,98 SNAPSHOT_NOT_FOUND,99 POSITION_OUT_OF_RANGE,100 UNKNOWN_TOPIC_ID r," +
  "101 DUPLICATE_BROKER_REGISTRATION,102 BROKER_ID_NOT_REGISTERED,103 INCONSISTENT_TOPIC_ID r," +
  "104 INCONSISTENT_CLUSTER_ID,105 TRANSACTIONAL_ID_NOT_FOUND,106 FETCH_SESSION_TOPIC_ID_ERROR r," +
  "107 INELIGIBLE_REPLICA,108 NEW_LEADER_ELECTED,109 OFFSET_MOVED_TO_TIERED_STORAGE,110 FENCED_MEMBER_EPOCH," +
  "111 UNRELEASED_INSTANCE_ID,112 UNSUPPORTED_ASSIGNOR,113 STALE_MEMBER_EPOCH,114 MISMATCHED_ENDPOINT_TYPE," +
  "115 UNSUPPORTED_ENDPOINT_TYPE,116 UNKNOWN_CONTROLLER_ID,117 UNKNOWN_SUBSCRIPTION_ID,118 TELEMETRY_TOO_LARGE," +
  "119 INVALID_REGISTRATION,120 TRANSACTION_ABORTABLE,121 INVALID_RECORD_STATE,122 SHARE_SESSION_NOT_FOUND r," +
  "123 INVALID_SHARE_SESSION_EPOCH r,124 FENCED_STATE_EPOCH,125 INVALID_VOTER_KEY,126 DUPLICATE_VOTER," +
  "127 VOTER_NOT_FOUND,128 INVALID_REGULAR_EXPRESSION,129 REBOOTSTRAP_REQUIRED,130 STREAMS_INVALID_TOPOLOGY," +
  "131 STREAMS_INVALID_TOPOLOGY_EPOCH,132 STREAMS_TOPOLOGY_FENCED,133 SHARE_SESSION_LIMIT_REACHED r";

/** Kafka's error table, keyed by numeric error code. */
export const KAFKA_ERRORS: ReadonlyMap<number, KafkaErrorInfo> = new Map(
  KAFKA_ERRORS_SOURCE.split(",").map((row): [number, KafkaErrorInfo] => {
    const [code, name, flag] = row.split(" ");
    return [Number(code), Object.freeze({ code: Number(code), name, retriable: flag === "r" })];
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
