// Child program of real-close.test.ts and real-close-abort.test.ts: produces `count` keyed records
// ("k<i%5>:<i>") to `topic` as a plain, idempotent or transactional producer (one committed
// transaction), closes, prints one JSON line, and then must exit on its own: it never calls
// process.exit. If something keeps it alive, an unref'd timer (which cannot keep it alive itself)
// names the open handles on stderr. With "refuse-first-produce" as the last argument, the broker's
// answer to the first Produce is replaced by INVALID_TXN_STATE for every partition, the answer Kafka
// 3.6.2 gives a Produce it could not verify (see transaction() below).
import { Producer, KafkaError, nodeTransport, type Transport } from "../../src/index.ts";
import { ApiKey } from "../../src/protocol/api.ts";
import { encodeResponseFrame, FrameReader, readRequestHeader, readResponseCorrelationId } from "../../src/protocol/frame.ts";
import { Produce, ProduceServer } from "../../src/protocol/produce.ts";

const [mode, bootstrap, topic, countText, transactionalId, fault] = process.argv.slice(2);
const count = Number(countText);
const started = Date.now();

let refused = false;
/**
 * The Node transport, except that the first Produce request's answer is replaced: the broker appends
 * its batches (in the transaction), the producer is told INVALID_TXN_STATE for every partition. So the
 * abort must hide what was appended, and the next epoch's sequences must not be taken for duplicates.
 */
const refuseFirstProduce: Transport = async (address, handlers) => {
  let replace = -1; // the correlation id whose answer is replaced
  let answer: Uint8Array | undefined;
  const frames = new FrameReader();
  const socket = await nodeTransport(address, {
    onData(chunk) {
      frames.push(chunk, (frame) => {
        if (readResponseCorrelationId(frame) === replace) return handlers.onData(answer!);
        const sized = new Uint8Array(frame.length + 4);
        new DataView(sized.buffer).setInt32(0, frame.length);
        sized.set(frame, 4);
        handlers.onData(sized);
      });
    },
    onClose: (error) => handlers.onClose(error),
  });
  return {
    write(data) {
      // The connection writes one whole frame (int32 size + request) per write.
      const { header, reader } = readRequestHeader(data.subarray(4), (k) => (k === ApiKey.Produce ? Produce : undefined));
      if (header.apiKey === ApiKey.Produce && !refused) {
        refused = true;
        replace = header.correlationId;
        const request = ProduceServer.decodeRequest(reader, header.apiVersion);
        const topics = request.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({ index: p.index, errorCode: 48, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1, recordErrors: [], errorMessage: "Partition was not added to the transaction" })),
        }));
        answer = encodeResponseFrame(ProduceServer, header.apiVersion, header.correlationId, { throttleTimeMs: 0, topics });
      }
      return socket.write(data);
    },
    close: () => socket.close(),
  };
};

const producer = new Producer({
  brokers: bootstrap!.split(","),
  lingerMs: 5,
  ...(mode === "plain" ? { idempotent: false } : {}),
  ...(mode === "transactional" ? { transactionalId } : {}),
  ...(fault === "refuse-first-produce" ? { transport: refuseFirstProduce } : {}),
});
const sends = () => Promise.all(Array.from({ length: count }, (_, i) => producer.send({ topic: topic!, key: `k${i % 5}`, value: `k${i % 5}:${i}` })));

/** Messages of the Produce refusals after which a transaction was aborted and run again. */
const aborted: string[] = [];

/**
 * One committed transaction, run as Kafka's transactional loop runs one: an abortable error →
 * abortTransaction() and the transaction again. Only the answer Kafka 3.6.2 gives a Produce it could
 * not verify (KIP-890: INVALID_TXN_STATE, "Partition was not added to the transaction") is taken for
 * one: 3.6.2 gives it, although AddPartitionsToTxn had succeeded, when the Produce arrives while a
 * freshly auto-created topic's partitions are named in Metadata but not yet hosted by their leader
 * (the verification skips them and their append then finds no verified transaction). Java's
 * producer makes the transaction abortable then too. Any other error, or a third refusal, fails.
 */
async function transaction(): Promise<void> {
  for (;;) {
    producer.beginTransaction();
    try {
      await sends();
      await producer.commitTransaction();
      return;
    } catch (e) {
      if (!(e instanceof KafkaError && e.code === "INVALID_TXN_STATE" && /^Produce to /.test(e.message)) || aborted.length >= 2) throw e;
      aborted.push(e.message);
      await producer.abortTransaction();
    }
  }
}

if (mode === "transactional") {
  await producer.initTransactions();
  await transaction();
} else {
  await sends();
}
await producer.close();
process.stdout.write(JSON.stringify({ closed: true, mode, count, aborted, ms: Date.now() - started }) + "\n");
setTimeout(() => {
  process.stderr.write(`still alive 5 s after close(): ${process.getActiveResourcesInfo().join(", ")}\n`);
}, 5_000).unref();
