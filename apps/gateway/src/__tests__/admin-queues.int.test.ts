import {
  QUEUE_NAMES,
  type ApiErrorBody as ErrorBody,
  type AuditEntry,
  type QueueClean as CleanResult,
  type QueueCounts as Counts,
  type QueueRetry as RetryResult,
  type QueueView as QueueRow,
} from "@switchyard/contracts";
import { createQueueSet, createRedis, defineProcessor, JobStore, RedisKeys, type QueueSet, type Redis } from "@switchyard/queue";
import { apiClient, startStack, waitFor, writeTestCatalog, type Stack } from "@switchyard/testkit";
import type { Worker } from "bullmq";

/** An audit row, its before/after read as the JSON objects the queue routes write. */
type AuditRow = Omit<AuditEntry, "before" | "after"> & { before: Record<string, number> | null; after: Record<string, unknown> | null };

let s: Stack;
let a: ReturnType<typeof apiClient>;
let redis: Redis;
let queues: QueueSet;
const workers: Worker[] = [];
const conns: Redis[] = [];
/** A connection of its own for each test worker (BullMQ blocks on it), closed after the file. */
const workerOpts = () => {
  const connection = createRedis(s.env.REDIS_URL!);
  conns.push(connection);
  return { connection, keys: new RedisKeys(s.prefix) };
};
const msg = (content: string) => ({ messages: [{ role: "user", content }], max_tokens: 8 });

// The gateway alone: nothing consumes the queues unless a test starts a worker of its own. These are
// BullMQ's own queue operations, so jobs go straight to BullMQ (FAIR_SCHEDULING=off): with no
// router-worker's dispatcher they would wait in the fair lists (fair-scheduling.int.test.ts).
beforeAll(async () => {
  s = await startStack({ apps: ["gateway"], env: { MODEL_CATALOG_PATH: writeTestCatalog(), FAIR_SCHEDULING: "off" } });
  a = apiClient(s.url, s.key);
  redis = createRedis(s.env.REDIS_URL!);
  queues = createQueueSet({ connection: redis, keys: new RedisKeys(s.prefix) });
}, 60_000);
afterAll(async () => {
  await Promise.all(workers.map((w) => w.close(true)));
  await queues?.close();
  redis?.disconnect();
  for (const c of conns) c.disconnect();
  await s?.stop();
});

const counts = async (queue: string): Promise<Counts> => {
  const r = await a.get<{ object: string; data: QueueRow[] }>("/admin/v1/queues");
  expect(r.status).toBe(200);
  return r.body.data.find((q) => q.queue === queue)!.counts;
};
const lastAudit = async (): Promise<AuditRow> => (await a.get<{ data: AuditRow[] }>("/admin/v1/audit?limit=1")).body.data[0]!;
const submit = async (content: string): Promise<string> => {
  const r = await a.post<{ id: string }>("/v1/jobs", msg(content));
  expect(r.status).toBe(202);
  return r.body.id;
};

describe("GET /admin/v1/queues", () => {
  test("counts per state for every queue in the catalog, and queued jobs show up in them", async () => {
    const before = await counts("ai-route");
    await submit("count me");
    await submit("count me too");
    const r = await a.get<{ object: string; data: QueueRow[] }>("/admin/v1/queues");
    expect(r.body.object).toBe("list");
    expect(r.body.data.map((q) => q.queue)).toEqual(QUEUE_NAMES);
    for (const q of r.body.data) {
      expect(Object.keys(q.counts).sort()).toEqual(["active", "completed", "delayed", "failed", "prioritized", "waiting", "waiting_children"]);
      expect(q.paused).toBe(false);
    }
    const route = r.body.data.find((q) => q.queue === "ai-route")!.counts;
    // Jobs carry a priority, so BullMQ keeps them in `prioritized` rather than `waiting`.
    expect(route.waiting + route.prioritized).toBe(before.waiting + before.prioritized + 2);
  });
});

describe("POST /admin/v1/queues/{queue}/clean-stuck", () => {
  test("removes queued jobs whose Switchyard job already ended, keeps live ones, and is audited", async () => {
    const live = [await submit("still wanted 1"), await submit("still wanted 2")];
    const dead = [await submit("orphan 1"), await submit("orphan 2"), await submit("orphan 3")];
    // Cancel and the stuck-job sweeper end the job, then remove its queue job; a process that dies
    // between the two (or a failed remove) leaves the queue job behind. Do only the first step.
    const store = new JobStore({ redis, keys: new RedisKeys(s.prefix) });
    for (const id of dead) {
      const j = (await store.get(id))!;
      const error = { code: "stuck", message: "failed by the sweeper", reason: "stuck" as const };
      expect((await store.finish({ ...j.view, status: "failed", completed_at: new Date().toISOString(), error }, { type: "error", data: error })).kind).toBe(
        "finished",
      );
    }
    const before = await counts("ai-route");

    // The default threshold (10 minutes) spares jobs this young, canceled or not.
    const young = await a.post<CleanResult>("/admin/v1/queues/ai-route/clean-stuck", {});
    expect(young.status).toBe(200);
    expect(young.body).toMatchObject({ object: "queue_clean", queue: "ai-route", older_than_ms: 600_000, removed: 0, removed_job_ids: [] });
    expect(young.body.skipped.too_recent).toBe(young.body.examined);
    expect(await counts("ai-route")).toEqual(before);

    const r = await a.post<CleanResult>("/admin/v1/queues/ai-route/clean-stuck", { older_than_ms: 0 });
    expect(r.status).toBe(200);
    expect(r.body.removed).toBe(3);
    expect([...r.body.removed_job_ids].sort()).toEqual([...dead].sort());
    expect(r.body.skipped.not_terminal).toBeGreaterThanOrEqual(live.length);
    expect(r.body.skipped.locked).toBe(0);
    const after = await counts("ai-route");
    expect(after.prioritized + after.waiting).toBe(before.prioritized + before.waiting - 3);
    for (const id of dead) expect(await queues.queue("ai-route").getJob(id)).toBeUndefined();
    for (const id of live) expect(await queues.queue("ai-route").getJobState(id)).toBe("prioritized");
    // The Switchyard jobs themselves are untouched: still readable, still failed.
    expect((await a.get<{ status: string }>(`/v1/jobs/${dead[0]}`)).body.status).toBe("failed");

    const audit = await lastAudit();
    expect(audit).toMatchObject({
      action: "queue.clean_stuck",
      target_type: "queue",
      target_id: "ai-route",
      tenant_id: null,
      actor_key_id: s.key.split("_")[2],
    });
    expect(audit.before).toMatchObject({ prioritized: before.prioritized });
    expect(audit.after).toMatchObject({ prioritized: before.prioritized - 3, older_than_ms: 0, removed: 3 });

    // A second pass finds nothing more to remove.
    expect((await a.post<CleanResult>("/admin/v1/queues/ai-route/clean-stuck", { older_than_ms: 0 })).body.removed).toBe(0);
  });

  test("a job a live worker holds is left to that worker (counted as locked)", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const taken = new Set<string>();
    const worker = defineProcessor(
      "ai-route",
      async (payload) => {
        taken.add(payload.job_id);
        await gate;
        return null;
      },
      { ...workerOpts(), concurrency: 50 },
    );
    workers.push(worker);
    const id = await submit("held by a worker");
    await waitFor(async () => (taken.has(id) ? true : undefined), 10_000, "the worker to take the job");
    expect((await a.post(`/v1/jobs/${id}/cancel`)).status).toBe(200);
    const r = await a.post<CleanResult>("/admin/v1/queues/ai-route/clean-stuck", { older_than_ms: 0 });
    expect(r.status).toBe(200);
    expect(r.body.removed_job_ids).not.toContain(id);
    expect(r.body.skipped.locked).toBeGreaterThanOrEqual(1);
    expect(await queues.queue("ai-route").getJobState(id)).toBe("active");
    release();
    await waitFor(async () => ((await queues.queue("ai-route").getJobState(id)) === "completed" ? true : undefined), 10_000, "the worker to finish");
    await worker.close();
  });

  test("unknown queue is a 404 naming it; unknown fields and bad values are 400", async () => {
    for (const path of ["/admin/v1/queues/ai-nope/clean-stuck", "/admin/v1/queues/ai-nope/retry-failed"]) {
      const r = await a.post<ErrorBody>(path, {});
      expect(r.status).toBe(404);
      expect(r.body.error).toMatchObject({ type: "not_found_error", code: "not_found", param: "queue" });
      expect(r.body.error.message).toContain("ai-nope");
      expect(r.body.error.message).toContain("ai-route");
    }
    const extra = await a.post<ErrorBody>("/admin/v1/queues/ai-route/clean-stuck", { older_than_ms: 0, force: true });
    expect(extra.status).toBe(400);
    const negative = await a.post<ErrorBody>("/admin/v1/queues/ai-route/clean-stuck", { older_than_ms: -1 });
    expect(negative.status).toBe(400);
    expect(negative.body.error.param).toBe("older_than_ms");
  });
});

describe("POST /admin/v1/queues/{queue}/retry-failed", () => {
  test("moves every failed job back to waiting, reports how many, and is audited", async () => {
    let fail = true;
    const worker = defineProcessor(
      "ai-housekeeping",
      async () => {
        if (fail) throw new Error("boom");
        return null;
      },
      workerOpts(),
    );
    workers.push(worker);
    for (let i = 0; i < 3; i++) await queues.enqueue("ai-housekeeping", { task: "partitions" });
    await waitFor(async () => ((await counts("ai-housekeeping")).failed === 3 ? true : undefined), 10_000, "three failed jobs");
    await worker.pause();

    const r = await a.post<RetryResult>("/admin/v1/queues/ai-housekeeping/retry-failed");
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ object: "queue_retry", queue: "ai-housekeeping", retried: 3 });
    expect(r.body.counts).toMatchObject({ failed: 0, waiting: 3 });
    const audit = await lastAudit();
    expect(audit).toMatchObject({ action: "queue.retry_failed", target_type: "queue", target_id: "ai-housekeeping", tenant_id: null });
    expect(audit.before).toMatchObject({ failed: 3 });
    expect(audit.after).toMatchObject({ failed: 0, retried: 3 });

    // Retried jobs really run again: this time they succeed.
    fail = false;
    await worker.resume();
    await waitFor(async () => ((await counts("ai-housekeeping")).completed === 3 ? true : undefined), 10_000, "the retried jobs to complete");
    expect((await a.post<RetryResult>("/admin/v1/queues/ai-housekeeping/retry-failed", {})).body.retried).toBe(0);
  });

  test("a tenant key is refused before anything runs, and writes no audit row", async () => {
    const t = await a.post<{ id: string }>("/admin/v1/tenants", { name: "Queue outsider" });
    const k = await a.post<{ key: string }>(`/admin/v1/tenants/${t.body.id}/api-keys`, { name: "k", scopes: ["jobs:write", "jobs:read"] });
    const c = apiClient(s.url, k.body.key);
    const before = await lastAudit();
    for (const [method, path] of [
      ["GET", "/admin/v1/queues"],
      ["POST", "/admin/v1/queues/ai-route/clean-stuck"],
      ["POST", "/admin/v1/queues/ai-route/retry-failed"],
    ] as const) {
      const r = await c.call<ErrorBody>(method, path, method === "POST" ? { body: {} } : {});
      expect([path, r.status, r.body.error.code]).toEqual([path, 403, "insufficient_scope"]);
    }
    expect(await lastAudit()).toEqual(before);
  });
});
