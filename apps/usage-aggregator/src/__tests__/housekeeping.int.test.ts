import {
  createTestDatabase,
  apiClient,
  TEST_REDIS_URL,
  readSse,
  startStack,
  waitFor,
  writeTestCatalog,
  type Stack,
  type TestDatabase,
} from "@switchyard/testkit";
import { UsagePartitions } from "@switchyard/db";
import { createQueueSet, createRedis, JobStore, RedisKeys } from "@switchyard/queue";
import { sql } from "kysely";

type Json = Record<string, any>;

describe("stuck jobs", () => {
  let s: Stack;
  beforeAll(async () => {
    // No router-worker: jobs stay queued, as if every worker were gone. Straight into BullMQ
    // (FAIR_SCHEDULING=off): the test follows a stuck job's BullMQ entry; with fair scheduling a
    // job that waits in a fair list and ends is dropped there, never added (fair-scheduling.int.test.ts).
    s = await startStack({
      apps: ["gateway", "usage-aggregator"],
      env: { MODEL_CATALOG_PATH: writeTestCatalog(), STUCK_JOB_MS: "1500", HOUSEKEEPING_EVERY_MS: "1000", FAIR_SCHEDULING: "off" },
    });
  }, 60_000);
  afterAll(async () => {
    await s?.stop();
  });

  test("a job queued longer than the limit is failed with a reason, stored, and counted", async () => {
    const a = apiClient(s.url, s.key);
    const id = (await a.post<Json>("/v1/jobs", { messages: [{ role: "user", content: "anyone there?" }] })).body.id as string;
    const events = (await readSse(`${s.url}/v1/jobs/${id}/events`, { headers: { authorization: `Bearer ${s.key}` }, timeoutMs: 15_000 })).events;
    expect(events.at(-1)!.event).toBe("error");
    expect(JSON.parse(events.at(-1)!.data)).toMatchObject({ code: "stuck", reason: "stuck" });
    const job = (await a.get<Json>(`/v1/jobs/${id}`)).body;
    expect(job).toMatchObject({ status: "failed", error: { code: "stuck" } });
    const row = await waitFor(async () => s.database.db.selectFrom("jobs").select(["status"]).where("id", "=", id).executeTakeFirst());
    expect(row.status).toBe("failed");
    const port = s.apps.get("usage-aggregator")!.port;
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(Number(/ai_jobs_stuck_total (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
    // A job younger than the limit is left alone.
    const fresh = (await a.post<Json>("/v1/jobs", { messages: [{ role: "user", content: "new" }] })).body.id as string;
    expect((await a.get<Json>(`/v1/jobs/${fresh}`)).body.status).toBe("queued");

    // The stuck job's queue entry stays; the first worker to take it calls nothing and leaves it
    // failed in BullMQ (the dashboard's Failed tab), with the job's error code.
    const redis = createRedis(TEST_REDIS_URL);
    const queues = createQueueSet({ connection: redis, keys: new RedisKeys(s.prefix) });
    const worker = await s.spawn("router-worker");
    try {
      const queued = await waitFor(
        async () => {
          const j = await queues.queue("ai-route").getJob(id);
          return j && (await j.getState()) === "failed" ? j : undefined;
        },
        20_000,
        "the stuck job's queue entry to end failed",
      );
      expect(queued.failedReason).toMatch(/^stuck: /);
    } finally {
      // The next test wants no worker (its job must stay stuck).
      worker.kill("SIGKILL");
      await worker.exited;
      s.apps.delete("router-worker");
      await queues.close();
      redis.disconnect();
    }
  }, 60_000);

  test("a stuck job whose worker died mid-answer has that run billed once, partial, before it is failed", async () => {
    const a = apiClient(s.url, s.key);
    const id = (await a.post<Json>("/v1/jobs", { model: "sim-fast", messages: [{ role: "user", content: "twelve chars" }] })).body.id as string;
    // What a worker that began a run, streamed 80 characters and was killed leaves behind.
    const redis = createRedis(TEST_REDIS_URL);
    try {
      const store = new JobStore({ redis, keys: new RedisKeys(s.prefix) });
      await store.startAttempt(id);
      expect(await store.beginRun(id, "sim-fast", 3)).toMatchObject({ kind: "ok", run: 1 });
      for (const text of ["x".repeat(40), "y".repeat(40)]) expect(await store.append(id, { type: "delta", data: { text } })).not.toBeNull();
      const rows = () => s.database.db.selectFrom("usage_events").selectAll().where("job_id", "=", id).execute();
      const billed = await waitFor(async () => ((await rows()).length > 0 ? rows() : undefined), 15_000, "the dead run's usage row");
      expect(billed).toHaveLength(1);
      // sim-fast: $1 per 1M input and $2 per 1M output tokens; input "twelve chars" ≈ 3 tokens, output 80 chars = 20 tokens.
      expect(billed[0]).toMatchObject({ attempt: 1, status: "incomplete", provenance: "partial", served_model: "sim-fast", output_tokens: 20 });
      expect(Number(billed[0]!.cost_usd)).toBeCloseTo((Number(billed[0]!.input_tokens) * 1 + 20 * 2) / 1e6, 12);
      expect((await a.get<Json>(`/v1/jobs/${id}`)).body).toMatchObject({ status: "failed", error: { code: "stuck" } });
      expect(await store.unbilledRun(id)).toBeNull();
      // Later sweeps bill nothing more.
      await new Promise((r) => setTimeout(r, 2500));
      expect(await rows()).toHaveLength(1);
    } finally {
      redis.disconnect();
    }
  }, 40_000);
});

describe("usage partitions", () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(async () => {
    await t?.drop();
  });

  test("months are created ahead, for any month a batch needs, and dropped past retention", async () => {
    const p = new UsagePartitions(t.db);
    expect(await p.ensureAhead(new Date("2026-11-15T00:00:00Z"), 2)).toEqual(["2026-11", "2026-12", "2027-01"]);
    await p.ensureFor(["2025-03-31T23:59:59Z", "2025-04-01T00:00:00Z"]);
    const names = async () =>
      (
        await sql<{
          n: string;
        }>`SELECT c.relname AS n FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'usage_events' ORDER BY 1`.execute(
          t.db,
        )
      ).rows.map((r) => r.n);
    expect(await names()).toEqual([
      "usage_events_y2025m03",
      "usage_events_y2025m04",
      "usage_events_y2026m11",
      "usage_events_y2026m12",
      "usage_events_y2027m01",
    ]);
    // A row lands in its month's partition.
    await sql`INSERT INTO usage_events (job_id, attempt, tenant_id, deployment_id, requested_model, served_model, provider, status, input_tokens, output_tokens, cost_usd, provenance, latency_ms, occurred_at)
              VALUES ('job_p', 1, 't', 'd', 'auto', 'm', 'simulated', 'succeeded', 1, 1, 0, 'reported', 1, '2025-03-31T23:59:59Z')`.execute(t.db);
    expect((await sql<{ c: number }>`SELECT count(*)::int AS c FROM usage_events_y2025m03`.execute(t.db)).rows[0]!.c).toBe(1);
    // Keep 12 months before November 2026: March and April 2025 go, whole.
    expect(await p.dropOlderThan(12, new Date("2026-11-15T00:00:00Z"))).toEqual(["usage_events_y2025m03", "usage_events_y2025m04"]);
    expect(await names()).toEqual(["usage_events_y2026m11", "usage_events_y2026m12", "usage_events_y2027m01"]);
    expect((await sql<{ c: number }>`SELECT count(*)::int AS c FROM usage_events`.execute(t.db)).rows[0]!.c).toBe(0);
  });
});
