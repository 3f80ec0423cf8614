/**
 * Kafka error codes by name (Errors.java), for the codes the client branches on. Import as a
 * namespace (`import * as ErrorCode from "./error-codes.ts"`): esbuild inlines each constant, so a
 * name costs no bundle bytes. `test/client/error-code.test.ts` checks each against the error table.
 */
export const UNKNOWN_SERVER_ERROR = -1;
export const NONE = 0;
export const OFFSET_OUT_OF_RANGE = 1;
export const CORRUPT_MESSAGE = 2;
export const UNKNOWN_TOPIC_OR_PARTITION = 3;
export const LEADER_NOT_AVAILABLE = 5;
export const NOT_LEADER_OR_FOLLOWER = 6;
export const REQUEST_TIMED_OUT = 7;
export const REPLICA_NOT_AVAILABLE = 9;
export const MESSAGE_TOO_LARGE = 10;
export const NETWORK_EXCEPTION = 13;
export const COORDINATOR_LOAD_IN_PROGRESS = 14;
export const COORDINATOR_NOT_AVAILABLE = 15;
export const NOT_COORDINATOR = 16;
export const RECORD_LIST_TOO_LARGE = 18;
export const NOT_ENOUGH_REPLICAS = 19;
export const NOT_ENOUGH_REPLICAS_AFTER_APPEND = 20;
export const ILLEGAL_GENERATION = 22;
export const UNKNOWN_MEMBER_ID = 25;
export const REBALANCE_IN_PROGRESS = 27;
export const TOPIC_AUTHORIZATION_FAILED = 29;
export const GROUP_AUTHORIZATION_FAILED = 30;
export const CLUSTER_AUTHORIZATION_FAILED = 31;
export const UNSUPPORTED_SASL_MECHANISM = 33;
export const ILLEGAL_SASL_STATE = 34;
export const UNSUPPORTED_VERSION = 35;
export const NOT_CONTROLLER = 41;
export const OUT_OF_ORDER_SEQUENCE_NUMBER = 45;
export const DUPLICATE_SEQUENCE_NUMBER = 46;
export const INVALID_PRODUCER_EPOCH = 47;
export const INVALID_TXN_STATE = 48;
export const INVALID_PRODUCER_ID_MAPPING = 49;
export const CONCURRENT_TRANSACTIONS = 51;
export const TRANSACTION_COORDINATOR_FENCED = 52;
export const TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53;
export const KAFKA_STORAGE_ERROR = 56;
export const SASL_AUTHENTICATION_FAILED = 58;
export const UNKNOWN_PRODUCER_ID = 59;
export const FENCED_LEADER_EPOCH = 74;
export const UNKNOWN_LEADER_EPOCH = 75;
export const MEMBER_ID_REQUIRED = 79;
export const FENCED_INSTANCE_ID = 82;
export const PRODUCER_FENCED = 90;
export const UNKNOWN_TOPIC_ID = 100;
