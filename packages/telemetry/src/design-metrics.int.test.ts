import { QUEUE_NAMES } from "@switchyard/contracts";
import { apiClient, startStack, waitFor, type Stack } from "@switchyard/testkit";

/**
 * DESIGN.md "Observability": every metric, with its names and labels, scraped from the gateway's
 * `/metrics` and each worker's metrics port after real jobs (one with RAG) have run through the
 * whole system.
 */
type Sample = { name: string; labels: Record<string, string>; value: number };

function parse(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** Name → label names, as DESIGN.md lists them (histograms are checked by their `_bucket` series). */
const EVERY_PROCESS: Record<string, string[]> = {
  ai_queue_depth_total: ["queue", "state"],
  ai_queue_enqueue_total: ["queue"],
  ai_queue_dequeue_total: ["queue"],
  ai_queue_workers: ["queue"],
  http_requests_total: ["method", "route", "status"],
  http_request_duration_seconds_bucket: ["method", "route", "status", "le"],
  ai_tokens_total: ["model", "kind"],
  ai_cost_usd_total: ["model"],
  ai_fallback_total: ["kind"],
  ai_rag_requests_total: ["result"],
  ai_stream_stalls_total: [],
  circuit_breaker_state: ["model"],
  ai_sse_connections: [],
  rate_limit_rejections_total: ["reason"],
  nodejs_eventloop_lag_seconds: ["quantile"],
};
/** Measured where the work happens: routing and the provider call in the router-worker; budgets where they are reserved and settled. */
const WHERE_MEASURED: Record<string, Record<string, string[]>> = {
  "router-worker": {
    ai_job_ttft_seconds_bucket: ["model", "le"],
    ai_job_duration_seconds_bucket: ["model", "le"],
    ai_model_selected_total: ["model", "reason"],
    budget_used_ratio: ["deployment"],
  },
  gateway: { budget_used_ratio: ["deployment"] },
};
const PROCESSES = ["gateway", "router-worker", "rag-worker", "usage-aggregator"] as const;

let s: Stack;
let deploymentId: string;
const scrape = async (app: string) => parse(await (await fetch(`http://127.0.0.1:${s.apps.get(app)!.port}/metrics`)).text());
const value = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v)).reduce((a, x) => a + x.value, 0);

beforeAll(async () => {
  s = await startStack({ apps: [...PROCESSES], env: { HOUSEKEEPING_EVERY_MS: "1000" } });
  const dep = await s.database.db.selectFrom("deployments").select("id").executeTakeFirstOrThrow();
  deploymentId = dep.id;
  await s.database.db
    .updateTable("deployments")
    .set({ budget: JSON.stringify({ period: "day", limit_usd: 50 }) })
    .where("id", "=", deploymentId)
    .execute();
  const a = apiClient(s.url, s.key);
  expect(
    (
      await a.post("/v1/collections/kb/documents", {
        id: "d1",
        title: "Refunds",
        text: "Refunds are paid within 14 days of the return arriving at our warehouse.",
      })
    ).status,
  ).toBe(202);
  await waitFor(
    async () => ((await a.get<{ status: string }>("/v1/collections/kb/documents/d1")).body.status === "indexed" ? true : undefined),
    30_000,
    "the document to be indexed",
  );
  const ids: string[] = [];
  for (const body of [
    { model: "auto", messages: [{ role: "user", content: "How long do refunds take?" }], max_tokens: 16, rag: { collection: "kb" } },
    { model: "auto", messages: [{ role: "user", content: "Say hello." }], max_tokens: 16 },
  ]) {
    const r = await a.post<{ id: string }>("/v1/jobs", body);
    expect(r.status).toBe(202);
    ids.push(r.body.id);
  }
  for (const id of ids)
    await waitFor(
      async () => ((await a.get<{ status: string }>(`/v1/jobs/${id}`)).body.status === "succeeded" ? true : undefined),
      30_000,
      `job ${id} to succeed`,
    );
  // The usage events reach the aggregator after the jobs end.
  await waitFor(async () => ((await s.database.db.selectFrom("usage_events").select("job_id").execute()).length >= 2 ? true : undefined), 30_000, "usage rows");
}, 180_000);
afterAll(async () => s?.stop());

test.each(PROCESSES)("%s exposes every DESIGN.md metric with its labels", async (app) => {
  const samples = await scrape(app);
  const expected = { ...EVERY_PROCESS, ...(WHERE_MEASURED[app] ?? {}) };
  const missing: string[] = [];
  for (const [name, labels] of Object.entries(expected)) {
    const series = samples.filter((x) => x.name === name);
    if (series.length === 0) missing.push(name);
    else for (const x of series) expect(Object.keys(x.labels).sort()).toEqual([...labels].sort());
  }
  expect(missing).toEqual([]);
  // Queue depth and workers come from BullMQ for every queue, whichever process is asked.
  for (const q of QUEUE_NAMES) {
    expect(samples.some((x) => x.name === "ai_queue_workers" && x.labels.queue === q)).toBe(true);
    expect(samples.some((x) => x.name === "ai_queue_depth_total" && x.labels.queue === q && x.labels.state === "waiting")).toBe(true);
  }
  expect(value(samples, "ai_queue_workers", { queue: "ai-route" })).toBeGreaterThanOrEqual(1);
  expect(value(samples, "ai_queue_workers", { queue: "ai-usage" })).toBeGreaterThanOrEqual(1);
  expect(value(samples, "ai_queue_workers", { queue: "ai-rag" })).toBeGreaterThanOrEqual(1);
});

test("each process counts what it did: enqueues, dequeues, tokens, cost, RAG hits, finished jobs, its own HTTP", async () => {
  const [gw, router, rag, agg] = await Promise.all(PROCESSES.map(scrape));
  expect(value(gw!, "ai_queue_enqueue_total", { queue: "ai-route" })).toBeGreaterThanOrEqual(2);
  expect(value(gw!, "ai_queue_enqueue_total", { queue: "ai-index" })).toBeGreaterThanOrEqual(1);
  expect(value(gw!, "http_requests_total", { method: "POST", route: "/v1/jobs", status: "202" })).toBe(2);
  expect(value(router!, "ai_queue_dequeue_total", { queue: "ai-route" })).toBeGreaterThanOrEqual(2);
  expect(value(router!, "ai_queue_enqueue_total", { queue: "ai-usage" })).toBeGreaterThanOrEqual(2);
  expect(value(router!, "ai_tokens_total", { kind: "output" })).toBeGreaterThan(0);
  expect(value(router!, "ai_cost_usd_total")).toBeGreaterThan(0);
  expect(value(router!, "ai_jobs_finished_total", { status: "succeeded" })).toBe(2);
  expect(value(router!, "ai_model_selected_total")).toBe(2);
  expect(value(router!, "ai_job_ttft_seconds_count")).toBe(2);
  expect(value(rag!, "ai_queue_dequeue_total", { queue: "ai-rag" })).toBe(1);
  expect(value(rag!, "ai_queue_dequeue_total", { queue: "ai-index" })).toBeGreaterThanOrEqual(1);
  expect(value(rag!, "ai_rag_requests_total", { result: "hit" })).toBe(1);
  expect(value(agg!, "ai_queue_dequeue_total", { queue: "ai-usage" })).toBeGreaterThanOrEqual(2);
  // The housekeeping scheduler fires every second here.
  expect(value(agg!, "ai_queue_dequeue_total", { queue: "ai-housekeeping" })).toBeGreaterThanOrEqual(1);
  // A worker's metrics server counts its own scrapes under their route.
  expect(value(agg!, "http_requests_total", { method: "GET", route: "/metrics", status: "200" })).toBeGreaterThanOrEqual(1);
  // Work a process does not do shows as zero there, not as a missing series.
  expect(value(gw!, "ai_tokens_total")).toBe(0);
  expect(value(agg!, "ai_stream_stalls_total")).toBe(0);
  // Budget use: the $50 deployment budget, read at admission (gateway) and after settlement (router-worker).
  for (const samples of [gw!, router!]) {
    const ratio = samples.find((x) => x.name === "budget_used_ratio" && x.labels.deployment === deploymentId);
    expect(ratio?.value).toBeGreaterThan(0);
    expect(ratio?.value).toBeLessThan(1);
  }
});

test("every worker answers /health/ready naming its checks", async () => {
  const expected: Record<string, string[]> = {
    "router-worker": ["redis"],
    "rag-worker": ["migrations", "postgres", "redis"],
    "usage-aggregator": ["migrations", "postgres", "redis"],
  };
  for (const [app, checks] of Object.entries(expected)) {
    const r = await fetch(`http://127.0.0.1:${s.apps.get(app)!.port}/health/ready`);
    const body = (await r.json()) as { ready: boolean; checks: Record<string, { ok: boolean }> };
    expect({ app, status: r.status, ready: body.ready }).toEqual({ app, status: 200, ready: true });
    expect(Object.keys(body.checks).sort()).toEqual(checks);
    for (const c of Object.values(body.checks)) expect(c.ok).toBe(true);
  }
});
