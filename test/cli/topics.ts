// Topics for the CLI tests: exact partition counts on the mock; on KAFKA_BROKERS a fresh,
// auto-created topic with whatever partition count the cluster gives (the tests adapt to it).
import type { Cluster } from "../harness/cluster.ts";
import { kcatMetadata } from "../harness/kcat.ts";

export async function freshTopic(cluster: Cluster, base: string, partitions: number): Promise<{ name: string; partitions: number }> {
  if (!cluster.external) {
    await cluster.createTopic(base, partitions);
    return { name: base, partitions };
  }
  const name = `kafkasm-test-${base}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const md = await kcatMetadata(cluster.bootstrap, name, { autoCreate: true });
  const count = md.topics.find((t) => t.topic === name)?.partitions.length ?? 0;
  if (count === 0) throw new Error(`Topic ${name} was not auto-created on KAFKA_BROKERS`);
  return { name, partitions: count };
}
