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
