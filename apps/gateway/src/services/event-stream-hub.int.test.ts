import { createRedis, JobStore, RedisKeys, type Redis } from "@switchyard/queue";
import { cleanupPrefix, testPrefix, TEST_REDIS_URL } from "@switchyard/testkit";
import { EventStreamHub } from "./event-stream-hub";

/** The shared SSE reader against a real Redis: many followers, one connection, wake-ups, resume. */
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

const delta = (jobId: string, text: string) => redis.xadd(keys.events(jobId), "*", "e", JSON.stringify({ type: "delta", data: { text } }));
const done = (jobId: string) => redis.xadd(keys.events(jobId), "*", "e", JSON.stringify({ type: "error", data: { code: "x", message: "end", reason: "canceled" } }));

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

test("60 followers of 12 jobs get exactly their own events, in order, over one extra connection", async () => {
  const hub = new EventStreamHub({ redis, keys, jobStore: store });
  const jobs = Array.from({ length: 12 }, (_, i) => `job_many_${i}`);
  const before = await namedConnections();
  const followers = jobs.flatMap((j) => Array.from({ length: 5 }, () => collect(hub, j)));
  await new Promise((r) => setTimeout(r, 200));
  expect(hub.size).toBe(60);
  expect((await namedConnections()) - before).toBe(1);
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

test("a follower that joins while the read is blocked is served at once (woken), not after the block", async () => {
  const hub = new EventStreamHub({ redis, keys, jobStore: store, blockMs: 20_000 });
  const first = collect(hub, "job_block_a", "0", 1);
  await new Promise((r) => setTimeout(r, 300)); // the hub is now blocked on job_block_a alone
  await delta("job_block_b", "already there");
  const started = Date.now();
  expect(await collect(hub, "job_block_b", "0", 1)).toEqual(["already there"]);
  // Without the wake-up this would wait out the 20 s block.
  expect(Date.now() - started).toBeLessThan(5_000);
  await delta("job_block_a", "late");
  expect(await first).toEqual(["late"]);
  await hub.close();
});

test("resuming after an event id gives only the later ones; two cursors on one job are served apart", async () => {
  const hub = new EventStreamHub({ redis, keys, jobStore: store });
  const ids = [];
  for (let n = 0; n < 5; n++) ids.push(await delta("job_resume", `r${n}`));
  await done("job_resume");
  const [fromStart, fromThird] = await Promise.all([collect(hub, "job_resume", "0"), collect(hub, "job_resume", ids[2]!)]);
  expect(fromStart).toEqual(["r0", "r1", "r2", "r3", "r4", "error"]);
  expect(fromThird).toEqual(["r3", "r4", "error"]);
  await hub.close();
});

test("idle followers get 'idle' ticks; aborting one ends it and it leaves the hub", async () => {
  const hub = new EventStreamHub({ redis, keys, jobStore: store });
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
