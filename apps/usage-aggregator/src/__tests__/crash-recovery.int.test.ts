import type { ModelCatalog } from "@switchyard/contracts";
import { createRedis, RedisKeys } from "@switchyard/queue";
import { apiClient, startPrivatePostgres, startStack, writeTestCatalog, type PrivatePostgres, type Stack } from "@switchyard/testkit";
import { sql } from "kysely";

type Json = Record<string, any>;
const JOBS = 2000;
const CATALOG: ModelCatalog = {
  default_model: "sim",
  models: [
    {
      id: "sim",
      provider: "simulated",
      upstream_model: "sim",
      tier: "flash",
      capabilities: { vision: false, long_context: false },
      context_window: 32000,
      max_output_tokens: 1000,
      pricing: { input: 1.5, output: 6, cached_input: 0 },
      simulated: { ttft_ms: 20, tokens_per_second: 100, failure_rate: 0 },
    },
  ],
};

let pgServer: PrivatePostgres;
let s: Stack;

beforeAll(async () => {
  pgServer = await startPrivatePostgres();
  s = await startStack({
    pgAdminUrl: pgServer.url,
    env: { MODEL_CATALOG_PATH: writeTestCatalog(CATALOG), WORKER_LOCK_MS: "2000", ROUTER_CONCURRENCY: "16", LOG_LEVEL: "error" },
  });
  // A budget on the demo deployment, so every job reserves at admission and must be settled.
  await s.database.db
    .updateTable("deployments")
    .set({ budget: JSON.stringify({ period: "month", limit_usd: 1000 }) })
    .where("tenant_id", "=", "ten_demo")
    .execute();
  await new Promise((r) => setTimeout(r, 1100));
}, 60_000);
afterAll(async () => {
  await s?.stop();
  await pgServer?.stop();
});

test(`${JOBS} jobs while the aggregator is SIGKILLed twice and Postgres restarts once: every job counted exactly once`, async () => {
  const a = apiClient(s.url, s.key);
  const ids: string[] = [];
  const kill = async () => {
    const agg = s.apps.get("usage-aggregator")!;
    agg.kill("SIGKILL");
    await agg.exited;
    await new Promise((r) => setTimeout(r, 300));
    await s.spawn("usage-aggregator");
  };
  // First kill while jobs are still being submitted (the gateway needs no aggregator).
  const firstKill = new Promise((r) => setTimeout(r, 1500)).then(kill);
  for (let i = 0; i < JOBS; i += 100) {
    const batch = await Promise.all(
      Array.from({ length: 100 }, (_, k) => a.post<Json>("/v1/jobs", { messages: [{ role: "user", content: `ledger job ${i + k}` }], max_tokens: 8 })),
    );
    for (const r of batch) {
      expect(r.status).toBe(202);
      ids.push(r.body.id);
    }
  }
  const db = s.database.db;
  const rows = async () =>
    Number((await sql<{ n: string }>`SELECT count(*) AS n FROM usage_events`.execute(db).catch(() => ({ rows: [{ n: "-1" }] }))).rows[0]!.n);

  // Then, while the workers are still going (about 12 s of work), restart Postgres and kill the
  // aggregator again.
  await firstKill;
  const before = await rows();
  await pgServer.restart(1000);
  await new Promise((r) => setTimeout(r, 1000));
  await kill();
  expect(before).toBeLessThan(JOBS);

  const deadline = Date.now() + 120_000;
  let n = 0;
  while (Date.now() < deadline && (n = await rows()) < JOBS) await new Promise((r) => setTimeout(r, 500));
  await new Promise((r) => setTimeout(r, 1000)); // anything late would show up as a duplicate now
  expect(await rows()).toBe(JOBS);
  expect(n).toBe(JOBS);
  const distinct = await sql<{
    jobs: number;
    usage: number;
  }>`SELECT (SELECT count(*) FROM jobs) AS jobs, (SELECT count(DISTINCT job_id) FROM usage_events) AS usage`.execute(db);
  expect(distinct.rows[0]).toEqual({ jobs: JOBS, usage: JOBS });
  const mine = await db.selectFrom("usage_events").select("job_id").execute();
  expect(new Set(mine.map((r) => r.job_id))).toEqual(new Set(ids));
  // Rollups equal the rows they were built from.
  const sums = await sql<Json>`
    SELECT (SELECT sum(requests) FROM usage_daily)::int AS roll_requests, (SELECT count(*) FROM usage_events)::int AS row_requests,
           (SELECT sum(input_tokens + output_tokens) FROM usage_daily)::int AS roll_tokens, (SELECT sum(input_tokens + output_tokens) FROM usage_events)::int AS row_tokens,
           (SELECT sum(cost_usd) FROM usage_daily)::text AS roll_cost, (SELECT sum(cost_usd) FROM usage_events)::text AS row_cost`.execute(db);
  const r = sums.rows[0]!;
  expect(r.roll_requests).toBe(r.row_requests);
  expect(r.roll_tokens).toBe(r.row_tokens);
  expect(r.roll_cost).toBe(r.row_cost);
  // Every job ended well in Redis too.
  const redis = createRedis(s.env.REDIS_URL!);
  const keys = new RedisKeys(s.prefix);
  const statuses = await Promise.all(ids.map((id) => redis.hget(keys.job(id), "status")));
  expect(statuses.filter((x) => x !== "succeeded")).toEqual([]);
  redis.disconnect();
  // Every reservation was settled or released: nothing is left held, and spend equals the ledger.
  const budgets = (await a.get<Json>("/v1/budgets")).body.data as Json[];
  const dep = budgets.find((b) => b.scope === "deployment")!;
  expect(dep.reserved_usd).toBe(0);
  expect(dep.reserved_tokens).toBe(0);
  expect(dep.spent_usd).toBeCloseTo(Number(r.row_cost), 6);
}, 240_000);
