import type { ModelCatalog } from "@switchyard/contracts";
import { createRedis, RedisKeys } from "@switchyard/queue";
import { apiClient, readSse, startFakeOpenAI, startStack, waitFor, writeTestCatalog, type FakeOpenAI, type SseEvent, type Stack } from "@switchyard/testkit";

type Json = Record<string, any>;
const REPLY = "one two three four five six seven eight nine ten eleven twelve";
const sim = (id: string, tier: "lite" | "flash" | "pro") => ({
  id,
  provider: "simulated" as const,
  upstream_model: id,
  tier,
  capabilities: { vision: false, long_context: false },
  context_window: 32000,
  max_output_tokens: 4096,
  pricing: { input: 1, output: 1, cached_input: 0 },
  simulated: { ttft_ms: 5, tokens_per_second: 2000, failure_rate: 0 },
});
const up = (id: string, tier: "lite" | "flash" | "pro") => ({
  id,
  provider: "openai" as const,
  upstream_model: `${id}-upstream`,
  tier,
  capabilities: { vision: false, long_context: false },
  context_window: 128000,
  max_output_tokens: 4096,
  pricing: { input: 2, output: 8, cached_input: 0 },
});
const CATALOG: ModelCatalog = {
  default_model: "up-flash",
  models: [up("up-flash", "flash"), sim("sim-flash", "flash"), sim("sim-lite", "lite"), up("up-only-pro", "pro")],
};

let fake: FakeOpenAI;
let s: Stack;
let a: ReturnType<typeof apiClient>;
let workerMetrics: () => Promise<string>;

beforeAll(async () => {
  fake = await startFakeOpenAI({ reply: REPLY, chunkDelayMs: 2 });
  s = await startStack({
    apps: ["gateway", "usage-aggregator"],
    env: {
      MODEL_CATALOG_PATH: writeTestCatalog(CATALOG),
      OPENAI_BASE_URL: fake.url,
      OPENAI_API_KEY: "sk-test",
      STREAM_STALL_MS: "400",
      PROVIDER_TIMEOUT_MS: "3000",
      BREAKER_MIN_VOLUME: "5",
      BREAKER_OPEN_MS: "1000",
    },
  });
  const w = await s.spawn("router-worker", {}, "worker");
  workerMetrics = async () => (await fetch(`http://127.0.0.1:${w.port}/metrics`)).text();
  a = apiClient(s.url, s.key);
}, 60_000);
afterAll(async () => {
  await s?.stop();
  await fake?.close();
});
afterEach(async () => {
  fake.setMode({ kind: "ok" });
  for (const m of CATALOG.models) await a.post(`/admin/v1/circuit-breakers/${m.id}/reset`);
});

const run = async (body: Json) => {
  const id = (await a.post<Json>("/v1/jobs", body)).body.id as string;
  const events = (await readSse(`${s.url}/v1/jobs/${id}/events`, { headers: { authorization: `Bearer ${s.key}` }, timeoutMs: 30_000 })).events;
  return { id, events, job: (await a.get<Json>(`/v1/jobs/${id}`)).body };
};
const joined = (events: SseEvent[]) => {
  let t = "";
  for (const e of events) {
    if (e.event === "restart") t = "";
    if (e.event === "delta") t += JSON.parse(e.data).text;
  }
  return t;
};
const ask = (model: string, content = "hello") => ({ model, messages: [{ role: "user", content }] });

test("a 500 from the upstream moves the job to the next model of the chain, recorded in routing", async () => {
  fake.setMode({ kind: "error", status: 500 });
  const { job, events } = await run(ask("up-flash"));
  expect(job.status).toBe("succeeded");
  expect(job.served_model).toBe("sim-flash");
  expect(job.routing.decision.candidates.slice(0, 2)).toEqual(["up-flash", "sim-flash"]);
  expect(job.routing.fallbacks).toEqual([expect.objectContaining({ from: "up-flash", to: "sim-flash", kind: "error" })]);
  expect(events.filter((e) => e.event === "done")).toHaveLength(1);
  expect(joined(events)).toBe(job.output.text);
});

test("a force-opened breaker is skipped without calling the upstream; reset brings the model back; both are audited", async () => {
  const f = await a.post<Json>("/admin/v1/circuit-breakers/up-flash/force-open", { duration_ms: 60_000 });
  expect(f.status).toBe(200);
  expect(f.body.state).toBe("open");
  const list = (await a.get<Json>("/admin/v1/circuit-breakers")).body.data as Json[];
  expect(list.find((m) => m.model === "up-flash")).toMatchObject({ state: "open" });
  expect((await a.get<Json>("/health/ai")).body).toMatchObject({ status: "degraded", open: ["up-flash"] });
  const gwMetrics = await (await fetch(`${s.url}/metrics`)).text();
  expect(gwMetrics).toMatch(/circuit_breaker_state\{model="up-flash"\} 2/);
  const before = fake.requests.length;
  const { job } = await run(ask("up-flash"));
  expect(job.status).toBe("succeeded");
  expect(job.served_model).toBe("sim-flash");
  expect(fake.requests.length).toBe(before);
  await a.post("/admin/v1/circuit-breakers/up-flash/reset");
  expect((await a.get<Json>("/health/ai")).body.status).toBe("ok");
  const again = await run(ask("up-flash"));
  expect(again.job.served_model).toBe("up-flash");
  expect(again.job.output.text).toBe(REPLY);
  const audit = await s.database.db.selectFrom("audit_log").select(["action", "target_id"]).where("target_type", "=", "circuit_breaker").execute();
  expect(audit).toEqual(
    expect.arrayContaining([
      { action: "circuit_breaker.force_open", target_id: "up-flash" },
      { action: "circuit_breaker.reset", target_id: "up-flash" },
    ]),
  );
  const bad = await a.post<Json>("/admin/v1/circuit-breakers/up-flash/force-open", { duration_ms: -5 });
  expect(bad.status).toBe(400);
  expect(bad.body.error.param).toBe("duration_ms");
  expect((await a.post<Json>("/admin/v1/circuit-breakers/nope/reset")).status).toBe(404);
});

test("repeated upstream failures trip the shared breaker, and the worker then stops calling it", async () => {
  fake.setMode({ kind: "error", status: 503 });
  for (let i = 0; i < 6; i++) expect((await run(ask("up-flash", `trip ${i}`))).job.served_model).toBe("sim-flash");
  const states = (await a.get<Json>("/admin/v1/circuit-breakers")).body.data as Json[];
  expect(states.find((m) => m.model === "up-flash")!.state).toBe("open");
  const before = fake.requests.length;
  await run(ask("up-flash", "skipped"));
  expect(fake.requests.length).toBe(before);
});

test("a stream that stalls is retried once, then answered by a non-stream call, announced by a restart", async () => {
  fake.setMode({ kind: "stall_after", chunks: 3, streamOnly: true });
  const before = fake.requests.length;
  const { job, events } = await run(ask("up-flash", "stall please"));
  expect(job.status).toBe("succeeded");
  expect(job.served_model).toBe("up-flash");
  expect(job.output.text).toBe(REPLY);
  const sent = fake.requests.slice(before).map((r) => (r.body as Json).stream === true);
  expect(sent).toEqual([true, true, false]);
  const restarts = events.filter((e) => e.event === "restart").map((e) => JSON.parse(e.data).reason);
  expect(restarts).toEqual(["stall_retry", "stall_retry"]);
  expect(joined(events)).toBe(REPLY);
  expect(await workerMetrics()).toMatch(/ai_stream_stalls_total \d+/);
  const stalls = Number(/ai_stream_stalls_total (\d+)/.exec(await workerMetrics())![1]);
  expect(stalls).toBeGreaterThanOrEqual(2);
});

test("a malformed chunk and a cut mid-stream are retried the same way", async () => {
  for (const mode of [
    { kind: "malformed_after", chunks: 2, streamOnly: true },
    { kind: "cut_after", chunks: 2, streamOnly: true },
  ] as const) {
    fake.setMode(mode);
    const { job, events } = await run(ask("up-flash", `fault ${mode.kind}`));
    expect(job).toMatchObject({ status: "succeeded", served_model: "up-flash", output: { text: REPLY } });
    expect(events.filter((e) => e.event === "restart").map((e) => JSON.parse(e.data).reason)).toEqual(["stream_retry", "stream_retry"]);
    expect(joined(events)).toBe(REPLY);
  }
});

test("the worker exposes the routing and cost metrics", async () => {
  const text = await workerMetrics();
  for (const name of [
    "ai_model_selected_total",
    "ai_fallback_total",
    "ai_job_ttft_seconds_bucket",
    "ai_job_duration_seconds_bucket",
    "ai_tokens_total",
    "ai_cost_usd_total",
    "circuit_breaker_state",
    "ai_queue_dequeue_total",
  ]) {
    expect(text).toContain(name);
  }
  expect(text).toMatch(/ai_fallback_total\{kind="error"\} [1-9]/);
  expect(text).toMatch(/ai_tokens_total\{model="up-flash",kind="output"\} [1-9]/);
  expect(text).toMatch(/ai_model_selected_total\{model="up-flash",reason="explicit"\} [1-9]/);
});

describe("when every model of the chain fails", () => {
  let s2: Stack;
  let b: ReturnType<typeof apiClient>;
  const ONLY_UPSTREAM: ModelCatalog = { default_model: "up-a", models: [up("up-a", "flash"), up("up-b", "lite")] };
  beforeAll(async () => {
    s2 = await startStack({
      env: {
        MODEL_CATALOG_PATH: writeTestCatalog(ONLY_UPSTREAM),
        OPENAI_BASE_URL: fake.url,
        OPENAI_API_KEY: "sk-test",
        STREAM_STALL_MS: "400",
        PROVIDER_TIMEOUT_MS: "3000",
      },
    });
    b = apiClient(s2.url, s2.key);
  }, 60_000);
  afterAll(async () => {
    await s2?.stop();
  });

  test("a cut after output began ends the job incomplete with reason upstream_cut, never a silent truncation", async () => {
    fake.setMode({ kind: "cut_after", chunks: 3 });
    const id = (await b.post<Json>("/v1/jobs", ask("up-a", "cut everywhere"))).body.id as string;
    const events = (await readSse(`${s2.url}/v1/jobs/${id}/events`, { headers: { authorization: `Bearer ${s2.key}` }, timeoutMs: 30_000 })).events;
    const job = (await b.get<Json>(`/v1/jobs/${id}`)).body;
    expect(job.status).toBe("incomplete");
    expect(job.error).toMatchObject({ code: "upstream_interrupted", reason: "upstream_cut" });
    const terminal = events.filter((e) => e.event === "done" || e.event === "error");
    expect(terminal).toHaveLength(1);
    expect(JSON.parse(terminal[0]!.data)).toMatchObject({ reason: "upstream_cut" });
    // Clients saw output before the cuts, then a restart for every retry, then the reason.
    expect(events.filter((e) => e.event === "delta").length).toBeGreaterThan(0);
    expect(events.filter((e) => e.event === "restart").length).toBeGreaterThan(0);
    expect(terminal[0]).toBe(events.at(-1));
    expect(job.output.text).toBe(joined(events));
    expect(job.routing.fallbacks.map((f: Json) => f.to)).toEqual(["up-b"]);
    // Each run was cut after its answer began: paid re-executions stop at the bound (3).
    const redis = createRedis(s2.env.REDIS_URL!);
    expect(await redis.hget(new RedisKeys(s2.prefix).job(id), "paid_attempts")).toBe("3");
    expect(events.filter((e) => e.event === "status").map((e) => JSON.parse(e.data).attempt)).toEqual(expect.arrayContaining([1, 2, 3]));
    redis.disconnect();
  });

  test("a 400 from every model fails the job without BullMQ retries", async () => {
    fake.setMode({ kind: "error", status: 400 });
    const before = fake.requests.length;
    const id = (await b.post<Json>("/v1/jobs", ask("up-a", "bad request"))).body.id as string;
    const job = await waitFor(async () => {
      const j = (await b.get<Json>(`/v1/jobs/${id}`)).body;
      return j.status === "failed" ? j : undefined;
    });
    expect(job.error.code).toBe("provider_error");
    // One call per model of the chain, none repeated.
    expect(fake.requests.length - before).toBe(2);
  });
});
