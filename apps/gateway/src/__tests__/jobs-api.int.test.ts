import { apiClient, startStack, waitFor, writeTestCatalog, type Stack } from "@switchyard/testkit";

type Json = Record<string, any>;
let s: Stack;
let a: ReturnType<typeof apiClient>;
let b: ReturnType<typeof apiClient>;
let bTenant: string;
const msg = (content = "hello") => ({ messages: [{ role: "user", content }] });

beforeAll(async () => {
  s = await startStack({ env: { MODEL_CATALOG_PATH: writeTestCatalog() } });
  a = apiClient(s.url, s.key);
  const t = await a.post<Json>("/admin/v1/tenants", { name: "Tenant B" });
  bTenant = t.body.id;
  const k = await a.post<Json>(`/admin/v1/tenants/${bTenant}/api-keys`, { name: "b", scopes: ["jobs:write", "jobs:read"] });
  b = apiClient(s.url, k.body.key);
}, 60_000);
afterAll(async () => {
  await s?.stop();
});

async function finished(client: ReturnType<typeof apiClient>, id: string): Promise<Json> {
  return waitFor(
    async () => {
      const r = await client.get<Json>(`/v1/jobs/${id}`);
      return ["succeeded", "failed", "canceled", "incomplete"].includes(r.body.status) ? r.body : undefined;
    },
    20_000,
    `job ${id} to finish`,
  );
}

describe("submit and read", () => {
  test("POST /v1/jobs answers 202 with Location and the job, which then succeeds", async () => {
    const r = await a.post<Json>("/v1/jobs", { model: "sim-fast", ...msg("what is a queue?"), max_tokens: 20, metadata: { ticket: "T-1" } });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ object: "job", status: "queued", links: { self: `/v1/jobs/${r.body.id}`, events: `/v1/jobs/${r.body.id}/events` } });
    expect(r.body.id).toMatch(/^job_[0-9a-z]+$/);
    expect(r.headers.get("location")).toBe(`/v1/jobs/${r.body.id}`);
    expect(Number.isNaN(Date.parse(r.body.created_at))).toBe(false);
    const job = await finished(a, r.body.id);
    expect(job).toMatchObject({
      id: r.body.id,
      object: "job",
      status: "succeeded",
      model: "sim-fast",
      served_model: "sim-fast",
      error: null,
      metadata: { ticket: "T-1" },
    });
    expect(job.output.text.length).toBeGreaterThan(0);
    expect(job.output.finish_reason).toMatch(/stop|length/);
    expect(job.output.citations).toEqual([]);
    expect(job.usage.output_tokens).toBeGreaterThan(0);
    expect(job.usage.output_tokens).toBeLessThanOrEqual(20);
    expect(job.usage.cost_usd).toBeGreaterThan(0);
    expect(job.usage.provenance).toBe("reported");
    expect(Date.parse(job.completed_at)).toBeGreaterThanOrEqual(Date.parse(job.started_at));
    expect(job.routing.decision.chosen_model).toBe("sim-fast");
  });

  test("model defaults to auto, which smart routing sends to the tier the request needs", async () => {
    const simple = await finished(a, (await a.post<Json>("/v1/jobs", msg("hi there"))).body.id);
    expect(simple.model).toBe("auto");
    expect(simple.served_model).toBe("sim-lite");
    expect(simple.routing.decision).toMatchObject({ requested_model: "auto", chosen_model: "sim-lite", tier: "lite", complexity: "simple" });
    const hard =
      "Analyze step by step and compare these approaches, then prove the bound:\n```ts\nfunction f(n: number) { return n * (n + 1) / 2; }\n```\nGiven x^2 + 3x - 4 = 0, solve for x, then 1. derive 2. verify 3. generalise.";
    const complex = await finished(a, (await a.post<Json>("/v1/jobs", msg(hard))).body.id);
    expect(complex.routing.decision).toMatchObject({ tier: "pro", complexity: "complex" });
    expect(complex.served_model).toBe("sim-slow");
  });

  test("an unknown job is 404 in the error shape", async () => {
    const r = await a.get<Json>("/v1/jobs/job_doesnotexist000000");
    expect(r.status).toBe(404);
    expect(r.body.error).toMatchObject({ type: "not_found_error", code: "job_not_found" });
    expect(r.body.error.request_id).toMatch(/^req_/);
  });
});

describe("idempotency", () => {
  test("same key and same canonical body replays the job; a different body is 422", async () => {
    const key = `idem-${Date.now()}`;
    const first = await a.post<Json>(
      "/v1/jobs",
      { model: "sim-fast", messages: [{ role: "user", content: "same" }], temperature: 0.5 },
      { "Idempotency-Key": key },
    );
    expect(first.status).toBe(202);
    // Same body, keys in another order: canonical equality.
    const again = await a.call<Json>("POST", "/v1/jobs", {
      raw: `{"temperature":0.5,"messages":[{"content":"same","role":"user"}],"model":"sim-fast"}`,
      headers: { "Idempotency-Key": key },
    });
    expect(again.status).toBe(200);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.body.id).toBe(first.body.id);
    const other = await a.post<Json>("/v1/jobs", { model: "sim-fast", messages: [{ role: "user", content: "different" }] }, { "Idempotency-Key": key });
    expect(other.status).toBe(422);
    expect(other.body.error).toMatchObject({ type: "invalid_request_error", code: "idempotency_key_reused", param: "Idempotency-Key" });
  });

  test("client_request_id works as the idempotency key", async () => {
    const body = { ...msg("cri"), client_request_id: `cri-${Date.now()}` };
    const first = await a.post<Json>("/v1/jobs", body);
    const again = await a.post<Json>("/v1/jobs", body);
    expect([first.status, again.status]).toEqual([202, 200]);
    expect(again.body.id).toBe(first.body.id);
  });

  test("a key over 255 characters is 400; 255 is fine", async () => {
    const long = await a.post<Json>("/v1/jobs", msg(), { "Idempotency-Key": "k".repeat(256) });
    expect(long.status).toBe(400);
    expect(long.body.error).toMatchObject({ code: "idempotency_key_too_long", param: "Idempotency-Key" });
    const ok = await a.post<Json>("/v1/jobs", msg(), { "Idempotency-Key": `${Date.now()}`.padEnd(255, "k") });
    expect(ok.status).toBe(202);
  });

  test("50 concurrent identical submissions create exactly one job", async () => {
    const key = `burst-${Date.now()}`;
    const body = { model: "sim-fast", ...msg("burst") };
    const results = await Promise.all(Array.from({ length: 50 }, () => a.post<Json>("/v1/jobs", body, { "Idempotency-Key": key })));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((x) => x === 202)).toHaveLength(1);
    expect(statuses.filter((x) => x === 200)).toHaveLength(49);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    const id = results[0]!.body.id as string;
    await finished(a, id);
    // One job ran: one usage row for it, attempt 1.
    const rows = await waitFor(async () => {
      const r = await s.database.db.selectFrom("usage_events").select(["job_id", "attempt"]).where("job_id", "=", id).execute();
      return r.length ? r : undefined;
    });
    expect(rows).toEqual([{ job_id: id, attempt: 1 }]);
  });

  test("keys are scoped to the tenant: another tenant with the same key gets its own job", async () => {
    const key = `scoped-${Date.now()}`;
    const ra = await a.post<Json>("/v1/jobs", msg("scoped"), { "Idempotency-Key": key });
    const rb = await b.post<Json>("/v1/jobs", msg("scoped"), { "Idempotency-Key": key });
    expect([ra.status, rb.status]).toEqual([202, 202]);
    expect(rb.body.id).not.toBe(ra.body.id);
  });
});

describe("bad input is a 4xx naming the field, never a 500", () => {
  const cases: Array<[string, { raw?: string; body?: unknown; headers?: Record<string, string> }, number, string, string | undefined]> = [
    ["malformed JSON", { raw: '{"messages": [' }, 400, "invalid_json", undefined],
    ["unknown top-level field", { body: { ...msg(), temprature: 1 } }, 400, "unknown_field", "temprature"],
    ["unknown field in a message", { body: { messages: [{ role: "user", content: "x", name: "bob" }] } }, 400, "unknown_field", "messages.0.name"],
    ["empty messages", { body: { messages: [] } }, 400, "invalid_request", "messages"],
    ["missing messages", { body: { model: "sim-fast" } }, 400, "invalid_request", "messages"],
    ["messages of the wrong type", { body: { messages: "hello" } }, 400, "invalid_request", "messages"],
    ["empty content", { body: { messages: [{ role: "user", content: "" }] } }, 400, "invalid_request", "messages.0.content"],
    ["unknown role", { body: { messages: [{ role: "wizard", content: "x" }] } }, 400, "invalid_request", "messages.0.role"],
    ["temperature of the wrong type", { body: { ...msg(), temperature: "hot" } }, 400, "invalid_request", "temperature"],
    ["max_tokens 0", { body: { ...msg(), max_tokens: 0 } }, 400, "invalid_request", "max_tokens"],
    ["max_tokens -1", { body: { ...msg(), max_tokens: -1 } }, 400, "invalid_request", "max_tokens"],
    ["max_tokens 10^9", { body: { ...msg(), max_tokens: 1e9 } }, 400, "invalid_request", "max_tokens"],
    ["max_tokens not an integer", { body: { ...msg(), max_tokens: 1.5 } }, 400, "invalid_request", "max_tokens"],
    ["max_tokens over the model's cap", { body: { ...msg(), model: "sim-fast", max_tokens: 5000 } }, 400, "invalid_request", "max_tokens"],
    ["unknown model", { body: { ...msg(), model: "no-such-model" } }, 404, "model_not_found", "model"],
    ["bad priority", { body: { ...msg(), priority: "urgent" } }, 400, "invalid_request", "priority"],
    ["a JSON array body", { raw: "[]" }, 400, "invalid_request", undefined],
    ["a body that is not JSON at all", { raw: "hello", headers: { "content-type": "text/plain" } }, 400, "invalid_request", undefined],
    ["a body over 1 MB", { body: { messages: [{ role: "user", content: "x".repeat(1_100_000) }] } }, 413, "payload_too_large", undefined],
    ["an empty Idempotency-Key", { body: msg(), headers: { "Idempotency-Key": "" } }, 400, "invalid_request", "Idempotency-Key"],
  ];
  test.each(cases)("%s", async (_name, req, status, code, param) => {
    const r = await a.call<Json>("POST", "/v1/jobs", req);
    expect(r.status).toBe(status);
    expect(r.body.error.code).toBe(code);
    expect(r.body.error.type).toBe(status === 404 ? "not_found_error" : "invalid_request_error");
    expect(typeof r.body.error.message).toBe("string");
    if (param) {
      expect(r.body.error.param).toBe(param);
      expect(r.body.error.message).toContain(param);
    }
  });
});

describe("auth", () => {
  test("no key, a malformed key and a wrong secret are 401", async () => {
    const none = await apiClient(s.url).post<Json>("/v1/jobs", msg());
    expect(none.status).toBe(401);
    expect(none.body.error).toMatchObject({ type: "authentication_error", code: "missing_api_key" });
    const junk = await apiClient(s.url, "not-a-key").post<Json>("/v1/jobs", msg());
    expect(junk.status).toBe(401);
    const [, , id] = s.key.split("_");
    const wrong = await apiClient(s.url, `sy_live_${id}_${"A".repeat(40)}`).post<Json>("/v1/jobs", msg());
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe("invalid_api_key");
  });

  test("a revoked key is 401 within a second", async () => {
    const k = await a.post<Json>(`/admin/v1/tenants/${bTenant}/api-keys`, { name: "short-lived", scopes: ["jobs:read"] });
    const c = apiClient(s.url, k.body.key);
    expect((await c.get("/v1/jobs/job_x0000000000")).status).toBe(404);
    const rev = await a.delete<Json>(`/admin/v1/api-keys/${k.body.id}`);
    expect(rev.status).toBe(200);
    expect(rev.body.revoked_at).toBeTruthy();
    await new Promise((r) => setTimeout(r, 1100));
    const after = await c.get<Json>("/v1/jobs/job_x0000000000");
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe("invalid_api_key");
  });

  test("a key without the needed scope is 403; a tenant key is 403 on admin routes", async () => {
    const k = await a.post<Json>(`/admin/v1/tenants/${bTenant}/api-keys`, { name: "reader", scopes: ["jobs:read"] });
    const reader = apiClient(s.url, k.body.key);
    const r = await reader.post<Json>("/v1/jobs", msg());
    expect(r.status).toBe(403);
    expect(r.body.error).toMatchObject({ type: "permission_error", code: "insufficient_scope" });
    expect((await b.post<Json>("/admin/v1/tenants", { name: "x" })).status).toBe(403);
    expect((await b.post<Json>(`/admin/v1/tenants/${bTenant}/api-keys`, { name: "x", scopes: ["jobs:read"] })).status).toBe(403);
  });
});

describe("tenant isolation", () => {
  test("another tenant's key gets 404 on get, events, cancel and replay of a job", async () => {
    const key = `iso-${Date.now()}`;
    const job = await a.post<Json>("/v1/jobs", { model: "sim-slow", ...msg("mine"), max_tokens: 200 }, { "Idempotency-Key": key });
    const id = job.body.id as string;
    const get = await b.get<Json>(`/v1/jobs/${id}`);
    expect(get.status).toBe(404);
    expect(get.body.error.code).toBe("job_not_found");
    expect((await b.get<Json>(`/v1/jobs/${id}/events`)).status).toBe(404);
    expect((await b.post<Json>(`/v1/jobs/${id}/cancel`)).status).toBe(404);
    // "Replay": B presenting A's idempotency key and body never reaches A's job.
    const replay = await b.post<Json>("/v1/jobs", { model: "sim-slow", ...msg("mine"), max_tokens: 200 }, { "Idempotency-Key": key });
    expect(replay.status).toBe(202);
    expect(replay.body.id).not.toBe(id);
    // A's job was untouched by B's cancel.
    expect((await a.get<Json>(`/v1/jobs/${id}`)).body.status).not.toBe("canceled");
    await a.post(`/v1/jobs/${id}/cancel`);
    await b.post(`/v1/jobs/${replay.body.id}/cancel`);
    // After it ended and was stored in Postgres, still 404 for B.
    await waitFor(async () => ((await s.database.db.selectFrom("jobs").select("id").where("id", "=", id).executeTakeFirst()) ? true : undefined));
    expect((await b.get<Json>(`/v1/jobs/${id}`)).status).toBe(404);
  });
});

describe("admin: tenants and keys", () => {
  test("create a tenant and a key shown once; only a hash is stored; both audited", async () => {
    const t = await a.post<Json>("/admin/v1/tenants", { name: "Acme", timezone: "Europe/Berlin", billing_mode: "prepaid" });
    expect(t.status).toBe(201);
    expect(t.body).toMatchObject({ object: "tenant", name: "Acme", timezone: "Europe/Berlin", billing_mode: "prepaid" });
    expect(t.body.default_deployment_id).toMatch(/^dep_/);
    const k = await a.post<Json>(`/admin/v1/tenants/${t.body.id}/api-keys`, { name: "ci", scopes: ["jobs:write", "jobs:read"] });
    expect(k.status).toBe(201);
    expect(k.body.key).toMatch(/^sy_live_[a-z0-9]+_[A-Za-z0-9]+$/);
    expect(k.body.key.split("_")[2]).toBe(k.body.id);
    const secret = k.body.key.split("_")[3];
    const row = await s.database.db.selectFrom("api_keys").selectAll().where("id", "=", k.body.id).executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(secret);
    expect(row.secret_hash).toMatch(/^[0-9a-f]{64}$/);
    const audit = await s.database.db
      .selectFrom("audit_log")
      .select(["action", "target_id", "actor_key_id"])
      .where("tenant_id", "=", t.body.id)
      .orderBy("id")
      .execute();
    expect(audit.map((x) => x.action)).toEqual(["tenant.create", "api_key.create"]);
    expect(audit[1]!.target_id).toBe(k.body.id);
    expect(audit[0]!.actor_key_id).toBe(s.key.split("_")[2]);
    expect(JSON.stringify(await s.database.db.selectFrom("audit_log").selectAll().execute())).not.toContain(secret);
    // The new key authenticates for its own tenant, which is prepaid and has no credits yet.
    const first = await apiClient(s.url, k.body.key).post<Json>("/v1/jobs", msg());
    expect(first.status).toBe(402);
    expect(first.body.error.code).toBe("insufficient_credits");
  });

  test("bad admin input names the field", async () => {
    const tz = await a.post<Json>("/admin/v1/tenants", { name: "X", timezone: "Mars/Olympus" });
    expect(tz.status).toBe(400);
    expect(tz.body.error.param).toBe("timezone");
    const scope = await a.post<Json>(`/admin/v1/tenants/${bTenant}/api-keys`, { name: "x", scopes: ["jobs:fly"] });
    expect(scope.status).toBe(400);
    expect(scope.body.error.param).toBe("scopes.0");
    const adminScope = await a.post<Json>(`/admin/v1/tenants/${bTenant}/api-keys`, { name: "x", scopes: ["admin"] });
    expect(adminScope.status).toBe(400);
    expect(adminScope.body.error.param).toBe("scopes");
    const missing = await a.post<Json>("/admin/v1/tenants/ten_nope/api-keys", { name: "x", scopes: ["jobs:read"] });
    expect(missing.status).toBe(404);
  });
});
