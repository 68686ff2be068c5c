import { QUEUE_NAMES, queueCatalog, RouteJobPayload, type QueueInput, type QueueName } from "@switchyard/contracts";
import { cleanupPrefix, testPrefix, waitFor } from "@switchyard/testkit";
import { Queue, UnrecoverableError, type Worker } from "bullmq";
import { ZodError } from "zod";
import { RedisKeys } from "./keys";
import { createQueueSet, defineProcessor, type QueueSet } from "./queues";
import { createRedis, type Redis } from "./redis";

const url = process.env.TEST_REDIS_URL ?? process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
let redis: Redis;
beforeAll(() => {
  redis = createRedis(url);
});
afterAll(() => redis.disconnect());

/** Each test gets a prefix of its own, its queue set, and the enqueues it counted; all cleaned up after it. */
interface Fixture {
  keys: RedisKeys;
  queues: QueueSet;
  enqueued: QueueName[];
  /** Closed after the test. */
  closers: Array<() => Promise<unknown>>;
}
let f: Fixture;
beforeEach(() => {
  const keys = new RedisKeys(testPrefix("queues"));
  const enqueued: QueueName[] = [];
  f = { keys, enqueued, queues: createQueueSet({ connection: redis, keys, onEnqueue: (q) => enqueued.push(q) }), closers: [] };
});
afterEach(async () => {
  for (const close of f.closers.reverse()) await close();
  await f.queues.close();
  await cleanupPrefix(f.keys.prefix, url);
});

/** Every key under the fixture's prefix. */
async function keysInRedis(): Promise<string[]> {
  const found: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", `${f.keys.bullPrefix}*`, "COUNT", 1000);
    cursor = next;
    found.push(...batch);
  } while (cursor !== "0");
  return found.sort();
}

/** A worker on the fixture's prefix, closed after the test. */
function worker<Q extends QueueName>(name: Q, fn: Parameters<typeof defineProcessor<Q>>[1]): Worker {
  const connection = redis.duplicate();
  const w = defineProcessor(name, fn, { keys: f.keys, connection });
  f.closers.push(async () => {
    await w.close();
    connection.disconnect();
  });
  return w;
}

/** BullMQ's own queue on the fixture's prefix: to put in a job no producer of ours could add (an older release's, a corrupt one). */
function rawQueue(name: QueueName): Queue {
  const q = new Queue(name, { connection: redis, prefix: f.keys.bullPrefix });
  f.closers.push(() => q.close());
  return q;
}

const route = (id: string): QueueInput<"ai-route"> => ({
  job_id: id,
  tenant_id: "ten_a",
  deployment_id: "dep_a",
  api_key_id: null,
  request: { model: "auto", messages: [{ role: "user", content: "hi" }] },
  created_at: new Date().toISOString(),
});
const index = (doc: string): QueueInput<"ai-index"> => ({ tenant_id: "ten_a", collection: "c", document_id: doc });

describe("adds are validated against the catalog's schema", () => {
  it("refuses a payload that does not parse, naming the problem, and writes nothing to Redis", async () => {
    const bad = { ...route("job_bad"), tenant_id: 42 } as unknown as QueueInput<"ai-route">;
    await expect(f.queues.enqueue("ai-route", bad)).rejects.toThrow(ZodError);
    await expect(f.queues.enqueue("ai-route", bad)).rejects.toThrow(/tenant_id/);
    await expect(
      f.queues.enqueueBulk("ai-index", [
        { payload: index("d1") },
        { payload: { ...index("d2"), document_id: undefined } as unknown as QueueInput<"ai-index"> },
      ]),
    ).rejects.toThrow(ZodError);
    await expect(
      f.queues.enqueueFlow(
        {
          name: "ai-compare",
          payload: { job_id: "p", tenant_id: "t", deployment_id: "d", api_key_id: null, children: [{ model: "m", job_id: "c" }], created_at: "now" },
        },
        [{ name: "ai-route", payload: bad }],
      ),
    ).rejects.toThrow(ZodError);
    await expect(f.queues.schedule("ai-reports", "daily", { every: 60_000 }, { date: "yesterday" })).rejects.toThrow(ZodError);
    // BullMQ's own queues handed to bull-board validate their adds too.
    const board = f.queues.dashboardQueues().find((q) => q.name === "ai-route")!;
    await expect(board.add("ai-route", bad)).rejects.toThrow(ZodError);
    await expect(board.addBulk([{ name: "ai-route", data: bad }])).rejects.toThrow(ZodError);
    await expect(board.upsertJobScheduler("s", { every: 60_000 }, { data: bad })).rejects.toThrow(ZodError);

    expect(await keysInRedis()).toEqual([]);
    expect(f.enqueued).toEqual([]);
  });

  it("adds a valid payload with the queue's retry policy, stored without its defaults; the caller's options win", async () => {
    const payload = route("job_ok");
    const job = await f.queues.enqueue("ai-route", payload, { jobId: "job_ok", priority: 2 });
    expect(job.id).toBe("job_ok");
    const stored = await f.queues.queue("ai-route").getJob("job_ok");
    expect(stored?.opts).toMatchObject({ attempts: 3, backoff: { type: "exponential", delay: 1000 }, priority: 2 });
    expect(stored?.data).not.toHaveProperty("routing");
    expect(stored?.data).not.toHaveProperty("budget");
    expect(RouteJobPayload.parse(stored?.data)).toEqual(RouteJobPayload.parse(payload));

    await f.queues.enqueue("ai-index", index("d0"), { jobId: "own-policy", attempts: 9 });
    expect((await f.queues.queue("ai-index").getJob("own-policy"))?.opts).toMatchObject({ attempts: 9, backoff: queueCatalog["ai-index"].retry.backoff });
    expect(f.enqueued).toEqual(["ai-route", "ai-index"]);
  });

  it("adds a bulk in one go, every job with the catalog's policy", async () => {
    const jobs = await f.queues.enqueueBulk("ai-index", [
      { payload: index("d1"), opts: { jobId: "i1" } },
      { payload: index("d2"), opts: { jobId: "i2" } },
    ]);
    expect(jobs.map((j) => j.id)).toEqual(["i1", "i2"]);
    const q = f.queues.queue("ai-index");
    expect(await q.getJobCounts("waiting")).toEqual({ waiting: 2 });
    for (const id of ["i1", "i2"]) expect((await q.getJob(id))?.opts).toMatchObject({ attempts: 5, backoff: { type: "exponential", delay: 2000 } });
    // The trace carrier holds its default ({}), so it is not stored.
    expect((await q.getJob("i1"))?.data).toEqual({ tenant_id: "ten_a", collection: "c", document_id: "d1" });
    expect(f.enqueued).toEqual(["ai-index", "ai-index"]);
  });

  it("adds a flow: the parent waits for its children, which each carry their own queue's policy", async () => {
    const parent = await f.queues.enqueueFlow(
      {
        name: "ai-compare",
        payload: { job_id: "cmp", tenant_id: "t", deployment_id: "d", api_key_id: null, children: [{ model: "m", job_id: "c1" }], created_at: "now" },
        opts: { jobId: "cmp" },
      },
      [{ name: "ai-route", payload: route("c1"), opts: { jobId: "c1" } }],
    );
    expect(parent.id).toBe("cmp");
    expect(await f.queues.queue("ai-compare").getJobState("cmp")).toBe("waiting-children");
    expect((await f.queues.queue("ai-compare").getJob("cmp"))?.opts).toMatchObject({ attempts: 5 });
    expect((await f.queues.queue("ai-route").getJob("c1"))?.opts).toMatchObject({ attempts: 3, ignoreDependencyOnFailure: true });
    expect(f.enqueued.sort()).toEqual(["ai-compare", "ai-route"]);
  });

  it("schedules a validated template with the catalog's policy; upserting again keeps one scheduler", async () => {
    await f.queues.schedule("ai-housekeeping", "sweep", { every: 3_600_000 }, { task: "stuck_jobs" });
    await f.queues.schedule("ai-housekeeping", "sweep", { every: 3_600_000 }, { task: "stuck_jobs" });
    const q = f.queues.queue("ai-housekeeping");
    expect(await q.getJobSchedulersCount()).toBe(1);
    const s = await q.getJobScheduler("sweep");
    expect(s).toMatchObject({ every: 3_600_000, template: { data: { task: "stuck_jobs" }, opts: { attempts: 1 } } });
    expect(await q.removeJobScheduler("sweep")).toBe(true);
    expect(await q.getJobSchedulersCount()).toBe(0);
  });
});

describe("defineProcessor", () => {
  it("fails a job whose payload does not parse at once (UnrecoverableError, no retries) and hands valid ones over parsed", async () => {
    await rawQueue("ai-index").add("ai-index", { tenant_id: "ten_a", collection: 7 }, { jobId: "poison", attempts: 5 });
    await f.queues.enqueue("ai-index", index("good"), { jobId: "good" });
    const seen: unknown[] = [];
    const failures: Error[] = [];
    const w = worker("ai-index", async (payload) => void seen.push(payload));
    w.on("failed", (_job, err) => failures.push(err));
    const q = f.queues.queue("ai-index");
    await waitFor(
      async () => ((await q.getJobState("poison")) === "failed" && (await q.getJobState("good")) === "completed" ? true : undefined),
      10_000,
      "both jobs to end",
    );
    const poison = await q.getJob("poison");
    expect(poison?.attemptsMade).toBe(1);
    expect(poison?.failedReason).toMatch(/^invalid ai-index payload for job poison: /);
    expect(poison?.failedReason).toMatch(/collection/);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toBeInstanceOf(UnrecoverableError);
    // The processor saw only the valid payload, its defaults put back.
    expect(seen).toEqual([{ ...index("good"), trace: {} }]);
  });
});

describe("typed reads and admin on one queue", () => {
  it("reads states and counts, removes, retries failed jobs and drains", async () => {
    const q = f.queues.queue("ai-alerts");
    expect(q.name).toBe("ai-alerts");
    const alert = (id: string) => ({ alert_id: id, tenant_id: "ten_a", kind: "budget_threshold", body: {} });
    await f.queues.enqueue("ai-alerts", alert("a1"), { jobId: "a1", attempts: 1 });
    await f.queues.enqueue("ai-alerts", alert("a2"), { jobId: "a2" });
    expect(await q.getJobCounts("waiting", "failed")).toEqual({ waiting: 2, failed: 0 });
    expect(await q.getJobCountByTypes("waiting")).toBe(2);
    expect(await q.isPaused()).toBe(false);
    expect((await q.getJobs(["waiting"], 0, 10, true)).map((j) => j.id)).toEqual(["a1", "a2"]);

    expect(await q.remove("a2")).toBe(1);
    expect(await q.getJobState("a2")).toBe("unknown");
    expect(await q.getJob("a2")).toBeUndefined();

    // a1 fails once (one attempt), then succeeds when retried.
    let calls = 0;
    worker("ai-alerts", async () => {
      if (++calls === 1) throw new Error("webhook down");
      return "sent";
    });
    await waitFor(async () => ((await q.getJobState("a1")) === "failed" ? true : undefined), 10_000, "a1 to fail");
    expect(await q.getWorkersCount()).toBe(1);
    await q.retryJobs({ state: "failed" });
    await waitFor(async () => ((await q.getJobState("a1")) === "completed" ? true : undefined), 10_000, "a1 to complete on retry");
    expect(calls).toBe(2);

    const idle = f.queues.queue("ai-reports");
    await f.queues.enqueue("ai-reports", {}, { jobId: "r1" });
    await f.queues.enqueue("ai-reports", {}, { jobId: "r2", delay: 60_000 });
    await idle.drain(true);
    expect(await idle.getJobCounts("waiting", "delayed")).toEqual({ waiting: 0, delayed: 0 });
  });

  it("has no add, and the set no untyped queue by name (the type checker holds the first)", () => {
    const q = f.queues.queue("ai-route");
    // @ts-expect-error: the read/admin handle has no add; adding goes through the validating enqueue calls.
    void q.add;
    expect("get" in f.queues).toBe(false);
  });
});

describe("keys", () => {
  it("BullMQ writes under the prefix's hash tag, in the layout RedisKeys spells", async () => {
    await f.queues.enqueue("ai-route", route("job_k"), { jobId: "job_k" });
    expect(await redis.exists(f.keys.bullJob("ai-route", "job_k"))).toBe(1);
    expect(JSON.parse((await redis.hget(f.keys.bullJob("ai-route", "job_k"), "data"))!)).toMatchObject({ job_id: "job_k" });
    const found = await keysInRedis();
    expect(found.length).toBeGreaterThan(0);
    for (const k of found) expect(k.startsWith(`${f.keys.bullPrefix}:ai-route:`)).toBe(true);
    expect(found).toContain(f.keys.bullQueue("ai-route", "meta"));
  });

  it("bull-board gets every catalog queue, on the set's prefix", () => {
    const board = f.queues.dashboardQueues();
    expect(board.map((q) => q.name)).toEqual(QUEUE_NAMES);
    for (const q of board) expect(q.opts.prefix).toBe(f.keys.bullPrefix);
  });
});
