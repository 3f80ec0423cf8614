// Assignors: known answers from the scenarios of Java's RangeAssignorTest / RoundRobinAssignorTest
// (clients/src/test/.../consumer/), and seeded property tests: every partition assigned exactly once, only
// subscribed topics, balance, stickiness and the cooperative rule (KIP-429).
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Subscription, TopicPartitions } from "../../src/protocol/consumer-protocol.ts";
import { type Assignor, type GroupAssignment, type GroupMember, compareMembers } from "../../src/consumer/assignors/index.ts";
import { rangeAssignor } from "../../src/consumer/assignors/range.ts";
import { roundRobinAssignor } from "../../src/consumer/assignors/roundrobin.ts";
import { cooperativeStickyAssignor, memberGeneration } from "../../src/consumer/assignors/cooperative-sticky.ts";

function member(memberId: string, topics: string[], opts: { instance?: string; owned?: TopicPartitions[]; generation?: number; userData?: Uint8Array } = {}): GroupMember {
  const subscription: Subscription = { topics, userData: opts.userData ?? null, ownedPartitions: opts.owned ?? [], generationId: opts.generation ?? -1, rackId: null };
  return { memberId, groupInstanceId: opts.instance ?? null, subscription };
}
const counts = (o: Record<string, number>) => new Map(Object.entries(o));
/** "t1-0 t1-1 t2-0" per member, for compact known answers. */
function flat(a: GroupAssignment): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [id, tps] of a) out[id] = tps.flatMap((t) => t.partitions.map((p) => `${t.topic}-${p}`)).join(" ");
  return out;
}

// ---- known answers (Java's test scenarios) ----

test("range: Java's scenarios — one consumer, no or unknown topic, only subscribed topics, mixed subscriptions, 2×(3+3)", () => {
  assert.equal(flat(rangeAssignor.assign([member("consumer1", [])], counts({}))), { consumer1: "" });
  assert.equal(flat(rangeAssignor.assign([member("consumer1", ["topic1"])], counts({}))), { consumer1: "" });
  assert.equal(flat(rangeAssignor.assign([member("consumer1", ["topic1"])], counts({ topic1: 3, other: 3 }))), { consumer1: "topic1-0 topic1-1 topic1-2" });
  assert.equal(flat(rangeAssignor.assign([member("consumer1", ["topic1"]), member("consumer2", ["topic1"])], counts({ topic1: 1 }))), { consumer1: "topic1-0", consumer2: "" });
  assert.equal(flat(rangeAssignor.assign([member("consumer1", ["topic1"]), member("consumer2", ["topic1", "topic2"]), member("consumer3", ["topic1"])], counts({ topic1: 3, topic2: 2 }))),
    { consumer1: "topic1-0", consumer2: "topic1-1 topic2-0 topic2-1", consumer3: "topic1-2" });
  assert.equal(flat(rangeAssignor.assign([member("consumer1", ["topic1", "topic2"]), member("consumer2", ["topic1", "topic2"])], counts({ topic1: 3, topic2: 3 }))),
    { consumer1: "topic1-0 topic1-1 topic2-0 topic2-1", consumer2: "topic1-2 topic2-2" });
});

test("range: static members sort by group.instance.id (consumer-b/instance1 before consumer-a/instance2), and before dynamic members", () => {
  const both = ["topic1", "topic2"];
  assert.equal(flat(rangeAssignor.assign([member("consumer-b", both, { instance: "instance1" }), member("consumer-a", both, { instance: "instance2" })], counts({ topic1: 3, topic2: 3 }))),
    { "consumer-b": "topic1-0 topic1-1 topic2-0 topic2-1", "consumer-a": "topic1-2 topic2-2" });
  assert.equal(flat(rangeAssignor.assign([member("consumer-b", both, { instance: "instance1" }), member("consumer-a", both)], counts({ topic1: 3, topic2: 3 }))),
    { "consumer-b": "topic1-0 topic1-1 topic2-0 topic2-1", "consumer-a": "topic1-2 topic2-2" });
  // testStaticMemberRangeAssignmentPersistent: three static members keep their ranges when the dynamic one is replaced
  const statics = [member("consumer1", both, { instance: "instance1" }), member("consumer2", both, { instance: "instance2" }), member("consumer3", both, { instance: "instance3" })];
  const expected = { consumer1: "topic1-0 topic1-1 topic2-0", consumer2: "topic1-2 topic2-1", consumer3: "topic1-3 topic2-2" };
  assert.equal(flat(rangeAssignor.assign([...statics, member("consumer4", both)], counts({ topic1: 5, topic2: 4 }))), { ...expected, consumer4: "topic1-4 topic2-3" });
  assert.equal(flat(rangeAssignor.assign([...statics, member("consumer5", both)], counts({ topic1: 5, topic2: 4 }))), { ...expected, consumer5: "topic1-4 topic2-3" });
});

test("roundrobin: Java's scenarios — mixed subscriptions skip unsubscribed members, 2×(3+3) alternates across topics, static members by instance id", () => {
  assert.equal(flat(roundRobinAssignor.assign([member("consumer1", ["topic1"]), member("consumer2", ["topic1", "topic2"]), member("consumer3", ["topic1"])], counts({ topic1: 3, topic2: 2 }))),
    { consumer1: "topic1-0", consumer2: "topic1-1 topic2-0 topic2-1", consumer3: "topic1-2" });
  const both = ["topic1", "topic2"];
  assert.equal(flat(roundRobinAssignor.assign([member("consumer1", both), member("consumer2", both)], counts({ topic1: 3, topic2: 3 }))),
    { consumer1: "topic1-0 topic1-2 topic2-1", consumer2: "topic1-1 topic2-0 topic2-2" });
  assert.equal(flat(roundRobinAssignor.assign([member("consumer-b", both, { instance: "instance1" }), member("consumer-a", both, { instance: "instance2" })], counts({ topic1: 3, topic2: 3 }))),
    { "consumer-b": "topic1-0 topic1-2 topic2-1", "consumer-a": "topic1-1 topic2-0 topic2-2" });
  assert.equal(flat(roundRobinAssignor.assign([member("consumer1", ["topic1"]), member("consumer2", ["topic1"])], counts({ topic1: 1 }))), { consumer1: "topic1-0", consumer2: "" });
});

test("MemberInfo order: static before dynamic, instance ids then member ids by UTF-16 code units like String.compareTo", () => {
  const ms = [member("b", []), member("z", [], { instance: "i2" }), member("a", []), member("y", [], { instance: "I1" }), member("\u{1F600}", []), member("\uFFFF", [])];
  assert.equal(ms.sort(compareMembers).map((m) => m.memberId), ["y", "z", "a", "b", "\u{1F600}", "\uFFFF"]);
});

// ---- properties ----

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 4294967296; };
}

function randomGroup(rand: () => number, equal: boolean) {
  const topicCount = 1 + Math.floor(rand() * 4);
  const topics = Array.from({ length: topicCount }, (_, i) => `t${i}`);
  const pc = counts(Object.fromEntries(topics.map((t) => [t, 1 + Math.floor(rand() * 16)])));
  const n = 1 + Math.floor(rand() * 7);
  const members = Array.from({ length: n }, (_, i) => {
    const subs = equal ? topics : topics.filter(() => rand() < 0.6);
    return member(`m-${Math.floor(rand() * 1e6)}-${i}`, subs.length ? subs : [topics[0]], rand() < 0.3 ? { instance: `inst-${i}` } : {});
  });
  return { members, pc };
}

function checkComplete(what: string, members: GroupMember[], pc: Map<string, number>, a: GroupAssignment): Map<string, number> {
  assert.equal([...a.keys()].sort(), members.map((m) => m.memberId).sort(), `${what}: one entry per member`);
  const seen = new Map<string, string>();
  const sizes = new Map<string, number>();
  for (const m of members) {
    let size = 0;
    for (const { topic, partitions } of a.get(m.memberId)!) {
      assert.ok(m.subscription.topics.includes(topic), `${what}: ${m.memberId} got ${topic} it did not subscribe to`);
      for (const p of partitions) {
        const k = `${topic}-${p}`;
        assert.ok(p >= 0 && p < pc.get(topic)!, `${what}: ${k} does not exist`);
        assert.not.ok(seen.has(k), `${what}: ${k} assigned to ${seen.get(k)} and ${m.memberId}`);
        seen.set(k, m.memberId);
        size++;
      }
    }
    sizes.set(m.memberId, size);
  }
  const subscribed = new Set(members.flatMap((m) => m.subscription.topics));
  const total = [...subscribed].reduce((n, t) => n + (pc.get(t) ?? 0), 0);
  assert.is(seen.size, total, `${what}: every partition of a subscribed topic is assigned`);
  return sizes;
}

const spread = (sizes: Map<string, number>) => Math.max(...sizes.values()) - Math.min(...sizes.values());

test("Every assignor, 300 random groups: each partition of a subscribed topic assigned exactly once, only to a subscriber", () => {
  const rand = rng(12);
  for (let i = 0; i < 300; i++) {
    const { members, pc } = randomGroup(rand, rand() < 0.5);
    for (const a of [rangeAssignor, roundRobinAssignor, cooperativeStickyAssignor]) checkComplete(`${a.name} #${i}`, members, pc, a.assign(members, pc));
  }
});

test("roundrobin and cooperative-sticky balance equal subscriptions within 1; sticky with unequal ones leaves no member 2+ below another it could take from", () => {
  const rand = rng(34);
  for (let i = 0; i < 300; i++) {
    const { members, pc } = randomGroup(rand, true);
    for (const a of [roundRobinAssignor, cooperativeStickyAssignor]) assert.ok(spread(checkComplete(`${a.name} #${i}`, members, pc, a.assign(members, pc))) <= 1, `${a.name} #${i}`);
    const un = randomGroup(rand, false);
    const res = cooperativeStickyAssignor.assign(un.members, un.pc);
    const sizes = checkComplete(`sticky unequal #${i}`, un.members, un.pc, res);
    for (const m of un.members) for (const { topic } of res.get(m.memberId)!) for (const o of un.members) {
      if (o.subscription.topics.includes(topic)) assert.ok(sizes.get(o.memberId)! + 1 >= sizes.get(m.memberId)!, `#${i}: ${o.memberId} could take ${topic} from ${m.memberId}`);
    }
  }
});

/** One rebalance as the group would run it: members report what they own (their last assignment) and the next generation. */
function rebalance(a: Assignor, members: GroupMember[], pc: Map<string, number>, prev: GroupAssignment | null, generation: number): GroupAssignment {
  const withOwned = members.map((m) => ({ ...m, subscription: { ...m.subscription, ownedPartitions: prev?.get(m.memberId) ?? [], generationId: prev?.has(m.memberId) ? generation : -1 } }));
  return a.assign(withOwned, pc);
}
const owners = (a: GroupAssignment) => new Map<string, string>([...a].flatMap(([id, tps]) => tps.flatMap((t) => t.partitions.map((p) => [`${t.topic}-${p}`, id] as const))));

test("cooperative-sticky, 200 random groups gaining a member: first only revokes, never hands a revoked partition over in the same rebalance; the second assigns them; minimum moved", () => {
  const rand = rng(56);
  for (let i = 0; i < 200; i++) {
    const { members, pc } = randomGroup(rand, true);
    const before = rebalance(cooperativeStickyAssignor, members, pc, null, 0);
    const joined = [...members, member(`new-${i}`, members[0].subscription.topics)];
    const first = rebalance(cooperativeStickyAssignor, joined, pc, before, 1);
    const was = owners(before), now1 = owners(first);
    for (const [k, id] of now1) assert.ok(!was.has(k) || was.get(k) === id, `#${i}: ${k} moved from ${was.get(k)} to ${id} in one rebalance`);
    const revoked = [...was.keys()].filter((k) => !now1.has(k));
    const total = was.size, minimum = Math.floor(total / joined.length);
    assert.is(revoked.length, minimum, `#${i}: revoked ${revoked.length} of ${total}, the new member needs ${minimum}`);
    const second = rebalance(cooperativeStickyAssignor, joined, pc, first, 2);
    const now2 = owners(second);
    assert.ok(spread(checkComplete(`#${i} second`, joined, pc, second)) <= 1);
    for (const [k, id] of now1) assert.is(now2.get(k), id, `#${i}: ${k} kept across the second rebalance`);
    for (const k of revoked) assert.is(now2.get(k), `new-${i}`, `#${i}: revoked ${k} goes to the new member`);
  }
});

test("cooperative-sticky: whatever members own (random claims, stale generations, double claims), no partition goes to a new owner while another member validly owns it", () => {
  const rand = rng(78);
  for (let i = 0; i < 300; i++) {
    const { members, pc } = randomGroup(rand, rand() < 0.5);
    const claimed = members.map((m) => member(m.memberId, m.subscription.topics, { instance: m.groupInstanceId ?? undefined, generation: 3 + Math.floor(rand() * 2),
      owned: [...pc].filter(() => rand() < 0.7).map(([topic, n]) => ({ topic, partitions: Array.from({ length: n }, (_, p) => p).filter(() => rand() < 0.3).concat(rand() < 0.1 ? [n + 3] : []) })) }));
    const res = cooperativeStickyAssignor.assign(claimed, pc);
    const maxGen = Math.max(...claimed.filter((m) => m.subscription.ownedPartitions.length).map(memberGeneration));
    const claims = new Map<string, string[]>();
    for (const m of claimed) {
      if (memberGeneration(m) !== maxGen) continue;
      for (const { topic, partitions } of m.subscription.ownedPartitions) {
        if (!m.subscription.topics.includes(topic)) continue;
        for (const p of partitions) if (p < pc.get(topic)!) claims.set(`${topic}-${p}`, [...(claims.get(`${topic}-${p}`) ?? []), m.memberId]);
      }
    }
    for (const [k, id] of owners(res)) {
      const c = claims.get(k);
      if (c && c.length === 1) assert.is(id, c[0], `#${i}: ${k} owned by ${c[0]} went to ${id}`);
    }
    // nothing is lost for good: every subscribed partition is assigned or revoked from its single valid owner
    const assigned = owners(res);
    for (const t of new Set(claimed.flatMap((m) => m.subscription.topics))) for (let p = 0; p < pc.get(t)!; p++) {
      const k = `${t}-${p}`;
      assert.ok(assigned.has(k) || claims.get(k)?.length === 1, `#${i}: ${k} neither assigned nor revoked from an owner`);
    }
  }
});

test("cooperative-sticky: a member leaving hands its partitions to the others in one rebalance, and the others keep theirs", () => {
  const pc = counts({ a: 6, b: 3 });
  const ms = ["m1", "m2", "m3"].map((id) => member(id, ["a", "b"]));
  const before = rebalance(cooperativeStickyAssignor, ms, pc, null, 0);
  const after = rebalance(cooperativeStickyAssignor, ms.slice(0, 2), pc, before, 1);
  const was = owners(before), now = owners(after);
  assert.is(now.size, 9);
  for (const [k, id] of was) if (id !== "m3") assert.is(now.get(k), id, `${k} stays`);
  assert.ok(spread(checkComplete("leave", ms.slice(0, 2), pc, after)) <= 1);
});

test("cooperative-sticky: ownership is read from subscription v2 generation_id, else from the int32 user_data it writes; stale claims lose", () => {
  const gen = (g: number) => cooperativeStickyAssignor.subscriptionUserData!(g)!;
  assert.is(memberGeneration(member("x", [], { userData: gen(42) })), 42);
  assert.is(memberGeneration(member("x", [], { userData: gen(42), generation: 7 })), 7);
  assert.is(memberGeneration(member("x", [], { userData: Uint8Array.of(1) })), -1);
  const pc = counts({ t: 2 });
  // both claim t-0 and t-1; only m-new's (generation 5) counts: it keeps t-0, and t-1, bound for m-old, is only revoked this time
  const res = cooperativeStickyAssignor.assign([
    member("m-old", ["t"], { owned: [{ topic: "t", partitions: [0, 1] }], userData: gen(4) }),
    member("m-new", ["t"], { owned: [{ topic: "t", partitions: [0, 1] }], userData: gen(5) }),
  ], pc);
  assert.equal(flat(res), { "m-old": "", "m-new": "t-0" });
});

test("range and roundrobin are EAGER only; cooperative-sticky prefers COOPERATIVE", () => {
  assert.equal([rangeAssignor.supportedProtocols, roundRobinAssignor.supportedProtocols, cooperativeStickyAssignor.supportedProtocols], [["EAGER"], ["EAGER"], ["COOPERATIVE", "EAGER"]]);
});

test.run();
