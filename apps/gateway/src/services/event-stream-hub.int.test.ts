import { createRedis, JobStore, RedisKeys, type Redis } from "@switchyard/queue";
import { cleanupPrefix, testPrefix, TEST_REDIS_URL } from "@switchyard/testkit";
import { EventStreamHub } from "./event-stream-hub";

/** The shared SSE reader against a real Redis: many followers, two connections, notices, resume. */
const prefix = testPrefix("hub");
const keys = new RedisKeys(prefix);
const NAME = `${prefix}-hub-test`;
let redis: Redis;
let store: JobStore;

beforeAll(() => {
  redis = createRedis(TEST_REDIS_URL, { connectionName: NAME });
  store = new JobStore({ redis, keys });
});
afterAll(async () => {
  redis.disconnect();
  await cleanupPrefix(prefix);
});

/** An event and its notice, as the job store's scripts write them (the stream id of the event). */
async function write(jobId: string, event: object): Promise<string> {
  const r = await redis.multi().xadd(keys.events(jobId), "*", "e", JSON.stringify(event)).xadd(keys.eventNotices(), "*", "j", jobId).exec();
  return r![0]![1] as string;
}
const delta = (jobId: string, text: string) => write(jobId, { type: "delta", data: { text } });
const done = (jobId: string) => write(jobId, { type: "error", data: { code: "x", message: "end", reason: "canceled" } });

/** Everything a follower gets until the terminal event (or `limit` events). */
async function collect(hub: EventStreamHub, jobId: string, after = "0", limit = Infinity): Promise<string[]> {
  const ac = new AbortController();
  const out: string[] = [];
  for await (const item of hub.follow(jobId, after, { idleMs: 10_000, signal: ac.signal })) {
    if (item === "idle") continue;
    out.push(item.event.type === "delta" ? item.event.data.text : item.event.type);
    if (item.event.type === "error" || out.length >= limit) break;
  }
  return out;
}

/** Connections Redis has open under this test's client name (the hub's duplicate inherits it). */
async function namedConnections(): Promise<number> {
  const list = (await redis.client("LIST")) as string;
  return list.split("\n").filter((l) => l.includes(` name=${NAME} `)).length;
}

test("60 followers of 12 jobs get exactly their own events, in order, over two extra connections", async () => {
  const hub = new EventStreamHub({ redis, jobStore: store });
  const jobs = Array.from({ length: 12 }, (_, i) => `job_many_${i}`);
  const before = await namedConnections();
  const followers = jobs.flatMap((j) => Array.from({ length: 5 }, () => collect(hub, j)));
  await new Promise((r) => setTimeout(r, 200));
  expect(hub.size).toBe(60);
  expect((await namedConnections()) - before).toBe(2); // the notice tail and the stream reads
  for (let n = 0; n < 20; n++) for (const j of jobs) await delta(j, `${j}:${n}`);
  for (const j of jobs) await done(j);
  const got = await Promise.all(followers);
  got.forEach((events, i) => {
    const j = jobs[Math.floor(i / 5)]!;
    expect(events).toEqual([...Array.from({ length: 20 }, (_, n) => `${j}:${n}`), "error"]);
  });
  expect(hub.size).toBe(0);
  await hub.close();
});

test("a follower that joins while the tail is blocked is served at once from its cursor, then live", async () => {
  const hub = new EventStreamHub({ redis, jobStore: store, blockMs: 20_000 });
  const first = collect(hub, "job_block_a", "0", 1);
  await new Promise((r) => setTimeout(r, 300)); // the tail is now blocked
  await redis.xadd(keys.events("job_block_b"), "*", "e", JSON.stringify({ type: "delta", data: { text: "already there" } })); // no notice: read on joining
  const started = Date.now();
  expect(await collect(hub, "job_block_b", "0", 1)).toEqual(["already there"]);
  expect(Date.now() - started).toBeLessThan(5_000); // not after the 20 s block
  await delta("job_block_a", "late");
  expect(await first).toEqual(["late"]);
  await hub.close();
});

test("a write without a notice is not read for followers already caught up (the cost follows notices)", async () => {
  const hub = new EventStreamHub({ redis, jobStore: store });
  const seen: string[] = [];
  const unsubscribe = hub.subscribe("job_quiet", "0", {
    events: (b) => seen.push(...b.map((e) => (e.event.type === "delta" ? e.event.data.text : e.event.type))),
    error: () => undefined,
  });
  await new Promise((r) => setTimeout(r, 200));
  const reads = hub.stats().streamReads;
  await redis.xadd(keys.events("job_quiet"), "*", "e", JSON.stringify({ type: "delta", data: { text: "silent" } }));
  await new Promise((r) => setTimeout(r, 300));
  expect(seen).toEqual([]);
  expect(hub.stats().streamReads).toBe(reads);
  await delta("job_quiet", "noticed"); // its read picks up the silent one too, in order
  const deadline = Date.now() + 5_000;
  while (seen.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(seen).toEqual(["silent", "noticed"]);
  unsubscribe();
  await hub.close();
});

test("notices trimmed past the tail: the hub notices the gap and re-reads every followed job", async () => {
  const ids = [await delta("job_gap", "g0")];
  const hub2 = new EventStreamHub({ redis, jobStore: store, noticeCount: 5, blockMs: 200 });
  const followed = collect(hub2, "job_gap", ids[0], 2);
  await new Promise((r) => setTimeout(r, 200));
  // Events without their notices, then enough notices for other jobs to fill a read, then the
  // notice stream trimmed to fewer than the tail has not read: only the gap check finds them.
  await redis.xadd(keys.events("job_gap"), "*", "e", JSON.stringify({ type: "delta", data: { text: "g1" } }));
  await redis.xadd(keys.events("job_gap"), "*", "e", JSON.stringify({ type: "delta", data: { text: "g2" } }));
  // One transaction, so the blocked tail wakes to all of it at once.
  const tx = redis.multi();
  for (let i = 0; i < 12; i++) tx.xadd(keys.eventNotices(), "*", "j", `job_other_${i}`);
  await tx.xtrim(keys.eventNotices(), "MAXLEN", 6).exec();
  const timeout = new Promise<string[]>((resolve) => setTimeout(() => resolve(["(nothing within 10 s)"]), 10_000).unref());
  expect(await Promise.race([followed, timeout])).toEqual(["g1", "g2"]);
  expect(hub2.stats().resyncs).toBeGreaterThanOrEqual(1);
  await hub2.close();
});

test("resuming after an event id gives only the later ones; two cursors on one job are served apart", async () => {
  const hub = new EventStreamHub({ redis, jobStore: store });
  const ids = [];
  for (let n = 0; n < 5; n++) ids.push(await delta("job_resume", `r${n}`));
  await done("job_resume");
  const [fromStart, fromThird] = await Promise.all([collect(hub, "job_resume", "0"), collect(hub, "job_resume", ids[2])]);
  expect(fromStart).toEqual(["r0", "r1", "r2", "r3", "r4", "error"]);
  expect(fromThird).toEqual(["r3", "r4", "error"]);
  await hub.close();
});

test("idle followers get 'idle' ticks; aborting one ends it and it leaves the hub", async () => {
  const hub = new EventStreamHub({ redis, jobStore: store });
  const ac = new AbortController();
  const seen: string[] = [];
  const run = (async () => {
    for await (const item of hub.follow("job_idle", "0", { idleMs: 100, signal: ac.signal })) seen.push(item === "idle" ? "idle" : item.event.type);
  })();
  await new Promise((r) => setTimeout(r, 450));
  expect(seen.filter((s) => s === "idle").length).toBeGreaterThanOrEqual(2);
  ac.abort();
  await run;
  expect(hub.size).toBe(0);
  await hub.close();
});
