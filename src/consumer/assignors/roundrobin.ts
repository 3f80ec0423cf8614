/**
 * "roundrobin" (Java's RoundRobinAssignor): every partition of every subscribed topic, topics in name
 * order, dealt in turn to the members in MemberInfo order, skipping members not subscribed to its topic.
 */
import { type Assignor, compareMembers, emptyAssignment, finish } from "./index.ts";

export const roundRobinAssignor: Assignor = {
  name: "roundrobin",
  supportedProtocols: ["EAGER"],
  assign(members, partitionCounts) {
    const out = emptyAssignment(members);
    const sorted = [...members].sort(compareMembers);
    if (sorted.length === 0) return finish(out);
    const topics = [...new Set(members.flatMap((m) => m.subscription.topics))].sort();
    let next = 0; // the circular iterator's position
    for (const topic of topics) {
      const n = partitionCounts.get(topic) ?? 0;
      for (let p = 0; p < n; p++) {
        // someone subscribes to `topic` (it came from a subscription), so this ends within one turn
        while (!sorted[next].subscription.topics.includes(topic)) next = (next + 1) % sorted.length;
        out.get(sorted[next].memberId)!.push([topic, p]);
        next = (next + 1) % sorted.length;
      }
    }
    return finish(out);
  },
};
