// The public surface is small and deliberate: the runtime names every entry exports.
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as pub from "../../src/public.ts";
import * as node from "../../src/index.ts";

const PUBLIC = ["ClientError", "KafkaError", "KafkasmError", "Producer", "brokerUrl", "serializers", "setDefaultTransport", "websocketTransport", "writable"];

test("src/public.ts exports exactly the documented runtime names", () => {
  assert.equal(Object.keys(pub).sort(), PUBLIC);
});

test("the Node entry adds only its transports (plain and TLS); producer.writable and websocketTransport are there", () => {
  assert.equal(Object.keys(node).sort(), [...PUBLIC, "nodeTlsTransport", "nodeTransport"].sort());
  assert.type(node.Producer.prototype.writable, "function");
  assert.type(node.websocketTransport({ url: "ws://127.0.0.1:1/{host}:{port}", WebSocket: class {} as never }), "function");
});

test.run();
