import type { ModelCatalog } from "@switchyard/contracts";
import { apiClient, startStack, waitFor, writeTestCatalog, type Stack } from "@switchyard/testkit";
import { createRedis, RedisKeys } from "@switchyard/queue";
import { debitForUsage } from "@switchyard/db";
import { Queue } from "bullmq";
import { sql } from "kysely";

type Json = Record<string, any>;
const entry = (id: string, price: number, tokens_per_second = 100) => ({
  id,
  provider: "simulated" as const,
  upstream_model: id,
  tier: "flash" as const,
  capabilities: { vision: false, long_context: false },
  context_window: 32000,
  max_output_tokens: 1000,
  pricing: { input: price, output: price, cached_input: 0 },
  simulated: { ttft_ms: 30, tokens_per_second, failure_rate: 0 },
});
// $800 per 1M tokens: a request of ~15 input tokens and max_tokens 10 reserves about $0.02. Its
// answers take half a second, so a worker's concurrent jobs are all mid-answer when it dies.
const CATALOG: ModelCatalog = { default_model: "sim-budget", models: [entry("sim-budget", 800, 20), entry("sim-cheap", 1)] };

let s: Stack;
let admin: ReturnType<typeof apiClient>;

async function tenantWithKey(name: string, tenantPatch: Json = {}, deploymentPatch: Json = {}) {
  const t = (await admin.post<Json>("/admin/v1/tenants", { name })).body;
  if (Object.keys(tenantPatch).length) expect((await admin.call<Json>("PATCH", `/admin/v1/tenants/${t.id}`, { body: tenantPatch })).status).toBe(200);
  if (Object.keys(deploymentPatch).length)
    expect((await admin.call<Json>("PATCH", `/admin/v1/deployments/${t.default_deployment_id}`, { body: deploymentPatch })).status).toBe(200);
  const k = (await admin.post<Json>(`/admin/v1/tenants/${t.id}/api-keys`, { name: "k", scopes: ["jobs:write", "jobs:read", "usage:read"] })).body;
  return { tenant: t.id as string, deployment: t.default_deployment_id as string, client: apiClient(s.url, k.key), key: k.key as string };
}

beforeAll(async () => {
  s = await startStack({ env: { MODEL_CATALOG_PATH: writeTestCatalog(CATALOG), WORKER_LOCK_MS: "1500" } });
  admin = apiClient(s.url, s.key);
}, 60_000);
afterAll(async () => {
  await s?.stop();
});

test("400 concurrent requests over two gateways against 50 per 10 s: exactly 50 admitted", async () => {
  const { client, key } = await tenantWithKey(
    "limited",
    {},
    { rate_limits: { windows: [{ requests: 50, seconds: 10 }], requests_per_minute: 1000, requests_per_hour: 10_000, requests_per_day: 100_000 } },
  );
  await new Promise((r) => setTimeout(r, 1100)); // settings reach every gateway within a second
  const second = await s.spawn("gateway", {}, "gateway-2");
  const other = apiClient(`http://127.0.0.1:${second.port}`, key);
  const body = { model: "sim-cheap", messages: [{ role: "user", content: "hi" }], max_tokens: 5 };
  const results = await Promise.all(Array.from({ length: 400 }, (_, i) => (i % 2 ? other : client).post<Json>("/v1/jobs", body)));
  const admitted = results.filter((r) => r.status === 202);
  const refused = results.filter((r) => r.status === 429);
  expect(admitted).toHaveLength(50);
  expect(refused).toHaveLength(350);
  for (const r of refused) {
    expect(r.body.error).toMatchObject({ type: "rate_limit_error", code: "rate_limited" });
    expect(Number(r.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(Number(r.headers.get("retry-after"))).toBeLessThanOrEqual(10);
    expect(r.headers.get("ratelimit-policy")).toContain("50;w=10");
  }
  expect(admitted[0]!.headers.get("ratelimit")).toMatch(/limit=\d+, remaining=\d+, reset=\d+/);
  // Both gateways refused some, and each counted its refusals.
  const count = async (url: string) =>
    Number(/rate_limit_rejections_total\{reason="requests_per_window"\} (\d+)/.exec(await (await fetch(`${url}/metrics`)).text())?.[1] ?? 0);
  const c1 = await count(s.url);
  const c2 = await count(`http://127.0.0.1:${second.port}`);
  expect(c1 + c2).toBe(350);
  expect(Math.min(c1, c2)).toBeGreaterThan(0);
  second.kill("SIGTERM");
});

test("a request over the whole tokens_per_day is a 400 naming the limit, not a 429 to retry; one that only has to wait is a 429", async () => {
  const { client } = await tenantWithKey("daily", {}, { rate_limits: { tokens_per_request: 4000, tokens_per_day: 300 } });
  await new Promise((r) => setTimeout(r, 1100));
  const never = await client.post<Json>("/v1/jobs", { model: "sim-cheap", messages: [{ role: "user", content: "hi" }], max_tokens: 400 });
  expect(never.status).toBe(400);
  expect(never.body.error).toMatchObject({ type: "invalid_request_error", code: "request_too_large", param: "messages" });
  expect(never.body.error.message).toMatch(/limit of 300 tokens per day \(tokens_per_day\)/);
  expect(never.headers.get("retry-after")).toBeNull();
  // Fits the day alone, but not after what was already admitted: waiting helps, so 429 with Retry-After.
  const fits = () => client.post<Json>("/v1/jobs", { model: "sim-cheap", messages: [{ role: "user", content: "hi" }], max_tokens: 200 });
  expect((await fits()).status).toBe(202);
  const later = await fits();
  expect(later.status).toBe(429);
  expect(later.body.error.code).toBe("rate_limited");
  expect(Number(later.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
});

test("tokens per request and end-user tiers are limits too", async () => {
  const { client, deployment } = await tenantWithKey("tiers", {}, { rate_limits: { tokens_per_request: 100 } });
  await new Promise((r) => setTimeout(r, 1100));
  const big = await client.post<Json>("/v1/jobs", { model: "sim-cheap", messages: [{ role: "user", content: "hi" }], max_tokens: 500 });
  expect(big.status).toBe(400);
  expect(big.body.error).toMatchObject({ type: "invalid_request_error", code: "request_too_large" });
  expect(big.body.error.param).toMatch(/^messages/);
  expect(big.body.error.message).toMatch(/limit of 100 tokens per request/);
  expect(big.body.error.message).toMatch(/max_tokens/);
  expect(big.headers.get("retry-after")).toBeNull();
  const send = () => client.post<Json>("/v1/jobs", { model: "sim-cheap", messages: [{ role: "user", content: "hi" }], max_tokens: 5, user: "end-user-1" });
  const first50 = await Promise.all(Array.from({ length: 50 }, send));
  expect(first50.every((r) => r.status === 202)).toBe(true);
  const over = await send();
  expect(over.status).toBe(429);
  expect(over.body.error.message).toMatch(/end user|user/i);
  // Paid tier: 500 a day, so the same user gets through again.
  expect((await admin.call<Json>("PUT", `/admin/v1/deployments/${deployment}/end-users/end-user-1`, { body: { tier: "paid" } })).status).toBe(200);
  await new Promise((r) => setTimeout(r, 1100));
  expect((await send()).status).toBe(202);
});

test("a $1.00 budget with 100 concurrent capped jobs never settles above $1.00, and nothing stays reserved, even when a worker dies mid-answer", async () => {
  const { client, deployment } = await tenantWithKey("budgeted", {}, { budget: { period: "day", limit_usd: 1 }, rate_limits: { requests_per_minute: 1000 } });
  await new Promise((r) => setTimeout(r, 1100));
  // The worker that dies must take only this test's jobs: let the earlier tests' jobs drain and
  // stop the stack's worker, so that the jobs admitted below wait in the queue.
  await drainRouteQueue();
  const first = s.apps.get("router-worker")!;
  first.kill("SIGTERM");
  await first.exited;
  const body = (i: number) => ({ model: "sim-budget", messages: [{ role: "user", content: `budget job ${i}` }], max_tokens: 10 });
  const results = await Promise.all(Array.from({ length: 100 }, (_, i) => client.post<Json>("/v1/jobs", body(i))));
  const admitted = results.filter((r) => r.status === 202);
  const refused = results.filter((r) => r.status === 402);
  expect(admitted.length + refused.length).toBe(100);
  expect(admitted.length).toBeGreaterThan(20);
  // No job runs yet, so the reservations alone decide how many fit.
  expect(refused.length).toBeGreaterThan(0);
  expect(refused[0]!.body.error).toMatchObject({ type: "budget_error", code: "budget_exhausted" });
  // One worker takes every admitted job at once and kills itself when they have streamed about
  // half their answers (10 tokens each): each dead run the provider was paid for is billed, and
  // their cost together is more than the budget's slack (what the jobs' estimates overstate).
  const dieAt = `delta:${admitted.length * 5}`;
  const doomed = await s.spawn("router-worker", { SWITCHYARD_FAULT_POINTS: dieAt, ROUTER_CONCURRENCY: "100" }, "router-worker-doomed");
  const code = await Promise.race([doomed.exited, new Promise((r) => setTimeout(() => r("still running"), 30_000).unref())]);
  if (code !== "SIGKILL") throw new Error(`worker did not kill itself at ${dieAt} (${String(code)}):\n${doomed.output()}`);
  // Another worker takes the dead worker's jobs over: it bills each dead run, and runs the job
  // again only when the budget can fund the re-run on top of it; else the job fails.
  await s.spawn("router-worker", {}, "router-worker-2");
  const ids = admitted.map((r) => r.body.id as string);
  const jobs = await waitFor(
    async () => {
      const js = await Promise.all(ids.map(async (id) => (await client.get<Json>(`/v1/jobs/${id}`)).body));
      return js.every((j) => j.status === "succeeded" || j.status === "failed") ? js : undefined;
    },
    60_000,
    "every admitted job to end",
  );
  const budgets = await waitFor(
    async () => {
      const b = (await client.get<Json>("/v1/budgets")).body.data as Json[];
      const d = b.find((x) => x.scope === "deployment" && x.id === deployment)!;
      return d.reserved_usd === 0 ? d : undefined;
    },
    60_000,
    "reservations to be released",
  );
  expect(budgets).toMatchObject({ reserved_usd: 0, reserved_tokens: 0, limit_usd: 1 });
  expect(budgets.spent_usd).toBeGreaterThan(0);
  expect(budgets.spent_usd).toBeLessThanOrEqual(1);
  // A job whose worker died has a usage event per run (the dead run's, partial, then the re-run's
  // or the refusal's), and the aggregator writes them as they come: wait until the ledger holds
  // every event the budget settled.
  const ledger = await waitFor(
    async () => {
      const r = await sql<{
        n: number;
        usd: string;
      }>`SELECT count(DISTINCT job_id)::int AS n, coalesce(sum(cost_usd), 0)::text AS usd FROM usage_events WHERE deployment_id = ${deployment}`.execute(
        s.database.db,
      );
      return r.rows[0]!.n === ids.length && Math.abs(Number(r.rows[0]!.usd) - budgets.spent_usd) < 1e-6 ? r.rows[0]! : undefined;
    },
    30_000,
    "the ledger to hold every settled usage event",
  );
  expect(Number(ledger.usd)).toBeLessThanOrEqual(1);
  expect(Number(ledger.usd)).toBeCloseTo(budgets.spent_usd, 6);
  // Each job succeeded, or failed with budget_exhausted after its worker died mid-answer (its dead
  // run billed as partial); and the worker did die mid-answer: some run was billed that way.
  const rows = await s.database.db.selectFrom("usage_events").select(["job_id", "attempt", "provenance"]).where("deployment_id", "=", deployment).execute();
  const crashed = new Set(rows.filter((r) => r.provenance === "partial").map((r) => r.job_id));
  expect(crashed.size).toBeGreaterThan(0);
  for (const j of jobs) {
    const outcome = j.status === "succeeded" ? "succeeded" : `${j.status}: ${j.error?.code} ${crashed.has(j.id) ? "after a crash" : "without a crash"}`;
    expect([j.id, outcome]).toEqual([j.id, j.status === "succeeded" ? "succeeded" : "failed: budget_exhausted after a crash"]);
  }
});

/** Wait until no `ai-route` job is waiting, delayed or running (the earlier tests' jobs are done). */
async function drainRouteQueue(): Promise<void> {
  const redis = createRedis(s.env.REDIS_URL!);
  const queue = new Queue("ai-route", { connection: redis, prefix: new RedisKeys(s.prefix).bullPrefix });
  try {
    await waitFor(
      async () => {
        const c = await queue.getJobCounts("waiting", "prioritized", "delayed", "active");
        return Object.values(c).every((n) => n === 0) ? true : undefined;
      },
      60_000,
      "the route queue to drain",
    );
  } finally {
    await queue.close();
    redis.disconnect();
  }
}

test("prepaid tenants need credits: 402 without, debits in the ledger with", async () => {
  const { client, tenant } = await tenantWithKey("prepaid", { billing_mode: "prepaid" });
  await new Promise((r) => setTimeout(r, 1100));
  const body = { model: "sim-budget", messages: [{ role: "user", content: "pay me" }], max_tokens: 10 };
  const broke = await client.post<Json>("/v1/jobs", body);
  expect(broke.status).toBe(402);
  expect(broke.body.error.code).toBe("insufficient_credits");
  const grant = await admin.post<Json>(`/admin/v1/tenants/${tenant}/credits`, { amount_usd: 0.5, reason: "trial" }, { "Idempotency-Key": "grant-1" });
  expect(grant.status).toBe(201);
  const again = await admin.post<Json>(`/admin/v1/tenants/${tenant}/credits`, { amount_usd: 0.5, reason: "trial" }, { "Idempotency-Key": "grant-1" });
  expect(again.status).toBe(200);
  expect((await admin.post<Json>(`/admin/v1/tenants/${tenant}/credits`, { amount_usd: 0.5, reason: "x" })).status).toBe(400);
  const ok = await client.post<Json>("/v1/jobs", body);
  expect(ok.status).toBe(202);
  await waitFor(async () => ((await client.get<Json>(`/v1/jobs/${ok.body.id}`)).body.status === "succeeded" ? true : undefined));
  const credits = await waitFor(async () => {
    const c = (await admin.get<Json>(`/admin/v1/tenants/${tenant}/credits`)).body;
    return c.entries.some((e: Json) => e.kind === "debit") ? c : undefined;
  });
  const debit = credits.entries.find((e: Json) => e.kind === "debit");
  expect(debit.amount_usd).toBeLessThan(0);
  expect(debit.job_id).toBe(ok.body.id);
  expect(credits.balance_usd).toBeCloseTo(0.5 + debit.amount_usd, 9);
  const recalc = await admin.post<Json>(`/admin/v1/tenants/${tenant}/credits/recalculate`);
  expect(recalc.body.balance_usd).toBeCloseTo(credits.balance_usd, 9);
});

test("a tenant's credits read as one snapshot: the balance equals the sum of the entries listed while debits commit", async () => {
  const { tenant } = await tenantWithKey("credits-snapshot", { billing_mode: "prepaid" });
  const db = s.database.db;
  let writing = true;
  const writer = (async () => {
    for (let i = 0; i < 400 && writing; i++) await debitForUsage(db, { tenantId: tenant, jobId: `snap-${i}`, attempt: 1, amountUsd: 0.001 });
  })();
  const mismatches: string[] = [];
  for (let i = 0; i < 60; i++) {
    const c = (await admin.get<Json>(`/admin/v1/tenants/${tenant}/credits?limit=200`)).body;
    if (c.next_cursor) break;
    const sum = (c.entries as Json[]).reduce((n, e) => n + Number(e.amount_usd), 0);
    if (Math.abs(sum - c.balance_usd) > 1e-9) mismatches.push(`${c.entries.length} entries sum ${sum}, balance ${c.balance_usd}`);
  }
  writing = false;
  await writer;
  expect(mismatches).toEqual([]);
});
