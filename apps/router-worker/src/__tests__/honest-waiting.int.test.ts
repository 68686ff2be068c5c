import type { JobView, ModelCatalog } from "@switchyard/contracts";
import { createQueueSet, createRedis, JobStore, RedisKeys, type QueueSet, type Redis } from "@switchyard/queue";
import { apiClient, readSse, startFakeOpenAI, startStack, waitFor, writeTestCatalog, type FakeOpenAI, type SseEvent, type Stack } from "@switchyard/testkit";

type Json = Record<string, any>;
const REPLY = "one two three four five six seven eight";
const up = (id: string, tier: "lite" | "flash") => ({
  id,
  provider: "openai" as const,
  upstream_model: id,
  tier,
  capabilities: { vision: false, long_context: false },
  context_window: 128000,
  max_output_tokens: 4096,
  pricing: { input: 1, output: 1, cached_input: 0 },
});
// Only upstream models: while their breakers are open nothing can answer, so jobs wait.
const CATALOG: ModelCatalog = { default_model: "up-a", models: [up("up-a", "flash"), up("up-b", "lite")] };
const MODELS = CATALOG.models.map((m) => m.id);
/** How long a job may wait for its upstream before it fails (the worker's MAX_UPSTREAM_WAIT_MS). */
const MAX_WAIT_MS = 12_000;

let fake: FakeOpenAI;
let s: Stack;
let a: ReturnType<typeof apiClient>;
let redis: Redis;
let queues: QueueSet;
let workerMetrics: () => Promise<string>;

beforeAll(async () => {
  fake = await startFakeOpenAI({ reply: REPLY, chunkDelayMs: 2 });
  s = await startStack({
    env: {
      MODEL_CATALOG_PATH: writeTestCatalog(CATALOG),
      OPENAI_BASE_URL: fake.url,
      OPENAI_API_KEY: "sk-test",
      BREAKER_MIN_VOLUME: "50",
      MAX_UPSTREAM_WAIT_MS: String(MAX_WAIT_MS),
      PROVIDER_TIMEOUT_MS: "5000",
      STREAM_STALL_MS: "2000",
      LOG_LEVEL: "error",
    },
  });
  a = apiClient(s.url, s.key);
  redis = createRedis(s.env.REDIS_URL!);
  queues = createQueueSet({ connection: redis, keys: new RedisKeys(s.prefix) });
  const port = s.apps.get("router-worker")!.port;
  workerMetrics = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}, 60_000);
afterAll(async () => {
  await queues?.close();
  redis?.disconnect();
  await s?.stop();
  await fake?.close();
});
afterEach(async () => {
  fake.setMode({ kind: "ok" });
  for (const m of MODELS) await a.post(`/admin/v1/circuit-breakers/${m}/reset`);
});

const forceOpen = async (ms: number) => {
  for (const m of MODELS) expect((await a.post(`/admin/v1/circuit-breakers/${m}/force-open`, { duration_ms: ms })).status).toBe(200);
};
const ask = (content = "hello") => ({ model: "up-a", messages: [{ role: "user" as const, content }] });
const statuses = (events: SseEvent[]) => events.filter((e) => e.event === "status").map((e) => JSON.parse(e.data) as Json);
const jobNow = async (id: string) => (await a.get<JobView & Json>(`/v1/jobs/${id}`)).body;
const waitEnded = (id: string) =>
  waitFor(
    async () => {
      const j = await jobNow(id);
      return ["succeeded", "failed", "canceled", "incomplete"].includes(j.status) ? j : undefined;
    },
    30_000,
    `job ${id} to end`,
  );
const metricValue = (text: string, series: string) => Number(new RegExp(`^${series.replace(/[{}"=]/g, "\\$&")} (\\S+)$`, "m").exec(text)?.[1] ?? NaN);

describe("a job waiting for its upstream says so", () => {
  test("every breaker open: the follower sees `waiting` (breaker_open, retry_at), then `running` with attempt 1 after recovery", async () => {
    const waitsBefore = metricValue(await workerMetrics(), 'ai_job_waits_total{reason="breaker_open"}');
    await forceOpen(2500);
    const id = (await a.post<Json>("/v1/jobs", ask())).body.id as string;
    const { events } = await readSse(`${s.url}/v1/jobs/${id}/events`, { headers: { authorization: `Bearer ${s.key}` }, timeoutMs: 30_000 });
    const st = statuses(events);
    const waiting = st.filter((d) => d.status === "waiting");
    expect(waiting.length).toBeGreaterThan(0);
    const first = waiting[0]!;
    expect(first).toMatchObject({ status: "waiting", reason: "breaker_open", waits: 1 });
    expect(first.attempt).toBeUndefined();
    expect(Number.isNaN(Date.parse(first.retry_at))).toBe(false);
    // The next try is no earlier than the breakers' open period allows (force-open: 2.5 s from before the submit).
    expect(Date.parse(first.retry_at) - Date.parse((await jobNow(id)).created_at)).toBeGreaterThan(1500);
    waiting.forEach((w, i) => expect(w.waits).toBe(i + 1));
    const running = st.filter((d) => d.status === "running");
    expect(running).toEqual([expect.objectContaining({ attempt: 1, waits: waiting.length })]);
    expect(st.findIndex((d) => d.status === "running")).toBeGreaterThan(st.findIndex((d) => d.status === "waiting"));
    expect(events.filter((e) => e.event === "done")).toHaveLength(1);
    const job = await jobNow(id);
    expect(job).toMatchObject({ status: "succeeded", attempts: { runs: 1, waits: waiting.length } });
    expect(metricValue(await workerMetrics(), 'ai_job_waits_total{reason="breaker_open"}')).toBeGreaterThanOrEqual(waitsBefore + waiting.length);
  }, 60_000);

  test("an upstream 429 parks the job as rate_limited_upstream until its Retry-After; a streamed chat completion shows it as an SSE comment", async () => {
    fake.setMode({ kind: "error", status: 429, headers: { "retry-after": "2" } });
    setTimeout(() => fake.setMode({ kind: "ok" }), 1500);
    const res = await fetch(`${s.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${s.key}`, "content-type": "application/json" },
      body: JSON.stringify({ ...ask(), stream: true }),
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    const id = res.headers.get("x-switchyard-job-id")!;
    expect(text).toMatch(/^: waiting rate_limited_upstream until \d{4}-\d\d-\d\dT/m);
    // Still OpenAI's stream: every data line is a chunk (or [DONE]), the answer is whole.
    const data = text
      .split("\n")
      .filter((l) => l.startsWith("data: "))
      .map((l) => l.slice(6));
    expect(data.at(-1)).toBe("[DONE]");
    const content = data
      .slice(0, -1)
      .map((d) => JSON.parse(d))
      .map((c) => c.choices[0]?.delta?.content ?? "")
      .join("");
    expect(content).toBe(REPLY);
    const { events } = await readSse(`${s.url}/v1/jobs/${id}/events`, { headers: { authorization: `Bearer ${s.key}` }, timeoutMs: 10_000 });
    const w = statuses(events).find((d) => d.status === "waiting")!;
    expect(w).toMatchObject({ reason: "rate_limited_upstream" });
    expect(metricValue(await workerMetrics(), 'ai_job_waits_total{reason="rate_limited_upstream"}')).toBeGreaterThanOrEqual(1);
  }, 60_000);
});

describe("non-stream requests honour the client's deadline", () => {
  const chat = (headers: Record<string, string>, body: Json = ask()) => a.post<Json>("/v1/chat/completions", body, headers);

  test("during an outage, X-Request-Timeout: 2 answers 503 with Retry-After and the job id within about 2 s; the job is canceled", async () => {
    await forceOpen(60_000);
    const t0 = Date.now();
    const r = await chat({ "x-request-timeout": "2" });
    const took = Date.now() - t0;
    expect(r.status).toBe(503);
    expect(took).toBeGreaterThanOrEqual(1900);
    expect(took).toBeLessThan(3500);
    const id = r.headers.get("x-switchyard-job-id")!;
    expect(r.body.error).toMatchObject({ type: "api_error", code: "service_unavailable", job_id: id });
    expect(r.body.error.message).toContain("breaker_open");
    expect(Number(r.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect((await jobNow(id)).status).toBe("canceled");
    // Express's path (a JSON type the lean path leaves to it) answers alike: the same handler.
    const viaExpress = await chat({ "x-request-timeout": "1", "content-type": "application/merge-patch+json" });
    expect(viaExpress.status).toBe(503);
    expect(viaExpress.body.error).toMatchObject({ code: "service_unavailable", job_id: viaExpress.headers.get("x-switchyard-job-id") });
    expect(Number(viaExpress.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    // The Responses API waits the same way.
    const resp = await a.post<Json>("/v1/responses", { model: "up-a", input: "hello" }, { "x-stainless-timeout": "1" });
    expect(resp.status).toBe(503);
    expect(resp.body.error.job_id).toBe(resp.headers.get("x-switchyard-job-id"));
    expect(Number(resp.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  }, 30_000);

  test("with an Idempotency-Key the job keeps waiting, and the same request later gets its answer", async () => {
    await forceOpen(60_000);
    const key = `deadline-${Date.now()}`;
    const first = await chat({ "x-request-timeout": "1", "idempotency-key": key });
    expect(first.status).toBe(503);
    const id = first.headers.get("x-switchyard-job-id")!;
    expect(first.body.error.message).toContain("same Idempotency-Key");
    expect((await jobNow(id)).status).not.toBe("canceled");
    for (const m of MODELS) await a.post(`/admin/v1/circuit-breakers/${m}/reset`);
    const again = await chat({ "x-request-timeout": "20", "idempotency-key": key });
    expect(again.status).toBe(200);
    expect(again.headers.get("x-switchyard-job-id")).toBe(id);
    expect(again.body.choices[0].message.content).toBe(REPLY);
  }, 40_000);

  test("a job still running at the deadline is a 504 (request_timeout) and is canceled", async () => {
    fake.setMode({ kind: "slow", delayMs: 400 });
    const r = await chat({ "x-request-timeout": "1" });
    expect(r.status).toBe(504);
    const id = r.headers.get("x-switchyard-job-id")!;
    expect(r.body.error).toMatchObject({ code: "request_timeout", job_id: id });
    expect(r.headers.get("retry-after")).toMatch(/^\d+$/);
    expect((await waitEnded(id)).status).toBe("canceled");
  }, 30_000);

  test("without a deadline, a job that waits out the worker's limit is a 503 with Retry-After, not a failed answer", async () => {
    await forceOpen(60_000);
    const t0 = Date.now();
    const r = await chat({});
    expect(r.status).toBe(503);
    expect(Date.now() - t0).toBeLessThan(MAX_WAIT_MS + 6000);
    expect(r.body.error).toMatchObject({ type: "api_error", code: "service_unavailable" });
    expect(r.body.error.message).toContain("breaker_open");
    expect(Number(r.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect((await jobNow(r.headers.get("x-switchyard-job-id")!)).status).toBe("failed");
  }, 40_000);

  test("a bad deadline header is a 400 naming it, before anything is admitted", async () => {
    for (const [h, v] of [
      ["x-request-timeout", "soon"],
      ["x-request-timeout", "0"],
      ["x-request-timeout", "-3"],
      ["x-stainless-timeout", "1e9"],
    ] as const) {
      const r = await chat({ [h]: v });
      expect([h, v, r.status, r.body.error?.param]).toEqual([h, v, 400, h === "x-request-timeout" ? "X-Request-Timeout" : "X-Stainless-Timeout"]);
      expect(r.headers.get("x-switchyard-job-id")).toBeNull();
    }
    const viaExpress = await chat({ "x-request-timeout": "soon", "content-type": "application/merge-patch+json" });
    expect([viaExpress.status, viaExpress.body.error?.param]).toEqual([400, "X-Request-Timeout"]);
    // A stream ignores it; the SDK's own header with a sane value is fine.
    expect((await chat({ "x-stainless-timeout": "600" })).status).toBe(200);
  }, 30_000);
});

describe("a failed job is a failed BullMQ job", () => {
  let failedId: string;

  test("it shows in BullMQ's failed set (no retries), in /admin/v1/queues and on the queue dashboard", async () => {
    fake.setMode({ kind: "error", status: 400 });
    failedId = (await a.post<Json>("/v1/jobs", ask("fail me"))).body.id as string;
    expect((await waitEnded(failedId)).status).toBe("failed");
    const q = queues.queue("ai-route");
    const bull = await waitFor(
      async () => {
        const j = await q.getJob(failedId);
        return j && (await j.getState()) === "failed" ? j : undefined;
      },
      10_000,
      "the BullMQ job to be failed",
    );
    expect(bull.failedReason).toMatch(/^provider_error: /);
    expect(bull.attemptsMade).toBe(1);
    const counts = (await a.get<Json>("/admin/v1/queues")).body.data.find((row: Json) => row.queue === "ai-route").counts;
    expect(counts.failed).toBeGreaterThanOrEqual(1);
    const board = await fetch(`${s.url}/admin/queues/api/queues?activeQueue=ai-route&status=failed&page=1`, { headers: { authorization: `Bearer ${s.key}` } });
    expect(board.status).toBe(200);
    const route = ((await board.json()) as Json).queues.find((x: Json) => x.name === "ai-route");
    expect(route.jobs.map((j: Json) => j.id)).toContain(failedId);
  }, 40_000);

  test("retry-failed leaves a terminal job failed; a forced redelivery calls no provider and bills nothing more", async () => {
    const calls = fake.requests.length;
    const usageRows = async () => (await s.database.db.selectFrom("usage_events").select("attempt").where("job_id", "=", failedId).execute()).length;
    const rowsBefore = await waitFor(async () => ((await usageRows()) > 0 ? usageRows() : undefined), 10_000, "the failed job's usage row");
    const r = await a.post<Json>("/admin/v1/queues/ai-route/retry-failed", {});
    expect(r.status).toBe(200);
    expect(r.body.retried).toBe(0);
    expect(r.body.skipped_terminal).toBeGreaterThanOrEqual(1);
    const q = queues.queue("ai-route");
    expect(await (await q.getJob(failedId))!.getState()).toBe("failed");
    // Past the admin action's guard (BullMQ's own retry): the worker takes it, finds it ended, and fails it again.
    await q.retryJobs({ state: "failed" });
    await waitFor(
      async () => {
        const j = await q.getJob(failedId);
        return j && j.attemptsMade >= 2 && (await j.getState()) === "failed" ? true : undefined;
      },
      10_000,
      "the redelivered job to be failed again",
    );
    await new Promise((res) => setTimeout(res, 500));
    expect(fake.requests.length).toBe(calls);
    expect(await usageRows()).toBe(rowsBefore);
    expect((await jobNow(failedId)).status).toBe("failed");
  }, 40_000);

  test("a failed route job that is a flow child lets its parent go on", async () => {
    fake.setMode({ kind: "error", status: 400 });
    const store = new JobStore({ redis, keys: new RedisKeys(s.prefix) });
    const id = `job_flowchild${Date.now()}`;
    const now = new Date().toISOString();
    const view = {
      id,
      object: "job",
      status: "queued",
      model: "up-a",
      served_model: null,
      created_at: now,
      started_at: null,
      completed_at: null,
      output: null,
      usage: null,
      routing: { decision: null, fallbacks: [] },
      error: null,
      metadata: null,
    } as unknown as JobView;
    await store.create({ view, tenantId: "ten_flow", deploymentId: "dep_flow", apiKeyId: null });
    // The parent sits in a queue nothing in this stack consumes, so its state is BullMQ's alone.
    const parent = await queues.enqueueFlow({ name: "ai-index", payload: { tenant_id: "ten_flow", collection: "c", document_id: "d" } }, [
      {
        name: "ai-route",
        payload: { job_id: id, tenant_id: "ten_flow", deployment_id: "dep_flow", api_key_id: null, request: ask("flow child"), created_at: now },
        opts: { jobId: id },
      },
    ]);
    await waitFor(async () => ((await (await queues.queue("ai-route").getJob(id))?.getState()) === "failed" ? true : undefined), 20_000, "the child to fail");
    await waitFor(async () => ((await parent.getState()) === "waiting" ? true : undefined), 10_000, "the parent to leave waiting-children");
  }, 40_000);
});
