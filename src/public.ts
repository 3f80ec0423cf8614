/**
 * kafkasm's public API, shared by every runtime entry point (`index.ts` for Node/Bun, `deno.ts`,
 * and the browser/workerd entries), which add their default transport. `websocketTransport` works
 * in every runtime with a WHATWG WebSocket (Node 20: pass `ws`'s class); `writable` is also
 * `producer.writable()`.
 */
export { Producer, setDefaultTransport, type CloseOptions } from "./producer/producer.ts";
export type { Acks, PartitionerFunction, ProducerOptions, ProducerRecord, RecordMetadata } from "./producer/config.ts";
export type { BrokerMetrics, PartitionMetrics, ProducerHooks, ProducerMetrics } from "./producer/hooks.ts";
export { serializers, type Serializer } from "./producer/serializers.ts";
export { ClientError, KafkaError, KafkasmError, type ClientErrorCode } from "./errors.ts";
export type { BrokerAddress, Transport, TransportHandlers, TransportSocket } from "./transport/transport.ts";
export type { Clock } from "./client/clock.ts";
export type { CompressionName } from "./compression/codec.ts";
export { writable, type WritableOptions, type WritableRecord } from "./producer/writable.ts";
export {
  brokerUrl, websocketTransport, type BrokerUrl, type WebSocketConstructor, type WebSocketTransportOptions,
} from "./transport/websocket.ts";
