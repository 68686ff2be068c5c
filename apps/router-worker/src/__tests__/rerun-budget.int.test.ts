import { BudgetLedger } from "@switchyard/admission";
import { RouteJobPayload, type ModelCatalog } from "@switchyard/contracts";
import { createRedis, JobStore, RedisKeys, type Redis } from "@switchyard/queue";
import { apiClient, readSse, startStack, waitFor, writeTestCatalog, type SpawnedApp, type Stack } from "@switchyard/testkit";

type Json = Record<string, any>;
// Slow enough that a worker is still streaming when its fault point kills it.
const CATALOG: ModelCatalog = {
  default_model: "sim-stream",
  models: [
    {
      id: "sim-stream",
      provider: "simulated",
      upstream_model: "sim-stream",
      tier: "flash",
      capabilities: { vision: false, long_context: false },
      context_window: 32000,
      max_output_tokens: 1000,
      pricing: { input: 300, output: 1500, cached_input: 0 },
      simulated: { ttft_ms: 20, tokens_per_second: 40, failure_rate: 0 },
    },
  ],
};
const LIMIT = 1;

let s: Stack;
let admin: ReturnType<typeof apiClient>;
let redis: Redis;

beforeAll(async () => {
  s = await startStack({
    apps: ["gateway", "usage-aggregator"],
    env: { MODEL_CATALOG_PATH: writeTestCatalog(CATALOG), WORKER_LOCK_MS: "1000", ROUTER_CONCURRENCY: "1", LOG_LEVEL: "error" },
  });
  admin = apiClient(s.url, s.key);
  redis = createRedis(s.env.REDIS_URL!);
}, 60_000);
afterAll(async () => {
  redis?.disconnect();
  await s?.stop();
});

async function budgeted(name: string) {
  const t = (await admin.post<Json>("/admin/v1/tenants", { name })).body;
  expect(
    (await admin.call<Json>("PATCH", `/admin/v1/deployments/${t.default_deployment_id}`, { body: { budget: { period: "day", limit_usd: LIMIT } } })).status,
  ).toBe(200);
  const key = (await admin.post<Json>(`/admin/v1/tenants/${t.id}/api-keys`, { name: "k", scopes: ["jobs:write", "jobs:read", "usage:read"] })).body
    .key as string;
  await new Promise((r) => setTimeout(r, 1100)); // deployment settings reach the gateway
  const client = apiClient(s.url, key);
  const budget = async () =>
    ((await client.get<Json>("/v1/budgets")).body.data as Json[]).find((x) => x.scope === "deployment" && x.id === t.default_deployment_id)!;
  const submit = async () =>
    (await client.post<Json>("/v1/jobs", { model: "sim-stream", messages: [{ role: "user", content: `re-run me, ${name}` }], max_tokens: 40 })).body
      .id as string;
  return { client, key, budget, submit, deployment: t.default_deployment_id as string };
}

const killedBySelf = async (w: SpawnedApp) => {
  const code = await Promise.race([w.exited, new Promise((r) => setTimeout(() => r("still running"), 30_000).unref())]);
  if (code !== "SIGKILL") throw new Error(`worker did not kill itself at its fault point (${String(code)}):\n${w.output()}`);
};
const stop = async (w: SpawnedApp) => {
  w.kill("SIGTERM");
  await w.exited;
};
const usageRows = (id: string) =>
  s.database.db.selectFrom("usage_events").select(["attempt", "status", "provenance", "cost_usd"]).where("job_id", "=", id).orderBy("attempt").execute();

test("budget nearly spent: the re-run after a billed dead run is refused with budget_exhausted, and nothing goes over the limit", async () => {
  const { client, key, budget, submit } = await budgeted("rerun-refused");
  // Worker 1 dies right after writing its 5th delta: a run the provider was paid for, not yet billed.
  const w1 = await s.spawn("router-worker", { SWITCHYARD_FAULT_POINTS: "delta:5" }, "refused-w1");
  const id = await submit();
  await killedBySelf(w1);
  const admitted = await budget();
  expect(admitted).toMatchObject({ spent_usd: 0 });
  const estimate = admitted.reserved_usd as number;
  expect(estimate).toBeGreaterThan(0);

  // Everything else the budget holds is now reserved by another job: spent + reserved = the limit.
  const ledger = new BudgetLedger({ redis, prefix: s.prefix, loadSpent: async () => ({ usd: 0, tokens: 0 }) });
  const { scopes } = RouteJobPayload.parse(await new JobStore({ redis, keys: new RedisKeys(s.prefix) }).payload(id)).budget;
  const room = Math.round((LIMIT - estimate) * 1e9) / 1e9;
  expect(await ledger.reserve("filler", scopes, { usd: room, tokens: 0 })).toEqual({ ok: true, replayed: false });

  // Worker 2 bills the dead run, which leaves the re-run uncovered; the budget cannot fund it.
  const w2 = await s.spawn("router-worker", {}, "refused-w2");
  const job = await waitFor(
    async () => {
      const j = (await client.get<Json>(`/v1/jobs/${id}`)).body;
      return j.status === "failed" ? j : undefined;
    },
    30_000,
    "the job to fail",
  );
  await stop(w2);
  expect(job.error).toMatchObject({ code: "budget_exhausted", reason: "budget_exhausted" });
  expect(job.error.message).toMatch(/cannot cover running it again/);
  expect(job.attempts).toEqual({ runs: 1, waits: 0 }); // no provider was called again
  const events = (await readSse(`${s.url}/v1/jobs/${id}/events`, { headers: { authorization: `Bearer ${key}` }, timeoutMs: 10_000 })).events;
  const terminals = events.filter((e) => e.event === "done" || e.event === "error");
  expect(terminals).toHaveLength(1);
  expect(JSON.parse(terminals[0]!.data)).toMatchObject({ code: "budget_exhausted", reason: "budget_exhausted" });

  // The dead run is billed (partial); the refusal spent nothing. Spend and holds stay within the limit.
  const rows = await waitFor(
    async () => {
      const r = await usageRows(id);
      return r.length >= 2 ? r : undefined;
    },
    20_000,
    "the job's usage rows",
  );
  expect(rows.map((r) => [r.attempt, r.status, r.provenance])).toEqual([
    [1, "incomplete", "partial"],
    [2, "failed", "estimated"],
  ]);
  const deadRun = Number(rows[0]!.cost_usd);
  expect(deadRun).toBeGreaterThan(0);
  expect(Number(rows[1]!.cost_usd)).toBe(0);
  const ended = await budget();
  expect(ended.spent_usd).toBeCloseTo(deadRun, 9);
  expect(ended.reserved_usd).toBeCloseTo(room, 9); // the job's hold was released; only the filler's is left
  expect(ended.spent_usd + ended.reserved_usd).toBeLessThanOrEqual(LIMIT);
  expect(await ledger.release("filler")).toBe(true);
  expect(await budget()).toMatchObject({ reserved_usd: 0, reserved_tokens: 0 });
}, 90_000);

test("budget ample: the re-run's reservation is topped up by what the dead run cost, covers the re-run, and is released at the end", async () => {
  const { client, budget, submit } = await budgeted("rerun-covered");
  const w1 = await s.spawn("router-worker", { SWITCHYARD_FAULT_POINTS: "delta:5" }, "covered-w1");
  const id = await submit();
  await killedBySelf(w1);
  const estimate = (await budget()).reserved_usd as number;

  // Worker 2 bills the dead run, tops the reservation up and dies as its run begins: the job holds
  // the whole estimate again, on top of what the dead run spent.
  const w2 = await s.spawn("router-worker", { SWITCHYARD_FAULT_POINTS: "run.begun" }, "covered-w2");
  await killedBySelf(w2);
  const [dead] = await waitFor(
    async () => {
      const r = await usageRows(id);
      return r.length >= 1 ? r : undefined;
    },
    20_000,
    "the dead run's usage row",
  );
  expect(dead).toMatchObject({ attempt: 1, status: "incomplete", provenance: "partial" });
  const deadRun = Number(dead!.cost_usd);
  expect(deadRun).toBeGreaterThan(0);
  const during = await budget();
  expect(during.spent_usd).toBeCloseTo(deadRun, 9);
  expect(during.reserved_usd).toBeCloseTo(estimate, 9);

  // Worker 3 runs the job to the end; the reservation covered the re-run and is released.
  const w3 = await s.spawn("router-worker", {}, "covered-w3");
  const job = await waitFor(
    async () => {
      const j = (await client.get<Json>(`/v1/jobs/${id}`)).body;
      return j.status === "succeeded" ? j : undefined;
    },
    30_000,
    "the job to succeed",
  );
  await stop(w3);
  expect(job.attempts).toEqual({ runs: 3, waits: 0 });
  const rows = await waitFor(
    async () => {
      const r = await usageRows(id);
      return r.some((x) => x.attempt === 3) ? r : undefined;
    },
    20_000,
    "the finishing run's usage row",
  );
  expect(rows.map((r) => [r.attempt, r.status])).toEqual([
    [1, "incomplete"],
    [3, "succeeded"],
  ]);
  expect(Number(rows[1]!.cost_usd)).toBeLessThanOrEqual(estimate);
  const ended = await waitFor(
    async () => {
      const b = await budget();
      return b.reserved_usd === 0 ? b : undefined;
    },
    10_000,
    "the reservation to be released",
  );
  expect(ended.spent_usd).toBeCloseTo(deadRun + Number(rows[1]!.cost_usd), 9);
  expect(ended.reserved_tokens).toBe(0);
}, 90_000);
