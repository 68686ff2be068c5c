import { apiClient, startStack, waitFor, writeTestCatalog, type Stack } from "@switchyard/testkit";

type Json = Record<string, any>;
let s: Stack;
let admin: ReturnType<typeof apiClient>;

beforeAll(async () => {
  s = await startStack({ env: { MODEL_CATALOG_PATH: writeTestCatalog(), USAGE_BATCH_WAIT_MS: "10" } });
  admin = apiClient(s.url, s.key);
}, 60_000);
afterAll(async () => {
  await s?.stop();
});

/** A new tenant whose default deployment has `features`, and a client with a key for it. */
async function tenant(name: string, features: Record<string, boolean>) {
  const t = (await admin.post<Json>("/admin/v1/tenants", { name })).body;
  expect((await admin.call<Json>("PATCH", `/admin/v1/deployments/${t.default_deployment_id}`, { body: { features } })).status).toBe(200);
  const k = (await admin.post<Json>(`/admin/v1/tenants/${t.id}/api-keys`, { name: "k", scopes: ["jobs:write", "jobs:read", "usage:read"] })).body;
  await new Promise((r) => setTimeout(r, 1100)); // the deployment cache sees the change within a second
  return { id: t.id as string, api: apiClient(s.url, k.key) };
}

async function finishedJob(api: ReturnType<typeof apiClient>, model: string): Promise<string> {
  const r = await api.post<Json>("/v1/jobs", { model, messages: [{ role: "user", content: `rate me ${model}` }], max_tokens: 8 });
  expect(r.status).toBe(202);
  await waitFor(async () => ((await api.get<Json>(`/v1/jobs/${r.body.id}`)).body.status === "succeeded" ? true : undefined), 20_000, "job to succeed");
  return r.body.id as string;
}

/** percentile_cont: linear interpolation between the closest ranks. */
function percentile(values: number[], q: number): number {
  const v = [...values].sort((a, b) => a - b);
  const pos = (v.length - 1) * q;
  const lo = Math.floor(pos);
  return v[lo]! + (v[Math.min(lo + 1, v.length - 1)]! - v[lo]!) * (pos - lo);
}

const today = () => new Date().toISOString().slice(0, 10);

test("feedback on finished jobs feeds per-model acceptance, latency percentiles and cost per job, matching the ledger", async () => {
  const t = await tenant("rollout", { feedbackEnabled: true, analyticsEnabled: true });
  const fast = [await finishedJob(t.api, "sim-fast"), await finishedJob(t.api, "sim-fast"), await finishedJob(t.api, "sim-fast")];
  const cheap = [await finishedJob(t.api, "sim-lite"), await finishedJob(t.api, "sim-lite")];
  const ratings: Record<string, number> = { [fast[0]!]: 5, [fast[1]!]: 2, [cheap[0]!]: 4 };
  for (const [id, rating] of Object.entries(ratings)) {
    const r = await t.api.post<Json>(`/v1/jobs/${id}/feedback`, { rating, comment: `rated ${rating}` });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ object: "job.feedback", job_id: id, rating, comment: `rated ${rating}` });
  }
  // A second feedback replaces the first: fast[1] goes from 2 to 4 (accepted).
  const again = await t.api.post<Json>(`/v1/jobs/${fast[1]}/feedback`, { rating: 4 });
  expect(again.body).toMatchObject({ rating: 4, comment: null });
  expect((await t.api.get<Json>(`/v1/jobs/${fast[1]}/feedback`)).body.rating).toBe(4);
  expect((await t.api.get<Json>(`/v1/jobs/${fast[2]}/feedback`)).status).toBe(404);

  const rows = await waitFor(
    async () => {
      const r = await s.database.db
        .selectFrom("usage_events")
        .select(["job_id", "served_model", "latency_ms", "cost_usd", "status"])
        .where("tenant_id", "=", t.id)
        .execute();
      return r.length === 5 ? r : undefined;
    },
    20_000,
    "5 usage rows",
  );
  const a = await t.api.get<Json>(`/v1/analytics?from=${today()}&to=${today()}&group_by=model`);
  expect(a.status).toBe(200);
  expect(a.body.data.map((d: Json) => d.key)).toEqual(["sim-fast", "sim-lite"]);
  for (const [model, ids, accepted] of [
    ["sim-fast", fast, 2],
    ["sim-lite", cheap, 1],
  ] as const) {
    const g = a.body.data.find((d: Json) => d.key === model);
    const mine = rows.filter((x) => x.served_model === model);
    const cost = mine.reduce((sum, x) => sum + Number(x.cost_usd), 0);
    const rated = ids.filter((id) => id in ratings).length;
    expect(g).toMatchObject({ jobs: ids.length, succeeded: ids.length, failed: 0, rated, acceptance: accepted / rated });
    expect(g.cost_usd).toBeCloseTo(cost, 9);
    expect(g.cost_per_job_usd).toBeCloseTo(cost / ids.length, 9);
    expect(g.latency_ms.p50).toBeCloseTo(
      percentile(
        mine.map((x) => x.latency_ms),
        0.5,
      ),
      0,
    );
    expect(g.latency_ms.p95).toBeCloseTo(
      percentile(
        mine.map((x) => x.latency_ms),
        0.95,
      ),
      0,
    );
  }
  const byDeployment = await t.api.get<Json>(`/v1/analytics?from=${today()}&to=${today()}&group_by=deployment`);
  expect(byDeployment.body.data).toHaveLength(1);
  expect(byDeployment.body.data[0]).toMatchObject({ jobs: 5, rated: 3, acceptance: 1 });
  // Another tenant sees none of it, and cannot rate this tenant's job.
  const other = await tenant("other", { feedbackEnabled: true, analyticsEnabled: true });
  expect((await other.api.get<Json>(`/v1/analytics?from=${today()}&to=${today()}`)).body.data).toEqual([]);
  expect((await other.api.post<Json>(`/v1/jobs/${fast[2]}/feedback`, { rating: 1 })).status).toBe(404);
  expect((await other.api.get<Json>(`/v1/jobs/${fast[0]}/feedback`)).status).toBe(404);
  // The metric counts what was given.
  const metrics = await (await fetch(`${s.url}/metrics`)).text();
  expect(Number(/ai_feedback_total\{rating="4"\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(2);
});

test("the features gate: off, feedback and analytics are 403; bad input is a 400 naming the field; a running job is 409", async () => {
  const off = await tenant("gated", { feedbackEnabled: false, analyticsEnabled: false });
  const id = await finishedJob(off.api, "sim-fast");
  const fb = await off.api.post<Json>(`/v1/jobs/${id}/feedback`, { rating: 5 });
  expect(fb.status).toBe(403);
  expect(fb.body.error.code).toBe("feature_disabled");
  expect((await off.api.get<Json>(`/v1/analytics?from=${today()}&to=${today()}`)).body.error.code).toBe("feature_disabled");

  const on = await tenant("validating", { feedbackEnabled: true, analyticsEnabled: true });
  const done = await finishedJob(on.api, "sim-fast");
  const bad = async (body: unknown) => (await on.api.post<Json>(`/v1/jobs/${done}/feedback`, body)).body.error;
  expect(await bad({ rating: 6 })).toMatchObject({ code: "invalid_request", param: "rating" });
  expect(await bad({ rating: 2.5 })).toMatchObject({ code: "invalid_request", param: "rating" });
  expect(await bad({})).toMatchObject({ code: "invalid_request", param: "rating" });
  expect(await bad({ rating: 3, comment: "x".repeat(4001) })).toMatchObject({ param: "comment" });
  expect(await bad({ rating: 3, comment: "nul\u0000" })).toMatchObject({ code: "invalid_request", param: "comment" });
  expect(await bad({ rating: 3, stars: 3 })).toMatchObject({ code: "unknown_field", param: "stars" });
  expect((await on.api.post<Json>("/v1/jobs/job_0000nothere/feedback", { rating: 3 })).status).toBe(404);
  const q = async (query: string) => (await on.api.get<Json>(`/v1/analytics?${query}`)).body.error;
  expect(await q(`from=${today()}`)).toMatchObject({ param: "to" });
  expect(await q(`from=2026-13-01&to=2026-12-01`)).toMatchObject({ param: "from" });
  expect(await q(`from=2026-12-02&to=2026-12-01`)).toMatchObject({ param: "from" });
  expect(await q(`from=2024-01-01&to=2026-01-01`)).toMatchObject({ param: "to" });
  expect(await q(`from=${today()}&to=${today()}&group_by=tenant`)).toMatchObject({ param: "group_by" });

  const slow = await on.api.post<Json>("/v1/jobs", { model: "sim-slow", messages: [{ role: "user", content: "a long answer" }], max_tokens: 400 });
  const running = await on.api.post<Json>(`/v1/jobs/${slow.body.id}/feedback`, { rating: 3 });
  expect(running.status).toBe(409);
  expect(running.body.error.code).toBe("job_not_finished");
  await on.api.post(`/v1/jobs/${slow.body.id}/cancel`);
});
