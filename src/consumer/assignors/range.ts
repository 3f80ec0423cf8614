/**
 * "range" (Java's RangeAssignor, without its rack awareness): per topic, the members subscribed to it in
 * MemberInfo order each get a contiguous range of n / m partitions, and the first n % m members one more.
 */
import { type Assignor, compareMembers, emptyAssignment, finish } from "./index.ts";

export const rangeAssignor: Assignor = {
  name: "range",
  supportedProtocols: ["EAGER"],
  assign(members, partitionCounts) {
    const out = emptyAssignment(members);
    const topics = new Set(members.flatMap((m) => m.subscription.topics));
    for (const topic of [...topics].sort()) {
      const n = partitionCounts.get(topic);
      if (n === undefined) continue; // no metadata for it: Java skips it too
      const subscribed = members.filter((m) => m.subscription.topics.includes(topic)).sort(compareMembers);
      const per = Math.floor(n / subscribed.length), extra = n % subscribed.length;
      subscribed.forEach((m, i) => {
        const start = per * i + Math.min(i, extra), len = per + (i < extra ? 1 : 0);
        const list = out.get(m.memberId)!;
        for (let p = start; p < start + len; p++) list.push([topic, p]);
      });
    }
    return finish(out);
  },
};
