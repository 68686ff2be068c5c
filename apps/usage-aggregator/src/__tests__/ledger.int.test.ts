import { UsageEvent } from "@switchyard/contracts";
import { createQueueSet, createRedis, RedisKeys, type QueueSet, type Redis } from "@switchyard/queue";
import { apiClient, readSse, startStack, waitFor, writeTestCatalog, type Stack } from "@switchyard/testkit";
import { sql } from "kysely";

type Json = Record<string, any>;
let s: Stack;
let a: ReturnType<typeof apiClient>;
let redis: Redis;
let queues: QueueSet;

beforeAll(async () => {
  s = await startStack({ env: { MODEL_CATALOG_PATH: writeTestCatalog(), JOB_RETENTION_SECONDS: "2" } });
  a = apiClient(s.url, s.key);
  redis = createRedis(s.env.REDIS_URL!);
  queues = createQueueSet({ connection: redis, keys: new RedisKeys(s.prefix) });
}, 60_000);
afterAll(async () => {
  await queues?.close();
  redis?.disconnect();
  await s?.stop();
});

const event = (over: Partial<UsageEvent> = {}): UsageEvent =>
  UsageEvent.parse({
    job_id: `job_ledger${Date.now()}`,
    attempt: 1,
    tenant_id: "ten_demo",
    deployment_id: "dep_ledger",
    api_key_id: null,
    requested_model: "auto",
    served_model: "sim-fast",
    provider: "simulated",
    status: "succeeded",
    input_tokens: 100,
    output_tokens: 50,
    cost_usd: 0.0002,
    provenance: "reported",
    ttft_ms: 12,
    latency_ms: 80,
    occurred_at: "2026-11-20T10:00:00.000Z",
    ...over,
  });

test("delivering the same usage event twice writes one row and counts it once in the rollup", async () => {
  const ev = event({ job_id: "job_twice00000001", deployment_id: "dep_twice" });
  await queues.enqueue("ai-usage", ev, { jobId: "first-delivery" });
  await queues.enqueue("ai-usage", ev, { jobId: "second-delivery" });
  await waitFor(async () => (((await queues.queue("ai-usage").getJobCounts("completed")).completed ?? 0) >= 2 ? true : undefined));
  const rows = await s.database.db.selectFrom("usage_events").selectAll().where("job_id", "=", ev.job_id).execute();
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({ attempt: 1, input_tokens: 100, output_tokens: 50 });
  const roll = await s.database.db.selectFrom("usage_daily").selectAll().where("deployment_id", "=", "dep_twice").execute();
  expect(roll).toEqual([expect.objectContaining({ day: expect.anything(), requests: 1, input_tokens: 100, output_tokens: 50, errors: 0 })]);
  expect(Number(roll[0]?.cost_usd)).toBeCloseTo(0.0002, 9);
  // A second attempt of the same job is a row of its own.
  await queues.enqueue("ai-usage", { ...ev, attempt: 2, status: "failed" }, { jobId: "attempt-2" });
  await waitFor(async () =>
    (await s.database.db.selectFrom("usage_events").select("attempt").where("job_id", "=", ev.job_id).execute()).length === 2 ? true : undefined,
  );
  const roll2 = await s.database.db.selectFrom("usage_daily").selectAll().where("deployment_id", "=", "dep_twice").executeTakeFirstOrThrow();
  expect(roll2).toMatchObject({ requests: 2, errors: 1, input_tokens: 200 });
});

test("rollups equal the sums of the rows, per tenant, deployment, model and day", async () => {
  const ids = await Promise.all(
    Array.from(
      { length: 20 },
      async (_, i) =>
        (await a.post<Json>("/v1/jobs", { model: i % 2 ? "sim-fast" : "sim-slow", messages: [{ role: "user", content: `ledger ${i}` }], max_tokens: 5 })).body
          .id as string,
    ),
  );
  await waitFor(
    async () => {
      const n = await s.database.db
        .selectFrom("usage_events")
        .select(sql<number>`count(*)::int`.as("n"))
        .where("job_id", "in", ids)
        .executeTakeFirstOrThrow();
      return n.n === 20 ? true : undefined;
    },
    30_000,
    "20 usage rows",
  );
  const fromRows = await sql<Json>`
    select tenant_id, deployment_id, served_model as model, (occurred_at at time zone 'UTC')::date::text as day,
           count(*)::int as requests, sum(input_tokens)::int as input_tokens, sum(output_tokens)::int as output_tokens, sum(cost_usd)::text as cost
      from usage_events group by 1, 2, 3, 4 order by 1, 2, 3, 4`.execute(s.database.db);
  const rollups = await sql<Json>`
    select tenant_id, deployment_id, model, day::text as day, requests::int, input_tokens::int, output_tokens::int, cost_usd::text as cost
      from usage_daily order by 1, 2, 3, 4`.execute(s.database.db);
  expect(rollups.rows).toEqual(fromRows.rows);
  expect(rollups.rows.length).toBeGreaterThanOrEqual(3);
});

test("a finished job still answers from Postgres after Redis retention removed it", async () => {
  const id = (await a.post<Json>("/v1/jobs", { model: "sim-fast", messages: [{ role: "user", content: "remember me" }], metadata: { k: "v" } })).body
    .id as string;
  const live = await waitFor(async () => {
    const r = await a.get<Json>(`/v1/jobs/${id}`);
    return r.body.status === "succeeded" ? r.body : undefined;
  });
  const keys = new RedisKeys(s.prefix);
  await waitFor(async () => ((await redis.exists(keys.job(id), keys.events(id))) === 0 ? true : undefined), 10_000, "retention to expire the job");
  const stored = await a.get<Json>(`/v1/jobs/${id}`);
  expect(stored.status).toBe(200);
  expect(stored.body).toEqual(live);
  const sse = await readSse(`${s.url}/v1/jobs/${id}/events`, { headers: { authorization: `Bearer ${s.key}` } });
  // A stream read from the start opens with `status: queued` (not stored; see the gateway's job-events route).
  expect(sse.events.map((e) => e.event)).toEqual(["status", "done"]);
  expect(JSON.parse(sse.events[0]!.data)).toEqual({ status: "queued" });
  expect(JSON.parse(sse.events[1]!.data).job).toEqual(live);
  expect((await a.post<Json>(`/v1/jobs/${id}/cancel`)).status).toBe(409);
});
