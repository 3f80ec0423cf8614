/** The `kafkasm/consumer` API, shared by its runtime entries (which add their default transport). */
export { Consumer, setDefaultConsumerTransport } from "./consumer.ts";
export type {
  AssignorName, ConsumerBatch, ConsumerOptions, ConsumerRecord, RebalanceCallback, TopicPartition, TopicPartitionOffset,
} from "./config.ts";
export type { ConsumerBrokerMetrics, ConsumerHooks, ConsumerMetrics, ConsumerPartitionMetrics } from "./metrics.ts";
export type { Assignor, GroupMember, RebalanceProtocol } from "./assignors/index.ts";
export { ClientError, KafkaError, KafkasmError, type ClientErrorCode } from "../errors.ts";
