import type { ModelCatalog } from "@switchyard/contracts";
import { createRedis, RedisKeys } from "@switchyard/queue";
import {
  apiClient,
  freePort,
  httpOk,
  openAIModel,
  readSse,
  spawnApp,
  startFakeOpenAI,
  startStack,
  waitFor,
  writeTestCatalog,
  type FakeOpenAI,
  type SpawnedApp,
  type SseEvent,
  type Stack,
} from "@switchyard/testkit";
import { Queue } from "bullmq";
import { FAULT_POINTS, type FaultPoint } from "../fault-points";

type Json = Record<string, any>;
// At first `up-a` cuts every answer after two deltas (a stream retry, then a non-stream call, both
// cut), so each job streams, restarts and falls back to `sim`, which streams the whole answer.
const CATALOG: ModelCatalog = {
  default_model: "up-a",
  models: [
    openAIModel("up-a", { input: 2, output: 8, cached_input: 0 }),
    {
      id: "sim",
      provider: "simulated",
      upstream_model: "sim",
      tier: "flash",
      capabilities: { vision: false, long_context: false },
      context_window: 32000,
      max_output_tokens: 4096,
      pricing: { input: 1, output: 4, cached_input: 0 },
      simulated: { ttft_ms: 20, tokens_per_second: 60, failure_rate: 0 },
    },
  ],
};

/**
 * Where each worker dies. Late points are reached by a fresh job; early points by a job whose
 * earlier run already streamed deltas and died (killed at `delta:4`, in up-a's second try).
 */
const LATE: FaultPoint[] = ["fallback.restart", "finish.written", "usage.settled", "usage.enqueued"];
const EARLY: FaultPoint[] = ["attempt.started", "usage.parked", "usage.settled", "usage.enqueued", "run.begun", "run.running"];

let fake: FakeOpenAI;
let s: Stack;
let client: ReturnType<typeof apiClient>;
let key: string;
const doomed: SpawnedApp[] = [];

beforeAll(async () => {
  fake = await startFakeOpenAI({ reply: "alpha beta gamma delta epsilon zeta eta theta", chunkDelayMs: 10, mode: { kind: "cut_after", chunks: 3 } });
  s = await startStack({
    apps: ["gateway", "usage-aggregator"],
    env: {
      MODEL_CATALOG_PATH: writeTestCatalog(CATALOG),
      OPENAI_BASE_URL: fake.url,
      OPENAI_API_KEY: "sk-test",
      // up-a fails every time on purpose; its breaker must stay closed so every job reaches the fallback.
      BREAKER_MIN_VOLUME: "100000",
      WORKER_LOCK_MS: "1000",
      ROUTER_CONCURRENCY: "1",
      LOG_LEVEL: "error",
    },
  });
  const admin = apiClient(s.url, s.key);
  const t = (await admin.post<Json>("/admin/v1/tenants", { name: "crashes" })).body;
  expect(
    (await admin.call<Json>("PATCH", `/admin/v1/deployments/${t.default_deployment_id}`, { body: { budget: { period: "day", limit_usd: 50 } } })).status,
  ).toBe(200);
  key = (await admin.post<Json>(`/admin/v1/tenants/${t.id}/api-keys`, { name: "k", scopes: ["jobs:write", "jobs:read", "usage:read"] })).body.key;
  client = apiClient(s.url, key);
  await new Promise((r) => setTimeout(r, 1100)); // deployment settings reach the gateway
}, 60_000);
afterAll(async () => {
  for (const w of doomed) w.kill("SIGKILL");
  await s?.stop();
  await fake?.close();
});

const submit = async (n: number) =>
  (await client.post<Json>("/v1/jobs", { model: "up-a", messages: [{ role: "user", content: `crash job ${n}` }], max_tokens: 24 })).body.id as string;
const job = async (id: string) => (await client.get<Json>(`/v1/jobs/${id}`)).body;

/**
 * Start one worker per point (each takes one job at a time) and wait until every one has killed
 * itself at its point. The queue is paused until every worker is ready, so that each takes a job
 * of its own: workers starting seconds apart (a loaded machine) would let a late one take a job
 * that an early one already died on (BullMQ puts a stalled job back ahead of waiting ones); that
 * job then stalls a third time and fails for good, while another job is never taken.
 */
async function dieAt(points: string[]): Promise<void> {
  const redis = createRedis(s.env.REDIS_URL!);
  const queue = new Queue("ai-route", { connection: redis, prefix: new RedisKeys(s.prefix).bullPrefix });
  try {
    await queue.pause();
    const workers: SpawnedApp[] = [];
    try {
      await Promise.all(
        points.map(async (p, i) => {
          const port = await freePort();
          workers[i] = await spawnApp(
            "router-worker",
            { ...s.env, SWITCHYARD_FAULT_POINTS: p, METRICS_PORT: String(port) },
            () => httpOk(`http://127.0.0.1:${port}/health`),
            60_000,
            port,
          );
        }),
      );
    } finally {
      doomed.push(...workers.filter(Boolean));
      await queue.resume();
    }
    await waitAll(workers, points);
  } finally {
    await queue.close();
    redis.disconnect();
  }
}
async function waitAll(workers: SpawnedApp[], points: string[]): Promise<void> {
  const codes = await Promise.all(workers.map((w) => Promise.race([w.exited, new Promise((r) => setTimeout(() => r("still running"), 40_000).unref())])));
  codes.forEach((code, i) => {
    if (code !== "SIGKILL") throw new Error(`worker for ${points[i]} did not die at its point (${String(code)}):\n${workers[i]!.output()}`);
  });
}
/** A worker without fault points runs until every job ended; then it is stopped. */
async function survive(ids: string[], label: string): Promise<void> {
  const w = await s.spawn("router-worker", {}, label);
  await waitFor(
    async () => ((await Promise.all(ids.map(job))).every((j) => ["succeeded", "failed", "incomplete", "canceled"].includes(j.status)) ? true : undefined),
    60_000,
    "every job to end",
  ).catch(async (err: Error) => {
    throw new Error(`${err.message}: ${JSON.stringify((await Promise.all(ids.map(job))).map((j) => [j.id, j.status]))}\n${w.output()}`);
  });
  w.kill("SIGTERM");
  await w.exited;
}

test("a worker killed at any fault point leaves a job that ends once, with the text its stream shows, billed once per run", async () => {
  // fair.dispatched (the fair dispatcher, before a job reaches BullMQ) has its own crash test: fair-scheduling.int.test.ts.
  expect(new Set([...LATE, ...EARLY, "delta", "fair.dispatched"])).toEqual(new Set(FAULT_POINTS));

  // Late points: fresh jobs, one worker per point; a survivor finishes them.
  const late = await Promise.all(LATE.map((_, i) => submit(i)));
  await dieAt(LATE.map((p) => `${p}:1`));
  await survive(late, "survivor-1");

  // Early points: every job first loses a run mid-stream (after 4 deltas), then a worker per
  // point takes one of those jobs over and dies at its point; a last survivor finishes them all.
  // up-a now answers in full: nothing but the start of an attempt can announce that the dead
  // run's deltas are void, so a lost `restart` would glue them onto the answer.
  fake.setMode({ kind: "ok" });
  const early = await Promise.all(EARLY.map((_, i) => submit(100 + i)));
  await dieAt(EARLY.map(() => "delta:4"));
  await dieAt(EARLY.map((p) => `${p}:1`));
  await survive(early, "survivor-2");

  let ledgerUsd = 0;
  for (const id of [...late, ...early]) {
    const j = await job(id);
    const events: SseEvent[] = (await readSse(`${s.url}/v1/jobs/${id}/events`, { headers: { authorization: `Bearer ${key}` }, timeoutMs: 10_000 })).events;
    const where = `job ${id}: ${JSON.stringify(events.map((e) => `${e.event}${e.event === "status" ? e.data : ""}`))}`;
    expect([where, j.status]).toEqual([where, "succeeded"]);
    // Exactly one terminal event, and it is the last.
    const terminals = events.filter((e) => e.event === "done" || e.event === "error");
    expect([where, terminals.length, terminals[0] === events.at(-1)]).toEqual([where, 1, true]);
    // What an SSE client reassembles (a restart drops what came before) is the stored answer.
    let text = "";
    const runsWithOutput = new Set<number>();
    let run = 0;
    for (const e of events) {
      if (e.event === "status" && JSON.parse(e.data).attempt) run = JSON.parse(e.data).attempt;
      if (e.event === "restart") text = "";
      if (e.event === "delta") {
        text += JSON.parse(e.data).text;
        runsWithOutput.add(run);
      }
    }
    expect([where, text]).toEqual([where, j.output.text]);
    expect(j.attempts.runs).toBe(run);
    // One ledger row per (job, attempt); every run that streamed output is billed, a dead one as partial.
    const rows = await waitFor(
      async () => {
        const r = await s.database.db
          .selectFrom("usage_events")
          .select(["attempt", "status", "provenance", "cost_usd"])
          .where("job_id", "=", id)
          .orderBy("attempt")
          .execute();
        return r.length >= runsWithOutput.size && r.some((x) => x.attempt === run) ? r : undefined;
      },
      20_000,
      `usage rows of ${where}`,
    );
    const attempts = rows.map((r) => r.attempt);
    expect([where, attempts]).toEqual([where, [...new Set(attempts)]]);
    expect([where, attempts.sort()]).toEqual([where, [...runsWithOutput].sort()]);
    // The finishing run is "partial" too when up-a's cut output is part of its spend.
    expect(rows.find((r) => r.attempt === run)).toMatchObject({ status: "succeeded" });
    for (const r of rows) if (r.attempt !== run) expect([where, r.attempt, r.status, r.provenance]).toEqual([where, r.attempt, "incomplete", "partial"]);
    ledgerUsd += rows.reduce((sum, r) => sum + Number(r.cost_usd), 0);
  }
  // Budgets settled each billed run exactly once, and released every hold.
  const budget = await waitFor(async () => {
    const b = ((await client.get<Json>("/v1/budgets")).body.data as Json[]).find((x) => x.scope === "deployment");
    return b && b.reserved_usd === 0 ? b : undefined;
  });
  expect(budget.spent_usd).toBeCloseTo(ledgerUsd, 6);
}, 150_000);
