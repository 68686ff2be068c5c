import { BatchObject, BatchOutputLine, CreateJobRequest, DEFAULT_BATCH_DISCOUNT } from "@switchyard/contracts";
import { seedDemo } from "@switchyard/db";
import { createLogger } from "@switchyard/telemetry";
import {
  apiClient,
  cleanupPrefix,
  createTestDatabase,
  freePort,
  httpOk,
  spawnApp,
  testPrefix,
  TEST_CATALOG,
  TEST_EMBEDDING_MODELS,
  TEST_REDIS_URL,
  waitFor,
  writeTestCatalog,
  type SpawnedApp,
  type TestDatabase,
} from "@switchyard/testkit";
import OpenAI from "openai";
import { loadEnv } from "../env";
import { startGateway, type RunningGateway } from "../server";
import { jobSpend } from "../services/admission";
import { startBatchRunner, type BatchRunner } from "../services/batch-runner";

/**
 * Batches and budgets (issue 18): a batch reserves as its lines are admitted, so it never spends
 * past its deployment's budget; a line that does not fit pauses the batch (`paused_reason`)
 * instead of failing, and it resumes when the budget is raised. Batch lines are priced at the
 * batch price and their ledger rows carry the batch; `/v1/embeddings` lines run through the
 * embeddings service. A gateway and batch runner in this process, a real router-worker and
 * usage-aggregator on the simulated provider.
 */
type Json = Record<string, any>;
let database: TestDatabase;
let gw: RunningGateway;
const apps: SpawnedApp[] = [];
let runner: BatchRunner;
let base: string;
let admin: ReturnType<typeof apiClient>;
const prefix = testPrefix("batchbudget");

beforeAll(async () => {
  database = await createTestDatabase();
  const key = (await seedDemo(database.db)).key!;
  const env = {
    DATABASE_URL: database.url,
    REDIS_URL: TEST_REDIS_URL,
    SWITCHYARD_PREFIX: prefix,
    MODEL_CATALOG_PATH: writeTestCatalog({ ...TEST_CATALOG, embedding_models: TEST_EMBEDDING_MODELS }),
    LOG_LEVEL: "silent",
    BATCH_RUNNER_ENABLED: "false",
  };
  const spawnOne = async (name: "router-worker" | "usage-aggregator") => {
    const port = await freePort();
    apps.push(await spawnApp(name, { ...env, LOG_LEVEL: "warn", METRICS_PORT: String(port) }, () => httpOk(`http://127.0.0.1:${port}/health`), 30_000, port));
  };
  [gw] = await Promise.all([
    startGateway(loadEnv({ ...env, PORT: "0", HOST: "127.0.0.1" }), { logger: createLogger({ name: "gateway", level: "silent" }), db: database.db }),
    spawnOne("router-worker"),
    spawnOne("usage-aggregator"),
  ]);
  base = `http://127.0.0.1:${gw.port}`;
  admin = apiClient(base, key);
  runner = startBatchRunner(gw.resources, { pollMs: 100, pauseRetryMs: 300, owner: "budget-runner" });
}, 60_000);
afterAll(async () => {
  await runner?.close();
  for (const a of apps) a.kill("SIGTERM");
  await Promise.all(apps.map((a) => a.exited));
  await gw?.close(0);
  await database?.drop();
  await cleanupPrefix(prefix);
});

/** A tenant (prepaid with `billing_mode`) with a deployment of `budget` and a key on it: its SDK client, and the deployment's id. */
async function tenantWithBudget(name: string, budget: Json | null, billing_mode: "postpaid" | "prepaid" = "postpaid") {
  const t = (await admin.post<Json>("/admin/v1/tenants", { name, billing_mode })).body;
  const d = (await admin.post<Json>(`/admin/v1/tenants/${t.id}/deployments`, { name: `${name} batch`, type: "internal", ...(budget ? { budget } : {}) })).body;
  const k = (
    await admin.post<Json>(`/admin/v1/tenants/${t.id}/api-keys`, { name: "k", scopes: ["jobs:write", "jobs:read", "usage:read"], deployment_id: d.id })
  ).body;
  return {
    client: new OpenAI({ baseURL: `${base}/v1`, apiKey: k.key, maxRetries: 0 }),
    key: k.key as string,
    deploymentId: d.id as string,
    tenantId: t.id as string,
  };
}

const chatLine = (customId: string, content: string, extra: Json = {}) =>
  JSON.stringify({
    custom_id: customId,
    method: "POST",
    url: "/v1/chat/completions",
    body: { model: "sim-fast", messages: [{ role: "user", content }], max_tokens: 16, ...extra },
  });

async function runBatch(client: OpenAI, lines: string[], endpoint: "/v1/chat/completions" | "/v1/embeddings" = "/v1/chat/completions") {
  const input = await client.files.create({ file: new File([lines.join("\n") + "\n"], "batch.jsonl"), purpose: "batch" });
  return client.batches.create({ input_file_id: input.id, endpoint, completion_window: "24h" });
}

async function fileLines(client: OpenAI, id: string) {
  const text = await (await client.files.content(id)).text();
  return text
    .trimEnd()
    .split("\n")
    .map((l) => BatchOutputLine.parse(JSON.parse(l)));
}

/** The batch as the SDK reads it, parsed against the contract (which holds the Switchyard fields). */
const batchOf = async (client: OpenAI, id: string) => BatchObject.parse(await client.batches.retrieve(id));
/** The batch once `ready` holds for it (read every poll), within `timeoutMs`. */
const batchWhen = (client: OpenAI, id: string, ready: (b: BatchObject) => boolean, what: string, timeoutMs = 20_000) =>
  waitFor(
    async () => {
      const b = await batchOf(client, id);
      return ready(b) ? b : undefined;
    },
    timeoutMs,
    what,
  );

test("a batch bigger than its budget pauses (budget_exhausted) without failing a line, never reserves past the budget, and completes once the budget is raised", async () => {
  // About 30 tokens reserved a line (short input + max_tokens 16): two or three lines fit, six do not.
  const limit = 80;
  const t = await tenantWithBudget("Budget batch", { period: "day", limit_tokens: limit });
  const ids = Array.from({ length: 6 }, (_, i) => `line-${i}`);
  const created = await runBatch(
    t.client,
    ids.map((id) => chatLine(id, `Say ${id}`)),
  );
  const paused = await batchWhen(t.client, created.id, (b) => b.paused_reason !== null, "the batch to pause");
  expect(paused).toMatchObject({ status: "in_progress", paused_reason: "budget_exhausted", request_counts: { total: 6, failed: 0 } });
  expect(paused.paused_at).toEqual(expect.any(Number));
  expect(paused.request_counts.completed).toBeLessThan(6);
  // No line failed for budget; the unadmitted ones wait, pending.
  const states = await database.db.selectFrom("batch_lines").select("state").where("batch_id", "=", created.id).execute();
  expect(states.filter((s) => s.state === "failed")).toEqual([]);
  expect(states.filter((s) => s.state === "pending").length).toBeGreaterThan(0);
  // Reservations at admission kept the batch inside the budget: spent plus reserved never past the limit.
  const budgets = (await apiClient(base, t.key).get<Json>("/v1/budgets")).body.data as Json[];
  const dep = budgets.find((b) => b.scope === "deployment" && b.id === t.deploymentId)!;
  expect(dep.spent_tokens + dep.reserved_tokens).toBeLessThanOrEqual(limit);
  const metrics = await (await fetch(`${base}/metrics`)).text();
  expect(metrics).toMatch(/ai_batches_paused\{reason="budget_exhausted"\} 1/);

  // Still paused a moment later (not failing lines, not finishing), trying its next line once per
  // pauseRetryMs (300 ms here), not every round (100 ms): each try is a refusal the alerts count.
  // About 3 tries a second; every round would be about 10. The bound leaves room for a round that
  // a loaded machine ran late (5 was seen once under load average 15).
  const refusals = async () => Number(/ai_budget_refusals_total\{code="budget_exhausted"\} (\d+)/.exec(await (await fetch(`${base}/metrics`)).text())?.[1]);
  const before = await refusals();
  await new Promise((r) => setTimeout(r, 1000));
  expect((await refusals()) - before).toBeLessThanOrEqual(6);
  expect(await batchOf(t.client, created.id)).toMatchObject({ status: "in_progress", paused_reason: "budget_exhausted", request_counts: { failed: 0 } });

  // Raise the budget: the batch resumes by itself and completes, every line answered.
  expect(
    (await admin.call<Json>("PATCH", `/admin/v1/deployments/${t.deploymentId}`, { body: { budget: { period: "day", limit_tokens: 1_000_000 } } })).status,
  ).toBe(200);
  const done = await batchWhen(t.client, created.id, (b) => b.status === "completed", "the batch to complete");
  expect(done).toMatchObject({ request_counts: { total: 6, completed: 6, failed: 0 }, paused_reason: null, paused_at: null, error_file_id: null });
  expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/ai_batches_paused\{reason="budget_exhausted"\} 0/);
}, 60_000);

test("a prepaid tenant without credits: the batch pauses (credits_exhausted) and resumes after a top-up", async () => {
  const t = await tenantWithBudget("Prepaid batch", null, "prepaid");
  const created = await runBatch(
    t.client,
    ["p0", "p1"].map((id) => chatLine(id, `Say ${id}`)),
  );
  const paused = await batchWhen(t.client, created.id, (b) => b.paused_reason !== null, "the batch to pause");
  expect(paused).toMatchObject({ status: "in_progress", paused_reason: "credits_exhausted", request_counts: { total: 2, completed: 0, failed: 0 } });
  const granted = await admin.call<Json>("POST", `/admin/v1/tenants/${t.tenantId}/credits`, {
    body: { amount_usd: 5, reason: "top-up" },
    headers: { "idempotency-key": `topup-${created.id}` },
  });
  expect(granted.status).toBeLessThan(300);
  const done = await batchWhen(t.client, created.id, (b) => b.status === "completed", "the batch to complete after the top-up");
  expect(done).toMatchObject({ request_counts: { total: 2, completed: 2, failed: 0 }, paused_reason: null });
}, 40_000);

test("a line whose job the budget refused after admission (a worker's re-run it could not cover) is not failed: it waits, pending, and runs again as a new job", async () => {
  const t = await tenantWithBudget("Refused re-run", null);
  const created = await runBatch(t.client, [chatLine("rerun", "Say again", { model: "sim-crawl", max_tokens: 4 })]);
  const first = await waitFor(
    async () => {
      const l = await database.db.selectFrom("batch_lines").select(["state", "job_id"]).where("batch_id", "=", created.id).executeTakeFirst();
      return l?.state === "submitted" ? l.job_id! : undefined;
    },
    10_000,
    "the line to be admitted",
  );
  // The job ends as a worker ends a re-run its budget refused (route-job's rerunBudget): failed, budget_exhausted.
  const stored = (await gw.resources.jobStore.get(first))!;
  const error = {
    code: "budget_exhausted",
    message: "an earlier run of this job was billed and the budget cannot cover running it again",
    reason: "budget_exhausted" as const,
  };
  const ended = await gw.resources.jobStore.finish(
    { ...stored.view, status: "failed", completed_at: new Date().toISOString(), error },
    { type: "error", data: error },
  );
  expect(ended.kind).toBe("finished");
  const done = await batchWhen(t.client, created.id, (b) => b.status === "completed", "the batch to complete");
  expect(done).toMatchObject({ request_counts: { total: 1, completed: 1, failed: 0 }, error_file_id: null, paused_reason: null });
  const line = await database.db
    .selectFrom("batch_lines")
    .select(["job_id", "admissions", "state"])
    .where("batch_id", "=", created.id)
    .executeTakeFirstOrThrow();
  expect(line).toMatchObject({ state: "done", admissions: 1 });
  expect(line.job_id).not.toBe(first);
  const out = await fileLines(t.client, done.output_file_id!);
  expect(out.map((l) => [l.custom_id, l.response!.request_id])).toEqual([["rerun", line.job_id]]);
}, 40_000);

test("a batch line's usage row carries its batch and costs the batch price (half the catalog's, sim-fast naming none); an interactive job's does neither", async () => {
  const t = await tenantWithBudget("Batch pricing", null);
  const body = { model: "sim-fast", messages: [{ role: "user", content: "Say priced" }], max_tokens: 16 };
  const created = await runBatch(t.client, [JSON.stringify({ custom_id: "priced", method: "POST", url: "/v1/chat/completions", body })]);
  const interactive = await apiClient(base, t.key).post<Json>("/v1/jobs", body);
  expect(interactive.status).toBe(202);
  await batchWhen(t.client, created.id, (b) => b.status === "completed", "the batch to complete");
  const line = await database.db.selectFrom("batch_lines").select("job_id").where("batch_id", "=", created.id).executeTakeFirstOrThrow();
  const jobIds = [line.job_id!, interactive.body.id as string];
  const rows = await waitFor(
    async () => {
      const r = await database.db
        .selectFrom("usage_events")
        .select(["job_id", "batch_id", "input_tokens", "output_tokens", "cost_usd", "status"])
        .where("job_id", "in", jobIds)
        .execute();
      return r.length === 2 ? r : undefined;
    },
    20_000,
    "both jobs' usage rows",
  );
  const batchRow = rows.find((r) => r.job_id === line.job_id)!;
  const interactiveRow = rows.find((r) => r.job_id === interactive.body.id)!;
  // sim-fast (test catalog): $1 input, $2 output per 1M tokens; batch lines pay DEFAULT_BATCH_DISCOUNT of it.
  const full = (r: typeof batchRow) => (r.input_tokens * 1 + r.output_tokens * 2) / 1e6;
  expect(batchRow).toMatchObject({ batch_id: created.id, status: "succeeded" });
  expect(batchRow.output_tokens).toBeGreaterThan(0);
  expect(Number(batchRow.cost_usd)).toBeCloseTo(full(batchRow) * DEFAULT_BATCH_DISCOUNT, 9);
  expect(interactiveRow).toMatchObject({ batch_id: null, status: "succeeded" });
  expect(Number(interactiveRow.cost_usd)).toBeCloseTo(full(interactiveRow), 9);
  expect(Number(interactiveRow.cost_usd)).toBeGreaterThan(0);
  // The batch object's usage is its lines' ledger rows.
  const b = await batchOf(t.client, created.id);
  expect(b.usage).toEqual({
    input_tokens: batchRow.input_tokens,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: batchRow.output_tokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: batchRow.input_tokens + batchRow.output_tokens,
  });
  // The job's own view bills the same discounted cost.
  const view = (await apiClient(base, t.key).get<Json>(`/v1/jobs/${line.job_id}`)).body;
  expect(view.usage.cost_usd).toBeCloseTo(Number(batchRow.cost_usd), 9);
}, 40_000);

test("/v1/embeddings lines run through the embeddings service: vectors in the output file, refusals in the error file, usage rows marked and at the batch price", async () => {
  const t = await tenantWithBudget("Embeddings batch", null);
  const line = (customId: string, body: Json) => JSON.stringify({ custom_id: customId, method: "POST", url: "/v1/embeddings", body });
  const created = await runBatch(
    t.client,
    [
      line("one", { model: "emb-sim", input: "hello there" }),
      line("two", { model: "emb-sim", input: ["a", "b"], dimensions: 8 }),
      line("unknown-model", { model: "emb-nope", input: "x" }),
      line("no-input", { model: "emb-sim" }),
    ],
    "/v1/embeddings",
  );
  const done = await batchWhen(t.client, created.id, (b) => ["completed", "failed"].includes(b.status), "the embeddings batch to end");
  expect(done).toMatchObject({ status: "completed", endpoint: "/v1/embeddings", request_counts: { total: 4, completed: 2, failed: 2 } });
  const out = await fileLines(t.client, done.output_file_id!);
  expect(out.map((l) => l.custom_id)).toEqual(["one", "two"]);
  const bodies = out.map((l) => l.response!.body as { object: string; model: string; data: Array<{ embedding: number[] }>; usage: { prompt_tokens: number } });
  expect(bodies.map((b) => [b.object, b.model, b.data.length, b.data[0]!.embedding.length])).toEqual([
    ["list", "emb-sim", 1, 64],
    ["list", "emb-sim", 2, 8],
  ]);
  const errors = await fileLines(t.client, done.error_file_id!);
  expect(errors.map((l) => l.custom_id)).toEqual(["unknown-model", "no-input"]);
  expect(errors[0]!.response!.status_code).toBeGreaterThanOrEqual(400);
  expect(errors[1]!.error!.code).toBe("invalid_request");
  // One ledger row per line (the id its output line names), marked with the batch, at half emb-sim's $50 per 1M.
  const ids = out.map((l) => l.response!.request_id);
  const rows = await waitFor(
    async () => {
      const r = await database.db.selectFrom("usage_events").select(["job_id", "batch_id", "input_tokens", "cost_usd"]).where("job_id", "in", ids).execute();
      return r.length === 2 ? r : undefined;
    },
    20_000,
    "the embeddings lines' usage rows",
  );
  for (const r of rows) {
    expect(r.batch_id).toBe(created.id);
    expect(r.input_tokens).toBe(bodies[ids.indexOf(r.job_id)]!.usage.prompt_tokens);
    expect(Number(r.cost_usd)).toBeCloseTo((r.input_tokens * 50 * DEFAULT_BATCH_DISCOUNT) / 1e6, 9);
  }
}, 40_000);

test("a batch line reserves at the batch price: a line that would not fit the budget at the interactive price runs in a batch", async () => {
  const body = { model: "sim-fast", messages: [{ role: "user" as const, content: "Price me" }], max_tokens: 16 };
  const t = await tenantWithBudget("Batch price", null);
  const settings = await gw.resources.deployments.get(t.deploymentId);
  const req = CreateJobRequest.parse(body);
  const interactive = (await jobSpend(gw.resources, req, settings, null)).usd;
  const batch = (await jobSpend(gw.resources, req, settings, null, { batch: true })).usd;
  expect(batch).toBeCloseTo(interactive * DEFAULT_BATCH_DISCOUNT, 9);
  // A budget between the two: the interactive request is refused, the same request as a batch line runs.
  const limit = (interactive + batch) / 2;
  expect((await admin.call<Json>("PATCH", `/admin/v1/deployments/${t.deploymentId}`, { body: { budget: { period: "day", limit_usd: limit } } })).status).toBe(
    200,
  );
  await new Promise((r) => setTimeout(r, 1100)); // deployment settings are cached for a second
  const refused = await apiClient(base, t.key).post<Json>("/v1/chat/completions", body);
  expect(refused.status).toBe(402);
  const created = await runBatch(t.client, [JSON.stringify({ custom_id: "priced", method: "POST", url: "/v1/chat/completions", body })]);
  const done = await batchWhen(t.client, created.id, (b) => b.status === "completed", "the batch to complete");
  expect(done).toMatchObject({ request_counts: { total: 1, completed: 1, failed: 0 }, paused_reason: null });
}, 40_000);
