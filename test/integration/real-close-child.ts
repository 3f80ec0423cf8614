// Child program of real-close.test.ts: produces `count` keyed records ("k<i%5>:<i>") to `topic` as a
// plain, idempotent or transactional producer (one committed transaction), closes, prints one JSON
// line, and then must exit on its own: it never calls process.exit. If something keeps it alive, an
// unref'd timer (which cannot keep it alive itself) names the open handles on stderr.
import { Producer } from "../../src/index.ts";

const [mode, bootstrap, topic, countText, transactionalId] = process.argv.slice(2);
const count = Number(countText);
const started = Date.now();
const producer = new Producer({
  brokers: bootstrap!.split(","),
  lingerMs: 5,
  ...(mode === "plain" ? { idempotent: false } : {}),
  ...(mode === "transactional" ? { transactionalId } : {}),
});
const sends = () => Promise.all(Array.from({ length: count }, (_, i) => producer.send({ topic: topic!, key: `k${i % 5}`, value: `k${i % 5}:${i}` })));
if (mode === "transactional") {
  await producer.initTransactions();
  producer.beginTransaction();
  await sends();
  await producer.commitTransaction();
} else {
  await sends();
}
await producer.close();
process.stdout.write(JSON.stringify({ closed: true, mode, count, ms: Date.now() - started }) + "\n");
setTimeout(() => {
  process.stderr.write(`still alive 5 s after close(): ${process.getActiveResourcesInfo().join(", ")}\n`);
}, 5_000).unref();
