import { compareChildId, CreateJobRequest, newId, queuedJobView, withComparison } from "@switchyard/contracts";
import { createRedis, JobStore, RedisKeys } from "@switchyard/queue";
import { canonicalHash } from "../services/canonical-json";
import { apiClient, readSse, startFakeOpenAI, startStack, waitFor, writeTestCatalog, type FakeOpenAI, type SseEvent, type Stack } from "@switchyard/testkit";

type Json = Record<string, any>;
type Api = ReturnType<typeof apiClient>;
let s: Stack;
let fake: FakeOpenAI;
let admin: Api;
let on: Awaited<ReturnType<typeof tenant>>;
const REPLY = "An answer from the fake OpenAI model, streamed in many small chunks.";

/** A new tenant whose default deployment has `features` and a daily budget, and a client with a key for it. */
async function tenant(name: string, features: Record<string, boolean>) {
  const t = (await admin.post<Json>("/admin/v1/tenants", { name })).body;
  const patched = await admin.call<Json>("PATCH", `/admin/v1/deployments/${t.default_deployment_id}`, {
    body: { features, budget: { period: "day", limit_usd: 100 } },
  });
  expect(patched.status).toBe(200);
  const k = (await admin.post<Json>(`/admin/v1/tenants/${t.id}/api-keys`, { name: "k", scopes: ["jobs:write", "jobs:read", "usage:read"] })).body;
  await new Promise((r) => setTimeout(r, 1100)); // the deployment cache sees the change within a second
  return { id: t.id as string, deployment: t.default_deployment_id as string, keyId: k.id as string, key: k.key as string, api: apiClient(s.url, k.key) };
}

beforeAll(async () => {
  fake = await startFakeOpenAI({ reply: REPLY, chunkDelayMs: 15, firstChunkDelayMs: 300 });
  s = await startStack({
    env: { MODEL_CATALOG_PATH: writeTestCatalog(), OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: "sk-test", USAGE_BATCH_WAIT_MS: "10", SSE_HEARTBEAT_MS: "500" },
  });
  admin = apiClient(s.url, s.key);
  on = await tenant("compare-on", { multiModelComparison: true });
}, 90_000);
afterAll(async () => {
  await s?.stop();
  await fake?.close();
});

const ask = (extra: Json = {}) => ({
  compare: ["sim-fast", "gpt-test"],
  messages: [{ role: "user", content: "Say something, both of you." }],
  max_tokens: 40,
  ...extra,
});
const events = (id: string, key: string, headers: Record<string, string> = {}, stopAfter?: number) =>
  readSse(`${s.url}/v1/jobs/${id}/events`, { headers: { authorization: `Bearer ${key}`, ...headers }, stopAfter });
const data = (e: SseEvent): Json => JSON.parse(e.data);

/** Each model's answer as a client must join it: a `restart` tagged with a model drops that model's deltas alone. */
function answers(list: SseEvent[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of list) {
    if (e.event !== "delta" && e.event !== "restart") continue;
    const d = data(e);
    out[d.model] = e.event === "restart" ? "" : (out[d.model] ?? "") + d.text;
  }
  return out;
}

test("a comparison streams both models side by side, tagged, ends with one done, and GET shows both answers with latency and cost; one ledger row and one settled reservation per model", async () => {
  const r = await on.api.post<Json>("/v1/jobs", ask());
  expect(r.status).toBe(202);
  const id = r.body.id as string;
  const kids = [`${id}c0`, `${id}c1`];
  // Each child holds its own reservation from admission on.
  const redis = createRedis(s.env.REDIS_URL!);
  try {
    const held = await Promise.all(kids.map((k) => redis.exists(new RedisKeys(s.prefix).budgetReservation(k))));
    expect(held).toEqual([1, 1]);

    const live = await events(id, on.key);
    expect(live.status).toBe(200);
    expect(live.cut).toBe(false);
    const list = live.events.slice(1); // after the derived `queued`
    expect(list.filter((e) => e.event === "done")).toHaveLength(1);
    expect(list.at(-1)!.event).toBe("done");
    expect(list.some((e) => e.event === "error")).toBe(false);
    // Every event but the parent's own end names the model and child it came from.
    for (const e of list.slice(0, -1)) expect(kids).toContain(data(e).job_id);
    const byModel = (m: string) => list.filter((e) => e.event !== "done" && data(e).model === m);
    for (const [m, k] of [
      ["sim-fast", kids[0]],
      ["gpt-test", kids[1]],
    ] as const) {
      expect(byModel(m).every((e) => data(e).job_id === k)).toBe(true);
      expect(byModel(m).some((e) => e.event === "delta")).toBe(true);
      expect(byModel(m).filter((e) => e.event === "usage")).toHaveLength(1);
      expect(
        byModel(m)
          .filter((e) => e.event === "status")
          .map((e) => data(e).status),
      ).toEqual(["running", "succeeded"]);
    }
    const done = data(list.at(-1)!).job as Json;
    expect(done).toMatchObject({ id, status: "succeeded", model: "compare" });
    const joined = answers(list);
    expect(joined["gpt-test"]).toBe(REPLY);

    const got = (await on.api.get<Json>(`/v1/jobs/${id}`)).body;
    expect(got).toMatchObject({ id, object: "job", status: "succeeded" });
    expect(got.comparison.map((c: Json) => [c.model, c.job_id, c.status])).toEqual([
      ["sim-fast", kids[0], "succeeded"],
      ["gpt-test", kids[1], "succeeded"],
    ]);
    for (const c of got.comparison) {
      expect(c.output.text).toBe(joined[c.model]);
      expect(c.latency_ms).toEqual(expect.any(Number));
      expect(c.cost_usd).toBeGreaterThan(0);
      expect(c.cost_usd).toBe(c.usage.cost_usd);
      expect(c.error).toBeNull();
    }
    expect(got.usage.cost_usd).toBeCloseTo(got.comparison[0].cost_usd + got.comparison[1].cost_usd, 9);
    // Each child is a job of its own, pinned to its model (no fallback to another).
    const child = (await on.api.get<Json>(`/v1/jobs/${kids[1]}`)).body;
    expect(child).toMatchObject({ id: kids[1], status: "succeeded", model: "gpt-test", served_model: "gpt-test" });
    expect(child.routing.decision.candidates).toEqual(["gpt-test"]);

    // The ledger: one row per child, none for the parent; each child's reservation settled and released.
    const rows = await waitFor(
      async () => {
        const x = await s.database.db
          .selectFrom("usage_events")
          .select(["job_id", "served_model", "cost_usd", "status"])
          .where("tenant_id", "=", on.id)
          .where("job_id", "like", `${id}%`)
          .execute();
        return x.length >= 2 ? x : undefined;
      },
      20_000,
      "the children's usage rows",
    );
    expect(rows.map((x) => [x.job_id, x.served_model, x.status]).sort()).toEqual([
      [kids[0], "sim-fast", "succeeded"],
      [kids[1], "gpt-test", "succeeded"],
    ]);
    for (const x of rows) expect(Number(x.cost_usd)).toBeCloseTo(got.comparison.find((c: Json) => c.job_id === x.job_id).cost_usd, 9);
    expect(await Promise.all(kids.map((k) => redis.exists(new RedisKeys(s.prefix).budgetReservation(k))))).toEqual([0, 0]);
    expect(await Promise.all(kids.map((k) => redis.exists(new RedisKeys(s.prefix).budgetSettled(k, 1))))).toEqual([1, 1]);
    const budgets = (await on.api.get<Json>("/v1/budgets")).body.data.find((b: Json) => b.scope === "deployment");
    expect(budgets.reserved_usd).toBe(0);
    expect(budgets.spent_usd).toBeCloseTo(got.usage.cost_usd, 6);

    // The gateway counts comparisons by the models compared.
    expect(await (await fetch(`${s.url}/metrics`)).text()).toMatch(/ai_compare_jobs_total\{models="gpt-test,sim-fast"\} [1-9]/);
    // The router-worker counts the comparison's parent it took off ai-compare.
    expect(await (await fetch(`http://127.0.0.1:${s.apps.get("router-worker")!.port}/metrics`)).text()).toMatch(
      /ai_queue_dequeue_total\{queue="ai-compare"\} [1-9]/,
    );

    // A finished comparison replays its stream, and resumes after a cut with only the later events.
    const replay = await events(id, on.key);
    expect(replay.events.map((e) => e.id)).toEqual(live.events.map((e) => e.id));
    const cut = await events(id, on.key, {}, 4);
    expect(cut.events).toHaveLength(4);
    const resumed = await events(id, on.key, { "Last-Event-ID": cut.events.at(-1)!.id! });
    expect(resumed.events.map((e) => e.id)).toEqual(live.events.slice(4).map((e) => e.id));
    expect(resumed.events.at(-1)!.event).toBe("done");
  } finally {
    redis.disconnect();
  }
});

test("a comparison followed live resumes after a cut mid-stream and still gets every later event", async () => {
  const id = (await on.api.post<Json>("/v1/jobs", ask({ compare: ["sim-slow", "gpt-test"], max_tokens: 30 }))).body.id as string;
  const first = await events(id, on.key, {}, 5);
  expect(first.events).toHaveLength(5);
  const rest = await events(id, on.key, { "Last-Event-ID": first.events.at(-1)!.id! });
  expect(rest.events.at(-1)!.event).toBe("done");
  const all = [...first.events, ...rest.events];
  const whole = await events(id, on.key);
  expect(all.map((e) => e.id)).toEqual(whole.events.map((e) => e.id));
  const job = (await on.api.get<Json>(`/v1/jobs/${id}`)).body;
  const joined = answers(all);
  for (const c of job.comparison) expect(joined[c.model]).toBe(c.output.text);
});

test("one model failing does not hold the other back: the comparison ends with one answer and the other's error", async () => {
  fake.setMode({ kind: "error", status: 400, message: "the fake refuses this request" });
  try {
    const id = (await on.api.post<Json>("/v1/jobs", ask())).body.id as string;
    const live = await events(id, on.key);
    const list = live.events.slice(1);
    expect(list.at(-1)!.event).toBe("done");
    const failedEnd = list.find((e) => e.event === "status" && data(e).model === "gpt-test" && data(e).status === "failed");
    expect(data(failedEnd!)).toMatchObject({ job_id: `${id}c1`, error: { code: "provider_error" } });
    const job = (await on.api.get<Json>(`/v1/jobs/${id}`)).body;
    expect(job.status).toBe("succeeded");
    const [ok, bad] = job.comparison;
    expect(ok).toMatchObject({ model: "sim-fast", status: "succeeded", error: null });
    expect(ok.output.text.length).toBeGreaterThan(0);
    expect(bad).toMatchObject({ model: "gpt-test", status: "failed", output: null, error: { code: "provider_error" } });
    expect(bad.error.message).toContain("the fake refuses this request");
  } finally {
    fake.setMode({ kind: "ok" });
  }
});

test("cancel stops every model; the comparison and each child end canceled", async () => {
  const id = (await on.api.post<Json>("/v1/jobs", ask({ compare: ["sim-slow", "sim-crawl"], max_tokens: 200 }))).body.id as string;
  await waitFor(async () => ((await on.api.get<Json>(`/v1/jobs/${id}c0`)).body.status === "running" ? true : undefined), 10_000, "a child running");
  const live = (await on.api.get<Json>(`/v1/jobs/${id}`)).body;
  expect(live).toMatchObject({ status: "running", completed_at: null });
  expect(live.comparison[0]).toMatchObject({ model: "sim-slow", status: "running" });
  const c = await on.api.post<Json>(`/v1/jobs/${id}/cancel`);
  expect(c.status).toBe(200);
  expect(c.body).toMatchObject({ id, status: "canceled" });
  expect(c.body.comparison.map((x: Json) => x.status)).toEqual(["canceled", "canceled"]);
  for (const k of [`${id}c0`, `${id}c1`]) expect((await on.api.get<Json>(`/v1/jobs/${k}`)).body.status).toBe("canceled");
  const list = (await events(id, on.key)).events;
  expect(list.at(-1)).toMatchObject({ event: "error" });
  expect(data(list.at(-1)!)).toMatchObject({ code: "canceled", reason: "canceled" });
  expect(
    list
      .filter((e) => e.event === "status" && data(e).status === "canceled")
      .map((e) => data(e).model)
      .sort(),
  ).toEqual(["sim-crawl", "sim-slow"]);
  expect((await on.api.post<Json>(`/v1/jobs/${id}/cancel`)).status).toBe(409);
});

test("an Idempotency-Key replays the comparison: same parent, nothing new admitted", async () => {
  const headers = { "idempotency-key": `cmp-${Date.now()}` };
  const a = await on.api.call<Json>("POST", "/v1/jobs", { body: ask(), headers });
  const b = await on.api.call<Json>("POST", "/v1/jobs", { body: ask(), headers });
  expect(a.status).toBe(202);
  expect(b.status).toBe(200);
  expect(b.body.id).toBe(a.body.id);
  const other = await on.api.call<Json>("POST", "/v1/jobs", { body: ask({ compare: ["sim-lite", "gpt-test"] }), headers });
  expect(other.status).toBe(422);
});

test("bad input is a 400 naming the field (an unknown model, as for `model`, OpenAI's 404 model_not_found); a deployment without multiModelComparison answers 403 feature_disabled", async () => {
  const cases: Array<[Json, string, string?]> = [
    [{ compare: ["sim-fast"] }, "compare"],
    [{ compare: ["sim-fast", "sim-lite", "sim-slow", "gpt-test", "sim-crawl"] }, "compare"],
    [{ compare: ["sim-fast", "sim-fast"] }, "compare.1"],
    [{ compare: ["sim-fast", "auto"] }, "compare.1"],
    [{ compare: ["sim-fast", "no-such-model"] }, "compare.1", "model_not_found"],
    [{ compare: ["sim-fast", "sim-lite"], model: "sim-fast" }, "model"],
    [{ compare: ["sim-fast", 7] }, "compare.1"],
    [{ compare: "sim-fast" }, "compare"],
    [{ compare: ["sim-fast", "sim-lite"], rag: { collection: "docs" } }, "rag"],
  ];
  for (const [body, param, code] of cases) {
    const r = await on.api.post<Json>("/v1/jobs", ask(body));
    expect([JSON.stringify(body), r.status, r.body.error?.param]).toEqual([JSON.stringify(body), code === "model_not_found" ? 404 : 400, param]);
    if (code) expect(r.body.error.code).toBe(code);
  }
  const off = await tenant("compare-off", { multiModelComparison: false });
  const r = await off.api.post<Json>("/v1/jobs", ask());
  expect(r.status).toBe(403);
  expect(r.body.error).toMatchObject({ type: "permission_error", code: "feature_disabled", param: "compare" });
});

test("another tenant's comparison is 404 on every route, and so are its children", async () => {
  const id = (await on.api.post<Json>("/v1/jobs", ask())).body.id as string;
  const other = await tenant("compare-other", { multiModelComparison: true });
  expect((await other.api.get<Json>(`/v1/jobs/${id}`)).status).toBe(404);
  expect((await other.api.get<Json>(`/v1/jobs/${id}c0`)).status).toBe(404);
  expect((await other.api.post<Json>(`/v1/jobs/${id}/cancel`)).status).toBe(404);
  expect((await events(id, other.key)).status).toBe(404);
  await waitFor(async () => ((await on.api.get<Json>(`/v1/jobs/${id}`)).body.status === "succeeded" ? true : undefined), 20_000, "the comparison to end");
});

test("after Redis has let it go, a comparison is rebuilt from its children's stored records", async () => {
  const id = (await on.api.post<Json>("/v1/jobs", ask())).body.id as string;
  await waitFor(async () => ((await on.api.get<Json>(`/v1/jobs/${id}`)).body.status === "succeeded" ? true : undefined), 20_000, "the comparison to end");
  const before = (await on.api.get<Json>(`/v1/jobs/${id}`)).body;
  const kids = [`${id}c0`, `${id}c1`];
  await waitFor(
    async () => ((await s.database.db.selectFrom("jobs").select("id").where("id", "in", kids).execute()).length === 2 ? true : undefined),
    20_000,
    "the children stored",
  );
  const redis = createRedis(s.env.REDIS_URL!);
  try {
    await redis.del(...[id, ...kids].map((k) => new RedisKeys(s.prefix).job(k)));
  } finally {
    redis.disconnect();
  }
  const after = (await on.api.get<Json>(`/v1/jobs/${id}`)).body;
  expect(after).toMatchObject({ id, status: "succeeded", model: "compare", usage: { cost_usd: before.usage.cost_usd } });
  expect(after.comparison).toEqual(before.comparison);
  const other = await tenant("compare-stored-other", { multiModelComparison: true });
  expect((await other.api.get<Json>(`/v1/jobs/${id}`)).status).toBe(404);
});

test("a budget that cannot hold every model refuses the comparison with 402 and keeps no reservation (the children admitted before the refusal are taken back)", async () => {
  const t = (await admin.post<Json>("/admin/v1/tenants", { name: "compare-tight" })).body;
  expect(
    (
      await admin.call<Json>("PATCH", `/admin/v1/deployments/${t.default_deployment_id}`, {
        body: { features: { multiModelComparison: true }, budget: { period: "day", limit_usd: 0.0003 } },
      })
    ).status,
  ).toBe(200);
  const k = (await admin.post<Json>(`/admin/v1/tenants/${t.id}/api-keys`, { name: "k", scopes: ["jobs:write", "jobs:read", "usage:read"] })).body;
  await new Promise((r) => setTimeout(r, 1100));
  const api = apiClient(s.url, k.key);
  // gpt-test's reservation fits; sim-slow's (pro prices) does not, so the whole comparison is refused.
  const r = await api.post<Json>("/v1/jobs", ask({ compare: ["gpt-test", "sim-slow"] }));
  expect(r.status).toBe(402);
  expect(r.body.error.code).toBe("budget_exhausted");
  const budget = (await api.get<Json>("/v1/budgets")).body.data.find((b: Json) => b.scope === "deployment");
  expect(budget).toMatchObject({ reserved_usd: 0, spent_usd: 0 });
  // What the first child held is free again: the same model alone is admitted.
  expect(
    (await api.post<Json>("/v1/jobs", { model: "gpt-test", messages: [{ role: "user", content: "Say something, both of you." }], max_tokens: 40 })).status,
  ).toBe(202);
});

test("a replay finishes a comparison whose submit died between creating it and enqueueing it", async () => {
  const body = ask({ compare: ["sim-fast", "sim-lite"] });
  const key = `orphan-${Date.now()}`;
  // What a gateway that died mid-submit leaves: the parent with its idempotency claim, the first child admitted, nothing enqueued.
  const created = new Date(Date.now() - 10_000);
  const parentId = newId("job", created.getTime());
  const kids = [compareChildId(parentId, 0), compareChildId(parentId, 1)];
  const redis = createRedis(s.env.REDIS_URL!);
  try {
    const store = new JobStore({ redis, keys: new RedisKeys(s.prefix) });
    const own = { tenantId: on.id, deploymentId: on.deployment, apiKeyId: on.keyId };
    const first = queuedJobView(kids[0]!, "sim-fast", created, null);
    const parent = withComparison(queuedJobView(parentId, "compare", created, null), [
      { model: "sim-fast", job_id: kids[0]!, view: first },
      { model: "sim-lite", job_id: kids[1]!, view: queuedJobView(kids[1]!, "sim-lite", created, null) },
    ]);
    expect(await store.create({ view: parent, ...own, idempotency: { key, bodyHash: canonicalHash(CreateJobRequest.parse(body)), ttlSeconds: 60 } })).toEqual({
      kind: "created",
    });
    expect(await store.create({ view: first, ...own })).toEqual({ kind: "created" });
  } finally {
    redis.disconnect();
  }
  const r = await on.api.call<Json>("POST", "/v1/jobs", { body, headers: { "idempotency-key": key } });
  expect([r.status, r.body.id]).toEqual([200, parentId]);
  const job = await waitFor(
    async () => {
      const j = (await on.api.get<Json>(`/v1/jobs/${parentId}`)).body;
      return j.status === "succeeded" ? j : undefined;
    },
    20_000,
    "the orphaned comparison to run",
  );
  expect(job.comparison.map((c: Json) => [c.job_id, c.status])).toEqual([
    [kids[0], "succeeded"],
    [kids[1], "succeeded"],
  ]);
  const rows = await waitFor(
    async () => {
      const x = await s.database.db.selectFrom("usage_events").select("job_id").where("job_id", "in", kids).execute();
      return x.length === 2 ? x : undefined;
    },
    20_000,
    "a ledger row per child",
  );
  expect(rows.map((x) => x.job_id).sort()).toEqual(kids);
});
