import { randomBytes } from "node:crypto";
import { apiClient, startFakeOtlp, startStack, waitFor, writeTestCatalog, type FakeOtlp, type ReceivedSpan, type Stack } from "@switchyard/testkit";

type Json = Record<string, any>;
const JOB_ID = "switchyard.job.id";
let fake: FakeOtlp;
let s: Stack;
let a: ReturnType<typeof apiClient>;

beforeAll(async () => {
  fake = await startFakeOtlp();
  // Every app exports to the fake collector; a short batch delay so spans arrive within a test.
  s = await startStack({
    apps: ["gateway", "rag-worker", "router-worker", "usage-aggregator"],
    env: { MODEL_CATALOG_PATH: writeTestCatalog(), OTEL_EXPORTER_OTLP_ENDPOINT: fake.url, OTEL_BSP_SCHEDULE_DELAY: "100", LOG_LEVEL: "info" },
  });
  a = apiClient(s.url, s.key);
}, 60_000);
afterAll(async () => {
  await s?.stop();
  await fake?.close();
});

async function finished(id: string): Promise<Json> {
  return waitFor(
    async () => {
      const r = await a.get<Json>(`/v1/jobs/${id}`);
      return ["succeeded", "failed", "canceled", "incomplete"].includes(r.body.status) ? r.body : undefined;
    },
    20_000,
    `job ${id} to finish`,
  );
}

/** The job's spans, once the gateway's, the router-worker's and `providerCalls` provider calls have all arrived. */
async function spansOf(
  jobId: string,
  providerCalls = 1,
): Promise<{ submit: ReceivedSpan; route: ReceivedSpan; calls: ReceivedSpan[]; all: Map<string, ReceivedSpan> }> {
  const mine = () => fake.spans.filter((x) => x.attributes[JOB_ID] === jobId);
  await fake.waitFor(() => {
    const m = mine();
    return (
      m.some((x) => x.name === "submit job") && m.some((x) => x.name === "route job") && m.filter((x) => x.name === "provider call").length >= providerCalls
    );
  });
  const m = mine();
  const one = (name: string) => {
    const found = m.filter((x) => x.name === name);
    expect(found).toHaveLength(1);
    return found[0]!;
  };
  return {
    submit: one("submit job"),
    route: one("route job"),
    calls: m.filter((x) => x.name === "provider call"),
    all: new Map(fake.spans.map((x) => [x.spanId, x])),
  };
}

/** Span names from `span` up its parent chain, as far as the collector has the parents. */
function ancestry(span: ReceivedSpan, all: Map<string, ReceivedSpan>): string[] {
  const chain = [`${span.serviceName}/${span.name}`];
  for (let p = span.parentSpanId ? all.get(span.parentSpanId) : undefined; p; p = p.parentSpanId ? all.get(p.parentSpanId) : undefined)
    chain.push(`${p.serviceName}/${p.name}`);
  return chain;
}

test("POST /v1/jobs: the gateway's span, the worker's route job span and its provider call share one trace, parent to child", async () => {
  const r = await a.post<Json>("/v1/jobs", { model: "sim-fast", messages: [{ role: "user", content: "trace me" }], max_tokens: 16 });
  expect(r.status).toBe(202);
  const job = await finished(r.body.id);
  expect(job.status).toBe("succeeded");

  const { submit, route, calls, all } = await spansOf(r.body.id);
  expect(submit).toMatchObject({
    serviceName: "gateway",
    kind: 2,
    parentSpanId: null,
    attributes: { "http.route": "/v1/jobs", "switchyard.tenant.id": expect.any(String), "switchyard.idempotent_replay": false },
  });
  expect(route).toMatchObject({
    serviceName: "router-worker",
    traceId: submit.traceId,
    parentSpanId: submit.spanId,
    attributes: { "switchyard.routing.chosen_model": "sim-fast" },
  });
  expect(calls).toHaveLength(1);
  expect(calls[0]).toMatchObject({
    serviceName: "router-worker",
    traceId: submit.traceId,
    parentSpanId: route.spanId,
    kind: 3,
    statusCode: 0,
    attributes: {
      "switchyard.model": "sim-fast",
      "switchyard.provider": "simulated",
      "switchyard.provider.mode": "stream",
      "switchyard.provider.outcome": "ok",
      "switchyard.provider.tries": 1,
    },
  });
  expect(ancestry(calls[0]!, all)).toEqual(["router-worker/provider call", "router-worker/route job", "gateway/submit job"]);
});

test("POST /v1/chat/completions: the job joins the request's trace; two requests are two traces", async () => {
  const res = await fetch(`${s.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${s.key}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "sim-fast", messages: [{ role: "user", content: "trace me too" }], max_tokens: 8 }),
  });
  expect(res.status).toBe(200);
  const jobId = res.headers.get("x-switchyard-job-id")!;
  const { submit, route, calls, all } = await spansOf(jobId);
  expect(submit.attributes["http.route"]).toBe("/v1/chat/completions");
  expect(route).toMatchObject({ traceId: submit.traceId, parentSpanId: submit.spanId });
  expect(ancestry(calls[0]!, all)).toEqual(["router-worker/provider call", "router-worker/route job", "gateway/submit job"]);
  const other = fake.spans.filter((x) => x.name === "submit job" && x.attributes[JOB_ID] !== jobId);
  expect(other.length).toBeGreaterThan(0);
  for (const o of other) expect(o.traceId).not.toBe(submit.traceId);
});

test.each([
  ["the lean path (application/json)", "application/json"],
  ["express's chain (application/merge-patch+json)", "application/merge-patch+json"],
])("a caller's traceparent makes the job's spans part of the caller's trace, through %s", async (_name, type) => {
  const traceId = randomBytes(16).toString("hex");
  const parentId = randomBytes(8).toString("hex");
  const res = await fetch(`${s.url}/v1/jobs`, {
    method: "POST",
    headers: { authorization: `Bearer ${s.key}`, "content-type": type, traceparent: `00-${traceId}-${parentId}-01` },
    body: JSON.stringify({ model: "sim-fast", messages: [{ role: "user", content: "my trace" }], max_tokens: 8 }),
  });
  expect(res.status).toBe(202);
  const jobId = ((await res.json()) as Json).id as string;
  const { submit, route } = await spansOf(jobId);
  expect(submit).toMatchObject({ traceId, parentSpanId: parentId, kind: 2 });
  expect(route).toMatchObject({ traceId, parentSpanId: submit.spanId });
  // A malformed traceparent is ignored: the request starts a trace of its own.
  const bad = await fetch(`${s.url}/v1/jobs`, {
    method: "POST",
    headers: { authorization: `Bearer ${s.key}`, "content-type": type, traceparent: "00-zz-yy-01" },
    body: JSON.stringify({ messages: [{ role: "user", content: "bad trace" }] }),
  });
  expect(bad.status).toBe(202);
  const badSpans = await spansOf(((await bad.json()) as Json).id as string);
  expect(badSpans.submit.parentSpanId).toBeNull();
});

test("a fallback shows as two provider call spans under one route job: the failed model's, then the one that answered", async () => {
  const r = await a.post<Json>("/v1/jobs", { model: "sim-flaky", messages: [{ role: "user", content: "fall back" }], max_tokens: 8 });
  const job = await finished(r.body.id);
  expect(job.status).toBe("succeeded");
  expect(job.served_model).not.toBe("sim-flaky");
  const { submit, route, calls } = await spansOf(r.body.id, 2);
  expect(calls).toHaveLength(2);
  for (const c of calls) expect(c).toMatchObject({ traceId: submit.traceId, parentSpanId: route.spanId });
  const [failed, answered] = [
    calls.find((c) => c.attributes["switchyard.model"] === "sim-flaky")!,
    calls.find((c) => c.attributes["switchyard.model"] === job.served_model)!,
  ];
  expect(failed).toMatchObject({ statusCode: 2, attributes: { "switchyard.provider.outcome": "error", "error.type": expect.any(String) } });
  expect(answered).toMatchObject({ statusCode: 0, attributes: { "switchyard.provider.outcome": "ok" } });
});

/** The JSON lines an app printed that mention `jobId` and carry `msg`. */
function logLines(app: string, jobId: string, msg: string): Json[] {
  return s.apps
    .get(app)!
    .output()
    .split("\n")
    .filter((l) => l.startsWith("{") && l.includes(jobId))
    .map((l) => JSON.parse(l) as Json)
    .filter((l) => l.msg === msg);
}

test("a RAG job: gateway → queue → rag-worker → router-worker → provider in one trace, and its log lines carry that trace, the job and the tenant", async () => {
  expect(
    (
      await a.post<Json>("/v1/collections/kb/documents", {
        id: "t1",
        title: "Shipping",
        text: "Orders ship within two business days from our Leeds warehouse.",
      })
    ).status,
  ).toBe(202);
  await waitFor(
    async () => ((await a.get<Json>("/v1/collections/kb/documents/t1")).body.status === "indexed" ? true : undefined),
    30_000,
    "the document to be indexed",
  );
  const r = await a.post<Json>("/v1/jobs", {
    model: "sim-fast",
    messages: [{ role: "user", content: "When do orders ship?" }],
    max_tokens: 8,
    rag: { collection: "kb" },
  });
  expect(r.status).toBe(202);
  const job = await finished(r.body.id);
  expect(job.status).toBe("succeeded");
  const { submit, route, calls, all } = await spansOf(r.body.id);
  const isRetrieve = (x: ReceivedSpan) => x.name === "retrieve" && x.attributes[JOB_ID] === r.body.id;
  const retrieve = (await fake.waitFor((spans) => spans.some(isRetrieve))).find(isRetrieve)!;
  expect(retrieve).toMatchObject({
    serviceName: "rag-worker",
    traceId: submit.traceId,
    parentSpanId: submit.spanId,
    kind: 5,
    attributes: { "messaging.destination.name": "ai-rag", "switchyard.rag.hit": true },
  });
  expect(route).toMatchObject({ traceId: submit.traceId, kind: 5, attributes: { "messaging.destination.name": "ai-route" } });
  expect(ancestry(calls[0]!, all)).toEqual(["router-worker/provider call", "router-worker/route job", "gateway/submit job"]);
  expect(ancestry(retrieve, all)).toEqual(["rag-worker/retrieve", "gateway/submit job"]);

  // Logs: the gateway's "job accepted" and the worker's "job finished" join the trace by trace_id.
  const tenantId = submit.attributes["switchyard.tenant.id"];
  const accepted = await waitFor(async () => logLines("gateway", r.body.id, "job accepted")[0], 10_000, "the gateway's job accepted line");
  expect(accepted).toMatchObject({
    level: 30,
    service: "gateway",
    jobId: r.body.id,
    tenantId,
    trace_id: submit.traceId,
    requestId: expect.stringMatching(/^req_/),
  });
  const done = await waitFor(async () => logLines("router-worker", r.body.id, "job finished")[0], 10_000, "the worker's job finished line");
  expect(done).toMatchObject({ service: "router-worker", jobId: r.body.id, tenantId, trace_id: submit.traceId, status: "succeeded", servedModel: "sim-fast" });
  for (const line of [accepted, done]) expect(JSON.stringify(line)).not.toContain(s.key);
});
