import { RouteJobPayload, type ModelCatalog } from "@switchyard/contracts";
import { runStatuses } from "./run-statuses";
import { estimateInputTokens } from "@switchyard/providers";
import { createQueueSet, createRedis, JobStore, RedisKeys } from "@switchyard/queue";
import { apiClient, readSse, startStack, waitFor, writeTestCatalog, type SpawnedApp, type SseEvent, type Stack } from "@switchyard/testkit";

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
      pricing: { input: 3, output: 15, cached_input: 0 },
      simulated: { ttft_ms: 20, tokens_per_second: 40, failure_rate: 0 },
    },
  ],
};
const MESSAGES = [{ role: "user" as const, content: "bill the run that died" }];

let s: Stack;
let admin: ReturnType<typeof apiClient>;

beforeAll(async () => {
  s = await startStack({
    apps: ["gateway", "usage-aggregator"],
    env: { MODEL_CATALOG_PATH: writeTestCatalog(CATALOG), WORKER_LOCK_MS: "1000", ROUTER_CONCURRENCY: "1", LOG_LEVEL: "error" },
  });
  admin = apiClient(s.url, s.key);
}, 60_000);
afterAll(async () => {
  await s?.stop();
});

const sse = async (id: string, key: string, stopAfter?: number): Promise<SseEvent[]> =>
  (await readSse(`${s.url}/v1/jobs/${id}/events`, { headers: { authorization: `Bearer ${key}` }, stopAfter, timeoutMs: 30_000 })).events;
const deltaText = (events: SseEvent[]) =>
  events
    .filter((e) => e.event === "delta")
    .map((e) => JSON.parse(e.data).text as string)
    .join("");
const killedBySelf = async (w: SpawnedApp) => {
  const code = await Promise.race([w.exited, new Promise((r) => setTimeout(() => r("still running"), 30_000).unref())]);
  if (code !== "SIGKILL") throw new Error(`worker did not kill itself at its fault point (${String(code)}):\n${w.output()}`);
};

test("a run killed mid-stream is billed from what it streamed (partial), once, and the budget settles it", async () => {
  const t = (await admin.post<Json>("/admin/v1/tenants", { name: "partial" })).body;
  expect(
    (await admin.call<Json>("PATCH", `/admin/v1/deployments/${t.default_deployment_id}`, { body: { budget: { period: "day", limit_usd: 50 } } })).status,
  ).toBe(200);
  const key = (await admin.post<Json>(`/admin/v1/tenants/${t.id}/api-keys`, { name: "k", scopes: ["jobs:write", "jobs:read", "usage:read"] })).body
    .key as string;
  await new Promise((r) => setTimeout(r, 1100)); // deployment settings reach the gateway
  const client = apiClient(s.url, key);

  // Worker 1 dies right after writing its 5th delta.
  const w1 = await s.spawn("router-worker", { SWITCHYARD_FAULT_POINTS: "delta:5" }, "w1");
  const id = (await client.post<Json>("/v1/jobs", { model: "sim-stream", messages: MESSAGES, max_tokens: 40 })).body.id as string;
  await killedBySelf(w1);
  const streamed = deltaText(await sse(id, key, 7)); // status queued (the gateway's), status running, 5 deltas
  expect(streamed.length).toBeGreaterThan(0);

  // Worker 2 takes the job, bills the dead run, and dies after enqueueing that bill but before
  // forgetting it: the next worker replays the hand-off. Worker 3 then dies after enqueueing the
  // final bill, before forgetting it; worker 4 replays that one. Replays must add nothing.
  const w2 = await s.spawn("router-worker", { SWITCHYARD_FAULT_POINTS: "usage.enqueued:1" }, "w2");
  await killedBySelf(w2);
  const w3 = await s.spawn("router-worker", { SWITCHYARD_FAULT_POINTS: "usage.enqueued:2" }, "w3");
  await killedBySelf(w3);
  const w4 = await s.spawn("router-worker", {}, "w4");

  const events = await sse(id, key);
  const job = await waitFor(async () => {
    const j = (await client.get<Json>(`/v1/jobs/${id}`)).body;
    return j.status === "succeeded" ? j : undefined;
  });
  expect(events.filter((e) => e.event === "done" || e.event === "error")).toHaveLength(1);
  expect(events.filter((e) => e.event === "restart")).toHaveLength(1);
  let text = "";
  for (const e of events) text = e.event === "restart" ? "" : e.event === "delta" ? text + JSON.parse(e.data).text : text;
  expect(text).toBe(job.output.text);
  expect(job.attempts).toEqual({ runs: 2, waits: 0 });
  expect(runStatuses(events).map((d) => d.attempt)).toEqual([1, 2]);

  // Exactly two rows: the dead run, estimated from what it streamed, and the run that finished.
  const rows = await waitFor(async () => {
    const r = await s.database.db
      .selectFrom("usage_events")
      .select(["attempt", "status", "provenance", "input_tokens", "output_tokens", "cost_usd"])
      .where("job_id", "=", id)
      .orderBy("attempt")
      .execute();
    return r.length >= 2 ? r : undefined;
  });
  expect(rows.map((r) => [r.attempt, r.status, r.provenance])).toEqual([
    [1, "incomplete", "partial"],
    [2, "succeeded", "reported"],
  ]);
  expect(Number(rows[0]!.output_tokens)).toBe(Math.ceil(streamed.length / 4));
  expect(Number(rows[0]!.input_tokens)).toBe(estimateInputTokens(MESSAGES));
  // The partial run cost what the catalog says its tokens cost.
  const price = CATALOG.models[0]!.pricing;
  expect(Number(rows[0]!.cost_usd)).toBeCloseTo((Number(rows[0]!.input_tokens) * price.input + Number(rows[0]!.output_tokens) * price.output) / 1e6, 9);

  // The budget was charged each run exactly once, nothing else, and nothing stays reserved.
  const ledgerUsd = rows.reduce((sum, r) => sum + Number(r.cost_usd), 0);
  const budget = await waitFor(async () => {
    const b = ((await client.get<Json>("/v1/budgets")).body.data as Json[])?.find((x) => x.scope === "deployment");
    if (!(b && b.reserved_usd === 0)) throw new Error(JSON.stringify((await client.get<Json>("/v1/budgets")).body));
    return b;
  });
  expect(budget.spent_usd).toBeCloseTo(ledgerUsd, 6);

  // A late redelivery of the finished job (a stalled copy, a retried enqueue) changes nothing.
  const redis = createRedis(s.env.REDIS_URL!);
  const keys = new RedisKeys(s.prefix);
  const queues = createQueueSet({ connection: redis, keys });
  try {
    const payload = await new JobStore({ redis, keys }).payload(id);
    await queues.enqueue("ai-route", RouteJobPayload.parse(payload), { jobId: `${id}-again` });
    await waitFor(async () => ((await queues.queue("ai-route").getJob(`${id}-again`))?.finishedOn ? true : undefined));
  } finally {
    await queues.close();
    redis.disconnect();
  }
  await new Promise((r) => setTimeout(r, 1000));
  expect(await s.database.db.selectFrom("usage_events").select("attempt").where("job_id", "=", id).execute()).toHaveLength(2);
  const after = ((await client.get<Json>("/v1/budgets")).body.data as Json[]).find((x) => x.scope === "deployment")!;
  expect(after.spent_usd).toBeCloseTo(budget.spent_usd, 9);
  expect(w4.child.exitCode).toBeNull();
}, 120_000);
