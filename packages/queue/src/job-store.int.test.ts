import { JobEvent, queuedJobView, type JobView } from "@switchyard/contracts";
import { cleanupPrefix, testPrefix } from "@switchyard/testkit";
import { JobStore } from "./job-store";
import { LIVE_BUCKET_SIZE } from "./job-store-scripts";
import { RedisKeys } from "./keys";
import { RouteJobPayload } from "@switchyard/contracts";
import { createQueueSet, defineProcessor, KEEP_FINISHED } from "./queues";
import { createRedis, type Redis } from "./redis";

const url = process.env.TEST_REDIS_URL ?? process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const prefix = testPrefix("jobstore");
const keys = new RedisKeys(prefix);
let redis: Redis;
let store: JobStore;

beforeAll(() => {
  redis = createRedis(url);
  store = new JobStore({ redis, keys, retentionSeconds: 60 });
});
afterAll(async () => {
  redis.disconnect();
  await cleanupPrefix(prefix, url);
});

let seq = 0;
const view = (createdAt: number): JobView => queuedJobView(`job_test${String(++seq).padStart(22, "0")}`, "auto", new Date(createdAt), null);

const create = async (createdAt: number, idem?: string) => {
  const v = view(createdAt);
  const r = await store.create({
    view: v,
    tenantId: "ten_a",
    deploymentId: "dep_a",
    apiKeyId: "key_a",
    idempotency: idem ? { key: idem, bodyHash: "h", ttlSeconds: 60 } : undefined,
  });
  expect(r).toEqual({ kind: "created" });
  return v;
};
const failed = (v: JobView): JobView => ({
  ...v,
  status: "failed",
  completed_at: new Date().toISOString(),
  error: { code: "x", message: "x", reason: "provider_error" },
});

describe("JobStore: a waiting job's record", () => {
  it("reads back owner, status and view; the counters read as zero until written", async () => {
    const v = await create(Date.now());
    expect(await store.get(v.id)).toEqual({ view: v, tenantId: "ten_a", deploymentId: "dep_a", apiKeyId: "key_a", status: "queued" });
    // A waiting job's hash stays a listpack (no field past Redis' 64-byte listpack value).
    expect(await redis.object("ENCODING", keys.job(v.id))).toBe("listpack");
    expect(await redis.hmget(keys.job(v.id), "runs", "waits", "deltas")).toEqual([null, null, null]);
    const started = await store.startAttempt(v.id);
    expect(started).toMatchObject({ status: "queued", runs: 0, waits: 0, restarted: false, unbilled: null });
    expect(await store.countWait(v.id)).toBe(1);
    expect(await store.beginRun(v.id, "m", 3)).toEqual({ kind: "ok", run: 1, paid: 0, waits: 1 });
    expect((await store.finish(failed(v), { type: "error", data: { code: "x", message: "x", reason: "provider_error" } })).kind).toBe("finished");
  });

  it("reads a job hash written with the earlier field names", async () => {
    const v = view(Date.now());
    await redis.hset(
      keys.job(v.id),
      "status",
      "queued",
      "tenant_id",
      "ten_old",
      "deployment_id",
      "dep_old",
      "api_key_id",
      "",
      "view",
      JSON.stringify(v),
      "runs",
      0,
      "waits",
      0,
      "deltas",
      0,
    );
    expect(await store.get(v.id)).toEqual({ view: v, tenantId: "ten_old", deploymentId: "dep_old", apiKeyId: null, status: "queued" });
  });
});

describe("JobStore: the live-job index", () => {
  it("lists live jobs created before a time, oldest first, across buckets; an ended job leaves it", async () => {
    const t0 = Date.now() - 60_000;
    const jobs: JobView[] = [];
    for (let i = 0; i < LIVE_BUCKET_SIZE * 2 + 5; i++) jobs.push(await create(t0 + i));
    // Buckets stay small enough for a listpack.
    const n = await redis.get(`${keys.liveJobs()}:open`);
    expect(Number(n)).toBeGreaterThanOrEqual(3);
    expect(await redis.object("ENCODING", `${keys.liveJobs()}:${n}`)).toBe("listpack");
    const before = await store.liveJobsCreatedBefore(t0 + LIVE_BUCKET_SIZE + 10, 10_000);
    expect(before).toEqual(jobs.slice(0, LIVE_BUCKET_SIZE + 11).map((j) => j.id));
    expect(await store.liveJobsCreatedBefore(t0 + 10_000, 7)).toEqual(jobs.slice(0, 7).map((j) => j.id));

    // Every job of the first bucket ends: the bucket and its index entry go.
    const first = jobs.slice(0, LIVE_BUCKET_SIZE);
    for (const j of first)
      expect((await store.finish(failed(j), { type: "error", data: { code: "x", message: "x", reason: "provider_error" } })).kind).toBe("finished");
    const all = await store.liveJobsCreatedBefore(t0 + 10_000, 10_000);
    expect(all).toEqual(jobs.slice(LIVE_BUCKET_SIZE).map((j) => j.id));
    expect(await redis.zrange(`${keys.liveJobs()}:buckets`, 0, -1)).not.toContain("1");

    // A job whose hash is gone is dropped by id; a discarded one leaves with its hash.
    const gone = jobs[LIVE_BUCKET_SIZE]!;
    await redis.del(keys.job(gone.id));
    await store.forgetLive(gone.id);
    const discarded = jobs[LIVE_BUCKET_SIZE + 1]!;
    await store.discard(discarded.id, "ten_a");
    expect(await redis.exists(keys.job(discarded.id))).toBe(0);
    const left = await store.liveJobsCreatedBefore(t0 + 10_000, 10_000);
    expect(left).toEqual(jobs.slice(LIVE_BUCKET_SIZE + 2).map((j) => j.id));
    for (const j of jobs.slice(LIVE_BUCKET_SIZE + 2))
      await store.finish(failed(j), { type: "error", data: { code: "x", message: "x", reason: "provider_error" } });
    expect(await store.liveJobsCreatedBefore(Date.now(), 10_000)).toEqual([]);
  });

  it("still lists and removes jobs indexed before the buckets (the one sorted set)", async () => {
    const v = view(Date.now() - 30_000);
    await redis.hset(keys.job(v.id), "status", "queued", "tenant_id", "ten_old", "deployment_id", "dep_old", "api_key_id", "", "view", JSON.stringify(v));
    await redis.zadd(keys.liveJobs(), Date.parse(v.created_at), v.id);
    expect(await store.liveJobsCreatedBefore(Date.now(), 10)).toContain(v.id);
    await store.finish(failed(v), { type: "error", data: { code: "x", message: "x", reason: "provider_error" } });
    expect(await store.liveJobsCreatedBefore(Date.now(), 10)).not.toContain(v.id);
  });

  it("discards a job with its idempotency claim, so the key can be used again", async () => {
    const v = await create(Date.now(), "idem-1");
    expect(await store.lookupIdempotency("ten_a", "idem-1")).toEqual({ jobId: v.id, bodyHash: "h" });
    await store.discard(v.id, "ten_a", "idem-1");
    expect(await store.lookupIdempotency("ten_a", "idem-1")).toBeNull();
    expect(await store.liveJobsCreatedBefore(Date.now(), 10_000)).not.toContain(v.id);
  });
});

describe("queue set: finished-job retention", () => {
  it("is the workers' setting, not stored in each enqueued job", async () => {
    const conn = createRedis(url);
    const queues = createQueueSet({ connection: conn, keys });
    try {
      const job = await queues.enqueue("ai-usage", usageEvent(), { jobId: "u-retention-1" });
      const opts = JSON.parse((await redis.hget(keys.bullJob("ai-usage", job.id!), "opts")) ?? "{}");
      expect(opts.removeOnComplete).toBeUndefined();
      expect(opts.removeOnFail).toBeUndefined();
      expect(opts.attempts).toBeGreaterThan(0);
      const worker = defineProcessor("ai-usage", async () => "ok", { keys, connection: conn, autorun: false });
      expect(worker.opts.removeOnComplete).toEqual(KEEP_FINISHED.removeOnComplete);
      expect(worker.opts.removeOnFail).toEqual(KEEP_FINISHED.removeOnFail);
      const explicit = defineProcessor("ai-usage", async () => "ok", { keys, connection: conn, autorun: false, removeOnComplete: { count: 1 } });
      expect(explicit.opts.removeOnComplete).toEqual({ count: 1 });
      await worker.close();
      await explicit.close();
    } finally {
      await queues.close();
      conn.disconnect();
    }
  });
});

describe("queue set: stored payloads", () => {
  it("leave out top-level fields that hold their schema default; the consumer's parse restores them", async () => {
    const conn = createRedis(url);
    const queues = createQueueSet({ connection: conn, keys });
    const route = (id: string, routing?: object) => ({
      job_id: id,
      tenant_id: "ten_a",
      deployment_id: "dep_a",
      api_key_id: null,
      request: { model: "auto", messages: [{ role: "user" as const, content: "hi" }] },
      created_at: new Date().toISOString(),
      trace: {},
      ...(routing ? { routing } : {}),
    });
    try {
      const plain = RouteJobPayload.parse(route("job_stored_1"));
      await queues.enqueue("ai-route", plain, { jobId: "job_stored_1" });
      const stored = JSON.parse((await redis.hget(keys.bullJob("ai-route", "job_stored_1"), "data"))!);
      expect(stored.routing).toBeUndefined();
      expect(stored.budget).toBeUndefined();
      expect(stored.request).toEqual({ messages: [{ role: "user", content: "hi" }] });
      expect(RouteJobPayload.parse(stored)).toEqual(plain);
      expect(RouteJobPayload.parse(await new JobStore({ redis, keys }).payload("job_stored_1"))).toEqual(plain);

      const custom = RouteJobPayload.parse({
        ...route("job_stored_2", { smart_routing: false, vision_enabled: true, model_preference: null, allowed_models: ["m"], budget_used_ratio: 0.5 }),
        budget: { scopes: [], credits_tenant_id: null, reserved_usd: 0.25, reserved_tokens: 0 },
      });
      await queues.enqueue("ai-route", custom, { jobId: "job_stored_2" });
      const stored2 = JSON.parse((await redis.hget(keys.bullJob("ai-route", "job_stored_2"), "data"))!);
      // Only the fields that differ from their defaults, nested ones too.
      expect(stored2.routing).toEqual({ smart_routing: false, allowed_models: ["m"], budget_used_ratio: 0.5 });
      expect(stored2.budget).toEqual({ reserved_usd: 0.25 });
      expect(RouteJobPayload.parse(stored2)).toEqual(custom);

      // The worker's processor receives the whole payload, defaults included.
      let got: unknown = null;
      const wconn = conn.duplicate();
      const worker = defineProcessor(
        "ai-route",
        async (p) => {
          got = p;
          return "ok";
        },
        { keys, connection: wconn },
      );
      const deadline = Date.now() + 10_000;
      while (got === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await worker.close();
      wconn.disconnect();
      expect([plain, custom]).toContainEqual(got);
    } finally {
      await queues.queue("ai-route").obliterate({ force: true });
      await queues.close();
      conn.disconnect();
    }
  });
});

function usageEvent() {
  return {
    job_id: "job_retention",
    attempt: 1,
    tenant_id: "ten_a",
    deployment_id: "dep_a",
    api_key_id: null,
    requested_model: "auto",
    served_model: "m",
    provider: "simulated",
    status: "succeeded" as const,
    input_tokens: 1,
    output_tokens: 1,
    cached_tokens: 0,
    cost_usd: 0,
    provenance: "estimated" as const,
    ttft_ms: null,
    latency_ms: 1,
    fallbacks: 0,
    features: [],
    rag: null,
    occurred_at: new Date().toISOString(),
    credits_tenant_id: null,
    job: null,
  };
}

describe("JobStore: a run's `running` status sent before BEGIN_RUN's reply", () => {
  it("is written only when the run it names is the one open; the attempt's start reports paid runs", async () => {
    const v = await create(Date.now());
    const start = await store.startAttempt(v.id);
    expect(start).toMatchObject({ runs: 0, paid: 0 });
    const running = { ...v, status: "running" as const };
    const ev = (attempt: number) => ({ type: "status" as const, data: { status: "running" as const, attempt, waits: 0, served_model: "m" } });
    // Sent together, in order: BEGIN_RUN opens run 1, so `running` for run 1 is written.
    const [begun, written] = await Promise.all([store.beginRun(v.id, "m", 3), store.transition(running, ev(1), { run: 1 })]);
    expect(begun).toMatchObject({ kind: "ok", run: 1 });
    expect(written).not.toBeNull();
    // One naming another run than the open one is refused and writes nothing.
    const len = await redis.xlen(keys.events(v.id));
    expect(await store.transition(running, ev(2), { run: 2 })).toBeNull();
    expect(await redis.xlen(keys.events(v.id))).toBe(len);
    // A delta counts the run as paid; the next attempt's start reports it.
    await store.append(v.id, { type: "delta", data: { text: "x" } });
    expect(await store.startAttempt(v.id)).toMatchObject({ runs: 1, paid: 1 });
    await store.finish(failed(v), { type: "error", data: { code: "x", message: "x", reason: "provider_error" } });
  });
});

describe("JobStore: a comparison's children", () => {
  const child = (id: string, model: string): JobView => queuedJobView(id, model, new Date(), null);
  const createAs = async (id: string, model: string) => {
    const v = child(id, model);
    expect(await store.create({ view: v, tenantId: "ten_a", deploymentId: "dep_a", apiKeyId: null })).toEqual({ kind: "created" });
    return v;
  };
  const events = async (jobId: string) => (await redis.xrange(keys.events(jobId), "-", "+")).map(([, f]) => JobEvent.parse(JSON.parse(f[1]!)));
  const noticesFor = async (jobId: string) => (await redis.xrange(keys.eventNotices(), "-", "+")).filter(([, f]) => f[1] === jobId).length;

  it("a child's events are copied to its parent's stream with its model and id, in order; its end is a tagged status there", async () => {
    const parentId = `job_cmp${String(++seq).padStart(20, "0")}`;
    const a = child(`${parentId}c0`, "model-a");
    const b = child(`${parentId}c1`, "model-b");
    await createAs(parentId, "compare");
    await createAs(a.id, a.model);
    await createAs(b.id, b.model);
    await store.linkChildren(parentId, [
      { model: "model-a", job_id: a.id },
      { model: "model-b", job_id: b.id },
    ]);

    await store.transition({ ...a, status: "running" }, { type: "status", data: { status: "running", attempt: 1, served_model: "model-a" } });
    await store.append(a.id, { type: "delta", data: { text: "Hel" } });
    await store.append(b.id, { type: "delta", data: { text: "Bon" } });
    await store.append(a.id, { type: "restart", data: { reason: "stall_retry" } });
    await store.append(a.id, { type: "delta", data: { text: 'Hello "there"' } });
    const usage = { input_tokens: 1, output_tokens: 2, cost_usd: 0.5, provenance: "reported" };
    const doneA: JobView = {
      ...a,
      status: "succeeded",
      completed_at: new Date().toISOString(),
      output: { text: "Hello", citations: [], finish_reason: "stop" },
    };
    expect((await store.finish(doneA, { type: "done", data: { job: doneA } }, undefined, { type: "usage", data: usage })).kind).toBe("finished");
    const failB: JobView = {
      ...b,
      status: "failed",
      completed_at: new Date().toISOString(),
      error: { code: "provider_error", message: 'bad "request" / 400', reason: "provider_error" },
    };
    await store.finish(failB, { type: "error", data: { code: "provider_error", message: 'bad "request" / 400', reason: "provider_error" } });

    // The children's own streams are untouched: no tags, their own terminal events.
    expect((await events(a.id)).map((e) => e.type)).toEqual(["status", "delta", "restart", "delta", "usage", "done"]);
    expect((await events(a.id))[1]!.data).toEqual({ text: "Hel" });
    const parent = await events(parentId);
    expect(parent.map((e) => [e.type, (e.data as { model?: string }).model])).toEqual([
      ["status", "model-a"],
      ["delta", "model-a"],
      ["delta", "model-b"],
      ["restart", "model-a"],
      ["delta", "model-a"],
      ["usage", "model-a"],
      ["status", "model-a"],
      ["status", "model-b"],
    ]);
    expect(parent[4]!.data).toEqual({ text: 'Hello "there"', model: "model-a", job_id: a.id });
    expect(parent[5]!.data).toEqual({ ...usage, model: "model-a", job_id: a.id });
    expect(parent[6]!.data).toEqual({ status: "succeeded", model: "model-a", job_id: a.id });
    expect(parent[7]!.data).toEqual({
      status: "failed",
      model: "model-b",
      job_id: b.id,
      error: { code: "provider_error", message: 'bad "request" / 400', reason: "provider_error" },
    });
    // No child event is terminal in the parent's stream: the parent is still live, and followers were told of each copy.
    expect((await store.get(parentId))!.status).toBe("queued");
    expect(await noticesFor(parentId)).toBe(8);
  });

  it("a restart written when a child's delivery starts again reaches the parent tagged", async () => {
    const parentId = `job_cmp${String(++seq).padStart(20, "0")}`;
    const a = child(`${parentId}c0`, "model-a");
    await createAs(parentId, "compare");
    await createAs(a.id, a.model);
    await store.linkChildren(parentId, [{ model: "model-a", job_id: a.id }]);
    await store.append(a.id, { type: "delta", data: { text: "partial" } });
    expect((await store.startAttempt(a.id))!.restarted).toBe(true);
    expect((await events(parentId)).map((e) => [e.type, e.data])).toEqual([
      ["delta", { text: "partial", model: "model-a", job_id: a.id }],
      ["restart", { reason: "retry", model: "model-a", job_id: a.id }],
    ]);
  });

  it("a child's error text that Redis' JSON reader refuses still ends the child (its copy just carries no error)", async () => {
    const parentId = `job_cmp${String(++seq).padStart(20, "0")}`;
    const a = await createAs(`${parentId}c0`, "model-a");
    await createAs(parentId, "compare");
    await store.linkChildren(parentId, [{ model: "model-a", job_id: a.id }]);
    const message = "bad \ud800 surrogate";
    const failA: JobView = {
      ...a,
      status: "failed",
      completed_at: new Date().toISOString(),
      error: { code: "provider_error", message, reason: "provider_error" },
    };
    expect((await store.finish(failA, { type: "error", data: { code: "provider_error", message, reason: "provider_error" } })).kind).toBe("finished");
    const end = (await events(parentId)).at(-1)!.data;
    expect(end).toEqual({ status: "failed", model: "model-a", job_id: a.id });
    expect((await store.get(a.id))!.status).toBe("failed");
  });

  it("an ordinary job's hash gains no field and its events go nowhere else", async () => {
    const v = await createAs(`job_plain${String(++seq).padStart(18, "0")}`, "model-a");
    await store.append(v.id, { type: "delta", data: { text: "x" } });
    expect(await redis.hmget(keys.job(v.id), "p", "pt")).toEqual([null, null]);
    expect(await events(v.id)).toHaveLength(1);
  });
});
