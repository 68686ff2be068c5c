import {
  DEFAULT_FEATURES_BY_TYPE,
  PRESET_NAMES,
  PRESETS,
  type ApiErrorBody as ErrorBody,
  type ApiKeyView,
  type AuditEntry,
  type DeploymentView as Deployment,
  type RotatedApiKey,
  type TenantPage,
  type TenantView as Tenant,
} from "@switchyard/contracts";
import { apiClient, startStack, waitFor, writeTestCatalog, type Stack } from "@switchyard/testkit";

type Client = ReturnType<typeof apiClient>;
/** A key as the key routes answer it: the secret (create, rotate) and the previous key (rotate) only where they give them. */
type Key = ApiKeyView & Partial<Pick<RotatedApiKey, "key" | "previous_key">>;
/** An audit row, its before/after read as the JSON objects these tests write. */
type AuditRow = Omit<AuditEntry, "before" | "after"> & { before: Record<string, unknown> | null; after: Record<string, unknown> | null };
/** A list answer: a whole list, or a page with its cursor. */
type List<T> = Omit<TenantPage, "data" | "has_more" | "next_cursor"> & Partial<Pick<TenantPage, "has_more" | "next_cursor">> & { data: T[] };

let s: Stack;
let a: Client;
let adminKeyId: string;
/** Every full key this file created, to check that none is stored or logged. */
const issued: string[] = [];
const msg = (content = "hello") => ({ messages: [{ role: "user", content }] });
/** High limits so the admission limits (whatever they become) never interfere with these tests. */
const roomy = { requests_per_minute: 10_000, requests_per_hour: 100_000, requests_per_day: 1_000_000 };
const patch = <T>(c: Client, path: string, body: unknown) => c.call<T>("PATCH", path, { body });
const put = <T>(c: Client, path: string, body: unknown) => c.call<T>("PUT", path, { body });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function newTenant(name: string): Promise<Tenant> {
  const t = await a.post<Tenant>("/admin/v1/tenants", { name });
  expect(t.status).toBe(201);
  return t.body;
}
async function newKey(tenantId: string, body: Record<string, unknown>): Promise<Key & { key: string }> {
  const k = await a.post<Key>(`/admin/v1/tenants/${tenantId}/api-keys`, body);
  expect(k.status).toBe(201);
  expect(typeof k.body.key).toBe("string");
  issued.push(k.body.key!);
  return k.body as Key & { key: string };
}
async function newDeployment(tenantId: string, body: Record<string, unknown>): Promise<Deployment> {
  const d = await a.post<Deployment>(`/admin/v1/tenants/${tenantId}/deployments`, body);
  expect(d.status).toBe(201);
  return d.body;
}
async function auditCount(): Promise<number> {
  const r = await s.database.db
    .selectFrom("audit_log")
    .select((eb) => eb.fn.countAll<string>().as("n"))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}
/** Polls `fn` every 50 ms; resolves with how long it took (from `since`) for `fn` to say yes. */
async function msUntil(since: number, fn: () => Promise<boolean>, timeoutMs = 5000): Promise<number> {
  await waitFor(async () => ((await fn()) ? true : undefined), timeoutMs);
  return Date.now() - since;
}

beforeAll(async () => {
  s = await startStack({ env: { MODEL_CATALOG_PATH: writeTestCatalog() } });
  a = apiClient(s.url, s.key);
  adminKeyId = s.key.split("_")[2]!;
}, 60_000);
afterAll(async () => {
  await s?.stop();
});

describe("tenants", () => {
  test("GET and PATCH a tenant; null clears the budget and the alert; bad input names the field", async () => {
    const t = await newTenant("Patchable");
    const got = await a.get<Tenant>(`/admin/v1/tenants/${t.id}`);
    expect(got.status).toBe(200);
    expect(got.body).toEqual({ ...t, budget: null, daily_cost_alert_usd: null });
    const p = await patch<Tenant>(a, `/admin/v1/tenants/${t.id}`, {
      name: "Renamed",
      timezone: "Asia/Tokyo",
      billing_mode: "prepaid",
      budget: { period: "month", limit_usd: 25 },
      daily_cost_alert_usd: 3.5,
    });
    expect(p.status).toBe(200);
    expect(p.body).toMatchObject({
      id: t.id,
      name: "Renamed",
      timezone: "Asia/Tokyo",
      billing_mode: "prepaid",
      budget: { period: "month", limit_usd: 25 },
      daily_cost_alert_usd: 3.5,
      default_deployment_id: t.default_deployment_id,
    });
    expect((await a.get<Tenant>(`/admin/v1/tenants/${t.id}`)).body).toEqual(p.body);
    const cleared = await patch<Tenant>(a, `/admin/v1/tenants/${t.id}`, { budget: null, daily_cost_alert_usd: null });
    expect(cleared.body).toMatchObject({ name: "Renamed", budget: null, daily_cost_alert_usd: null });

    const bad: Array<[unknown, string, string]> = [
      [{ timezone: "Mars/Olympus" }, "invalid_request", "timezone"],
      [{ budget: { period: "week", limit_usd: 1 } }, "invalid_request", "budget.period"],
      [{ budget: { period: "day" } }, "invalid_request", "budget"],
      [{ daily_cost_alert_usd: -1 }, "invalid_request", "daily_cost_alert_usd"],
      [{ billing_mode: "free" }, "invalid_request", "billing_mode"],
      [{ name: "" }, "invalid_request", "name"],
      [{ nickname: "x" }, "unknown_field", "nickname"],
    ];
    for (const [body, code, param] of bad) {
      const r = await patch<ErrorBody>(a, `/admin/v1/tenants/${t.id}`, body);
      expect([r.status, r.body.error.code, r.body.error.param]).toEqual([400, code, param]);
    }
    const missing = await patch<ErrorBody>(a, "/admin/v1/tenants/ten_nope", { name: "x" });
    expect([missing.status, missing.body.error.code]).toEqual([404, "tenant_not_found"]);
    expect((await a.get<ErrorBody>("/admin/v1/tenants/ten_nope")).status).toBe(404);
  });
});

describe("deployments", () => {
  let t: Tenant;
  beforeAll(async () => {
    t = await newTenant("Deployments");
  });

  test("create: features from the type's defaults or the preset, then merged with `features`; the view is complete", async () => {
    const pub = await newDeployment(t.id, { name: "widget", type: "public" });
    expect(pub).toMatchObject({
      object: "deployment",
      tenant_id: t.id,
      name: "widget",
      type: "public",
      is_default: false,
      budget: null,
      model_preference: null,
      allowed_models: null,
      allowed_origins: [],
      allowed_source_domains: [],
      rate_limits: {},
    });
    expect(pub.id).toMatch(/^dep_/);
    expect(pub.features).toEqual(DEFAULT_FEATURES_BY_TYPE.public);
    expect(pub.effective_rate_limits).toEqual({
      requests_per_minute: 10,
      requests_per_hour: 100,
      requests_per_day: 1000,
      tokens_per_request: 4000,
      tokens_per_day: 50_000,
      windows: [],
    });
    expect(Date.parse(pub.updated_at)).toBeGreaterThanOrEqual(Date.parse(pub.created_at));

    const full = await newDeployment(t.id, {
      name: "clinic",
      type: "internal",
      preset: "healthcare",
      features: { analyticsEnabled: false, multiModelComparison: true },
      rate_limits: { requests_per_minute: 5, windows: [{ requests: 3, seconds: 10 }] },
      budget: { period: "day", limit_usd: 2.5 },
      model_preference: "simulated",
      allowed_models: ["sim-fast", "sim-lite"],
      allowed_origins: ["https://App.Example.com:443", "http://localhost:3000"],
      allowed_source_domains: ["Docs.Example.com"],
    });
    expect(full.features).toEqual({ ...PRESETS.healthcare, analyticsEnabled: false, multiModelComparison: true });
    expect(full.features).toEqual({
      smartRouting: true,
      multiModelComparison: true,
      modelPreference: true,
      ragEnabled: true,
      knowledgeBaseEnabled: true,
      visionEnabled: true,
      streamingEnabled: true,
      feedbackEnabled: true,
      analyticsEnabled: false,
    });
    expect(full.rate_limits).toEqual({ requests_per_minute: 5, windows: [{ requests: 3, seconds: 10 }] });
    expect(full.effective_rate_limits).toEqual({
      requests_per_minute: 5,
      requests_per_hour: 1000,
      requests_per_day: 10_000,
      tokens_per_request: 16_000,
      tokens_per_day: 500_000,
      windows: [{ requests: 3, seconds: 10 }],
    });
    expect(full).toMatchObject({
      budget: { period: "day", limit_usd: 2.5 },
      model_preference: "simulated",
      allowed_models: ["sim-fast", "sim-lite"],
      allowed_origins: ["https://app.example.com", "http://localhost:3000"],
      allowed_source_domains: ["docs.example.com"],
    });

    expect((await a.get<Deployment>(`/admin/v1/deployments/${full.id}`)).body).toEqual(full);
    const list = await a.get<List<Deployment>>(`/admin/v1/tenants/${t.id}/deployments`);
    expect(list.status).toBe(200);
    expect(list.body.data.map((d) => d.id)).toEqual([t.default_deployment_id, pub.id, full.id]);
    expect(list.body.data[0]).toMatchObject({ is_default: true, type: "internal", features: DEFAULT_FEATURES_BY_TYPE.internal });
    expect(list.body.data[2]).toEqual(full);
  });

  test("each preset applies its exact feature set", async () => {
    const d = await newDeployment(t.id, { name: "presets", type: "hybrid", features: { visionEnabled: true } });
    expect(d.features).toEqual({ ...DEFAULT_FEATURES_BY_TYPE.hybrid, visionEnabled: true });
    for (const preset of PRESET_NAMES) {
      const r = await a.post<Deployment>(`/admin/v1/deployments/${d.id}/preset`, { preset });
      expect(r.status).toBe(200);
      expect(r.body.features).toEqual(PRESETS[preset]);
      expect((await a.get<Deployment>(`/admin/v1/deployments/${d.id}`)).body.features).toEqual(PRESETS[preset]);
    }
    // minimal spelled out, so a change to the preset table is noticed here too.
    const minimal = await a.post<Deployment>(`/admin/v1/deployments/${d.id}/preset`, { preset: "minimal" });
    expect(Object.entries(minimal.body.features).filter(([, on]) => on)).toEqual([["streamingEnabled", true]]);
    const bad = await a.post<ErrorBody>(`/admin/v1/deployments/${d.id}/preset`, { preset: "deluxe" });
    expect([bad.status, bad.body.error.param]).toEqual([400, "preset"]);
  });

  test("PATCH merges features, replaces the rest, and a new type re-resolves the default limits", async () => {
    const d = await newDeployment(t.id, { name: "merge", type: "public", rate_limits: { requests_per_minute: 7 } });
    const v1 = await patch<Deployment>(a, `/admin/v1/deployments/${d.id}`, { features: { visionEnabled: true } });
    expect(v1.status).toBe(200);
    expect(v1.body.features).toEqual({ ...PRESETS.standard, visionEnabled: true });
    const v2 = await patch<Deployment>(a, `/admin/v1/deployments/${d.id}`, { features: { ragEnabled: false }, name: "merged" });
    expect(v2.body.features).toEqual({ ...PRESETS.standard, visionEnabled: true, ragEnabled: false });
    expect(v2.body.name).toBe("merged");
    expect(v2.body.effective_rate_limits).toMatchObject({ requests_per_minute: 7, requests_per_hour: 100, tokens_per_request: 4000 });
    expect(Date.parse(v2.body.updated_at)).toBeGreaterThan(Date.parse(d.updated_at));

    const internal = await patch<Deployment>(a, `/admin/v1/deployments/${d.id}`, { type: "internal" });
    expect(internal.body.type).toBe("internal");
    expect(internal.body.rate_limits).toEqual({ requests_per_minute: 7 });
    expect(internal.body.effective_rate_limits).toEqual({
      requests_per_minute: 7,
      requests_per_hour: 1000,
      requests_per_day: 10_000,
      tokens_per_request: 16_000,
      tokens_per_day: 500_000,
      windows: [],
    });
    // Features are untouched by a type change.
    expect(internal.body.features).toEqual(v2.body.features);

    const limits = await patch<Deployment>(a, `/admin/v1/deployments/${d.id}`, { rate_limits: { tokens_per_day: 1234 } });
    expect(limits.body.rate_limits).toEqual({ tokens_per_day: 1234 });
    expect(limits.body.effective_rate_limits).toMatchObject({ requests_per_minute: 60, tokens_per_day: 1234 });

    const withPreset = await patch<Deployment>(a, `/admin/v1/deployments/${d.id}`, { preset: "minimal", features: { ragEnabled: true } });
    expect(withPreset.body.features).toEqual({ ...PRESETS.minimal, ragEnabled: true });

    const rest = await patch<Deployment>(a, `/admin/v1/deployments/${d.id}`, {
      budget: { period: "month", limit_tokens: 1000 },
      allowed_models: ["sim-slow"],
      model_preference: "sim-slow",
      allowed_origins: ["https://a.example.com"],
    });
    expect(rest.body).toMatchObject({
      budget: { period: "month", limit_tokens: 1000 },
      allowed_models: ["sim-slow"],
      model_preference: "sim-slow",
      allowed_origins: ["https://a.example.com"],
    });
    const cleared = await patch<Deployment>(a, `/admin/v1/deployments/${d.id}`, { budget: null, allowed_models: null, model_preference: null });
    expect(cleared.body).toMatchObject({ budget: null, allowed_models: null, model_preference: null, allowed_origins: ["https://a.example.com"] });
  });

  test("toggle one feature; unknown ones are a 400 naming them", async () => {
    const d = await newDeployment(t.id, { name: "toggle", type: "internal" });
    const off = await a.post<Deployment>(`/admin/v1/deployments/${d.id}/features/streamingEnabled`, { enabled: false });
    expect(off.status).toBe(200);
    expect(off.body.features).toEqual({ ...PRESETS.premium, streamingEnabled: false });
    const on = await a.post<Deployment>(`/admin/v1/deployments/${d.id}/features/streamingEnabled`, { enabled: true });
    expect(on.body.features).toEqual(PRESETS.premium);
    const unknown = await a.post<ErrorBody>(`/admin/v1/deployments/${d.id}/features/telepathy`, { enabled: true });
    expect([unknown.status, unknown.body.error.code, unknown.body.error.param]).toEqual([400, "invalid_request", "feature"]);
    expect(unknown.body.error.message).toContain("telepathy");
    const notBool = await a.post<ErrorBody>(`/admin/v1/deployments/${d.id}/features/ragEnabled`, { enabled: "yes" });
    expect([notBool.status, notBool.body.error.param]).toEqual([400, "enabled"]);
    const noBody = await a.post<ErrorBody>(`/admin/v1/deployments/${d.id}/features/ragEnabled`);
    expect(noBody.status).toBe(400);
    const missing = await a.post<ErrorBody>("/admin/v1/deployments/dep_nope/features/ragEnabled", { enabled: true });
    expect([missing.status, missing.body.error.code]).toEqual([404, "deployment_not_found"]);
  });

  test("bad deployment input is a 400 naming the field (and the unknown model)", async () => {
    const cases: Array<[string, Record<string, unknown>, string, string, string?]> = [
      ["missing name", { type: "public" }, "invalid_request", "name"],
      ["bad type", { name: "x", type: "secret" }, "invalid_request", "type"],
      ["unknown feature", { name: "x", type: "public", features: { telepathy: true } }, "unknown_field", "features.telepathy"],
      ["feature not a boolean", { name: "x", type: "public", features: { ragEnabled: "on" } }, "invalid_request", "features.ragEnabled"],
      ["bad preset", { name: "x", type: "public", preset: "deluxe" }, "invalid_request", "preset"],
      ["unknown model in allowed_models", { name: "x", type: "public", allowed_models: ["sim-fast", "gpt-9"] }, "invalid_request", "allowed_models.1", "gpt-9"],
      ["a provider in allowed_models", { name: "x", type: "public", allowed_models: ["simulated"] }, "invalid_request", "allowed_models.0", "simulated"],
      ["unknown model_preference", { name: "x", type: "public", model_preference: "claude-42" }, "invalid_request", "model_preference", "claude-42"],
      [
        "preference outside allowed_models",
        { name: "x", type: "public", allowed_models: ["sim-fast"], model_preference: "sim-slow" },
        "invalid_request",
        "model_preference",
        "sim-slow",
      ],
      ["origin with a path", { name: "x", type: "public", allowed_origins: ["https://a.example.com/app"] }, "invalid_request", "allowed_origins.0"],
      ["origin without a scheme", { name: "x", type: "public", allowed_origins: ["a.example.com"] }, "invalid_request", "allowed_origins.0"],
      ["bad source domain", { name: "x", type: "public", allowed_source_domains: ["not a domain"] }, "invalid_request", "allowed_source_domains.0"],
      ["rate limit zero", { name: "x", type: "public", rate_limits: { requests_per_minute: 0 } }, "invalid_request", "rate_limits.requests_per_minute"],
      ["unknown rate limit", { name: "x", type: "public", rate_limits: { requests_per_week: 1 } }, "unknown_field", "rate_limits.requests_per_week"],
      ["budget without a limit", { name: "x", type: "public", budget: { period: "day" } }, "invalid_request", "budget"],
      ["unknown top-level field", { name: "x", type: "public", colour: "red" }, "unknown_field", "colour"],
    ];
    const before = await auditCount();
    for (const [name, body, code, param, value] of cases) {
      const r = await a.post<ErrorBody>(`/admin/v1/tenants/${t.id}/deployments`, body);
      expect([name, r.status, r.body.error.code, r.body.error.param]).toEqual([name, 400, code, param]);
      if (value) expect(r.body.error.message).toContain(value);
    }
    // The same checks on PATCH.
    const d = await newDeployment(t.id, { name: "patch-checks", type: "public" });
    const afterCreate = await auditCount();
    expect(afterCreate).toBe(before + 1);
    const pm = await patch<ErrorBody>(a, `/admin/v1/deployments/${d.id}`, { model_preference: "nope-model" });
    expect([pm.status, pm.body.error.param]).toEqual([400, "model_preference"]);
    expect(pm.body.error.message).toContain("nope-model");
    const am = await patch<ErrorBody>(a, `/admin/v1/deployments/${d.id}`, { allowed_models: ["x-model"] });
    expect([am.status, am.body.error.param]).toEqual([400, "allowed_models.0"]);
    const nm = await patch<ErrorBody>(a, `/admin/v1/deployments/${d.id}`, { name: "" });
    expect([nm.status, nm.body.error.param]).toEqual([400, "name"]);
    // A rejected change writes nothing, the audit row included.
    expect(await auditCount()).toBe(afterCreate);
    expect((await a.get<Deployment>(`/admin/v1/deployments/${d.id}`)).body).toEqual(d);

    expect((await a.post<ErrorBody>("/admin/v1/tenants/ten_nope/deployments", { name: "x", type: "public" })).body.error.code).toBe("tenant_not_found");
    expect((await a.get<ErrorBody>("/admin/v1/tenants/ten_nope/deployments")).status).toBe(404);
    const gone = await a.get<ErrorBody>("/admin/v1/deployments/dep_nope");
    expect([gone.status, gone.body.error.code]).toEqual([404, "deployment_not_found"]);
    expect((await patch<ErrorBody>(a, "/admin/v1/deployments/dep_nope", { name: "x" })).status).toBe(404);
  });

  test("end-user tiers are set per deployment", async () => {
    const d = await newDeployment(t.id, { name: "users", type: "public" });
    const created = await put<Record<string, unknown>>(a, `/admin/v1/deployments/${d.id}/end-users/user-42`, { tier: "paid" });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ object: "end_user", deployment_id: d.id, user_id: "user-42", tier: "paid", messages_per_day: 500 });
    const updated = await put<Record<string, unknown>>(a, `/admin/v1/deployments/${d.id}/end-users/user-42`, { tier: "free" });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ tier: "free", messages_per_day: 50 });
    const rows = await s.database.db.selectFrom("end_users").select(["deployment_id", "user_id", "tier"]).where("deployment_id", "=", d.id).execute();
    expect(rows).toEqual([{ deployment_id: d.id, user_id: "user-42", tier: "free" }]);
    const bad = await put<ErrorBody>(a, `/admin/v1/deployments/${d.id}/end-users/user-42`, { tier: "gold" });
    expect([bad.status, bad.body.error.param]).toEqual([400, "tier"]);
    expect((await put<ErrorBody>(a, "/admin/v1/deployments/dep_nope/end-users/u", { tier: "paid" })).status).toBe(404);
  });

  test("turning ragEnabled off rejects rag jobs within 1.2 s, and turning it on admits them again", async () => {
    const d = await newDeployment(t.id, { name: "rag", type: "internal", rate_limits: roomy });
    expect(d.features.ragEnabled).toBe(true);
    const c = apiClient(s.url, (await newKey(t.id, { name: "rag", scopes: ["jobs:write", "jobs:read"], deployment_id: d.id })).key);
    const ragJob = { ...msg("what does the handbook say?"), model: "sim-fast", max_tokens: 5, rag: { collection: "x" } };
    // Warm every cache with the feature on.
    expect((await c.post("/v1/jobs", ragJob)).status).toBe(202);

    const off = await a.post<Deployment>(`/admin/v1/deployments/${d.id}/features/ragEnabled`, { enabled: false });
    expect(off.body.features.ragEnabled).toBe(false);
    const offAt = Date.now();
    let rejection: ErrorBody | undefined;
    const tookOff = await msUntil(offAt, async () => {
      const r = await c.post<ErrorBody>("/v1/jobs", ragJob);
      if (r.status === 403) rejection = r.body;
      return r.status === 403;
    });
    expect(tookOff).toBeLessThanOrEqual(1200);
    expect(rejection?.error).toMatchObject({ type: "permission_error", code: "feature_disabled", param: "rag" });
    // Without rag the deployment still admits jobs.
    expect((await c.post("/v1/jobs", { ...msg("plain"), model: "sim-fast", max_tokens: 5 })).status).toBe(202);

    await a.post(`/admin/v1/deployments/${d.id}/features/ragEnabled`, { enabled: true });
    const onAt = Date.now();
    const tookOn = await msUntil(onAt, async () => (await c.post("/v1/jobs", ragJob)).status === 202);
    expect(tookOn).toBeLessThanOrEqual(1200);
  });
});

describe("api keys", () => {
  let t: Tenant;
  beforeAll(async () => {
    t = await newTenant("Keys");
  });

  test("the list shows every key's state and never a secret or a hash", async () => {
    const pub = await newDeployment(t.id, { name: "site", type: "public", allowed_origins: ["https://shop.example.com"] });
    const sk = await newKey(t.id, { name: "server", scopes: ["jobs:read"] });
    const pk = await newKey(t.id, { name: "browser", kind: "publishable", deployment_id: pub.id });
    expect(sk.key).toMatch(/^sy_live_/);
    expect(pk.key).toMatch(/^sy_pk_/);
    // Use the secret key so last_used_at is recorded.
    expect((await apiClient(s.url, sk.key).get("/v1/jobs/job_x0000000000")).status).toBe(404);
    const list = await waitFor(
      async () => {
        const r = await a.get<List<Key>>(`/admin/v1/tenants/${t.id}/api-keys`);
        return r.body.data.find((k) => k.id === sk.id)?.last_used_at ? r : undefined;
      },
      5000,
      "last_used_at",
    );
    expect(list.status).toBe(200);
    const byId = new Map(list.body.data.map((k) => [k.id, k]));
    expect(byId.get(sk.id)).toEqual({
      id: sk.id,
      object: "api_key",
      tenant_id: t.id,
      deployment_id: null,
      name: "server",
      kind: "secret",
      scopes: ["jobs:read"],
      expires_at: null,
      revoked_at: null,
      last_used_at: expect.any(String),
      replaced_by: null,
      created_at: sk.created_at,
    });
    expect(byId.get(pk.id)).toMatchObject({ kind: "publishable", deployment_id: pub.id, scopes: ["jobs:write", "jobs:read"], last_used_at: null });
    const text = JSON.stringify(list.body);
    for (const k of [sk.key, pk.key]) expect(text).not.toContain(k.split("_").pop()!);
    expect(text).not.toContain("secret_hash");
    expect(text).not.toMatch(/[0-9a-f]{64}/);
    expect(list.body.data.every((k) => !("key" in k))).toBe(true);
    // One key by id, same view.
    expect((await a.get<Key>(`/admin/v1/api-keys/${sk.id}`)).body).toEqual(byId.get(sk.id));
    expect((await a.get<ErrorBody>("/admin/v1/tenants/ten_nope/api-keys")).status).toBe(404);
    expect((await a.get<ErrorBody>("/admin/v1/api-keys/nokey")).body.error.code).toBe("api_key_not_found");
  });

  test("rotation with an overlap: the old key works until the overlap ends, then 401", async () => {
    const old = await newKey(t.id, { name: "rotating", scopes: ["jobs:read", "jobs:write"] });
    const oldClient = apiClient(s.url, old.key);
    expect((await oldClient.get("/v1/jobs/job_x0000000000")).status).toBe(404);
    const rotatedAt = Date.now();
    const r = await a.post<Key>(`/admin/v1/api-keys/${old.id}/rotate`, { overlap_seconds: 3 });
    expect(r.status).toBe(201);
    issued.push(r.body.key!);
    expect(r.body).toMatchObject({
      object: "api_key",
      tenant_id: t.id,
      deployment_id: null,
      name: "rotating",
      kind: "secret",
      scopes: ["jobs:read", "jobs:write"],
      expires_at: null,
      revoked_at: null,
      replaced_by: null,
    });
    expect(r.body.id).not.toBe(old.id);
    expect(r.body.key).toMatch(new RegExp(`^sy_live_${r.body.id}_`));
    expect(r.body.previous_key).toMatchObject({ id: old.id, replaced_by: r.body.id, revoked_at: null });
    const expires = Date.parse(r.body.previous_key!.expires_at!);
    expect(expires).toBeGreaterThanOrEqual(rotatedAt + 2500);
    expect(expires).toBeLessThanOrEqual(Date.now() + 3500);
    const fresh = apiClient(s.url, r.body.key);
    expect((await fresh.get("/v1/jobs/job_x0000000000")).status).toBe(404);
    // Past the auth cache's second the old key still works: the overlap, not the cache, keeps it alive.
    await sleep(1500);
    expect((await oldClient.get("/v1/jobs/job_x0000000000")).status).toBe(404);
    const took = await msUntil(rotatedAt, async () => (await oldClient.get("/v1/jobs/job_x0000000000")).status === 401, 6000);
    expect(took).toBeGreaterThanOrEqual(2500);
    expect(took).toBeLessThanOrEqual(4300);
    const denied = await oldClient.get<ErrorBody>("/v1/jobs/job_x0000000000");
    expect(denied.body.error).toMatchObject({ type: "authentication_error", code: "invalid_api_key" });
    expect((await fresh.post("/v1/jobs", msg())).status).toBe(202);
    // The old key now says who replaced it; rotating it again is a conflict.
    expect((await a.get<Key>(`/admin/v1/api-keys/${old.id}`)).body.replaced_by).toBe(r.body.id);
    const again = await a.post<ErrorBody>(`/admin/v1/api-keys/${old.id}/rotate`, {});
    expect([again.status, again.body.error.code]).toEqual([409, "api_key_inactive"]);
    expect(again.body.error.message).toContain(r.body.id);
  });

  test("rotation without an overlap: the old key is 401 within 1.1 s; revoked keys cannot be rotated", async () => {
    const pub = await newDeployment(t.id, { name: "site-2", type: "public", allowed_origins: ["https://two.example.com"] });
    const old = await newKey(t.id, { name: "browser-2", kind: "publishable", deployment_id: pub.id });
    const origin = { origin: "https://two.example.com" };
    const oldClient = apiClient(s.url, old.key);
    expect((await oldClient.get("/v1/jobs/job_x0000000000", origin)).status).toBe(404);
    // No body at all: overlap_seconds defaults to 0.
    const r = await a.post<Key>(`/admin/v1/api-keys/${old.id}/rotate`);
    expect(r.status).toBe(201);
    issued.push(r.body.key!);
    expect(r.body).toMatchObject({ kind: "publishable", deployment_id: pub.id, name: "browser-2", scopes: ["jobs:write", "jobs:read"] });
    expect(r.body.key).toMatch(/^sy_pk_/);
    expect(Date.parse(r.body.previous_key!.expires_at!)).toBeLessThanOrEqual(Date.now());
    await sleep(1100);
    const denied = await oldClient.get<ErrorBody>("/v1/jobs/job_x0000000000", origin);
    expect([denied.status, denied.body.error.code]).toEqual([401, "invalid_api_key"]);
    expect((await apiClient(s.url, r.body.key).get("/v1/jobs/job_x0000000000", origin)).status).toBe(404);

    const revoked = await newKey(t.id, { name: "revoked", scopes: ["jobs:read"] });
    const del = await a.delete<Key>(`/admin/v1/api-keys/${revoked.id}`);
    expect(del.status).toBe(200);
    expect(del.body.revoked_at).toBeTruthy();
    const rot = await a.post<ErrorBody>(`/admin/v1/api-keys/${revoked.id}/rotate`, { overlap_seconds: 10 });
    expect([rot.status, rot.body.error.code]).toEqual([409, "api_key_inactive"]);
    for (const [overlap, status] of [
      [604_801, 400],
      [-1, 400],
      [1.5, 400],
    ] as const) {
      const bad = await a.post<ErrorBody>(`/admin/v1/api-keys/${r.body.id}/rotate`, { overlap_seconds: overlap });
      expect([bad.status, bad.body.error.param]).toEqual([status, "overlap_seconds"]);
    }
    expect((await a.post<ErrorBody>("/admin/v1/api-keys/nokey/rotate", {})).status).toBe(404);
    expect((await a.delete<ErrorBody>("/admin/v1/api-keys/nokey")).status).toBe(404);
  });
});

describe("audit", () => {
  test("every admin mutation writes one audit row with who, what, before and after", async () => {
    const t = await newTenant("Audited");
    await patch(a, `/admin/v1/tenants/${t.id}`, { name: "Audited 2", budget: { period: "day", limit_usd: 1 } });
    const d = await newDeployment(t.id, { name: "aud", type: "public", allowed_origins: ["https://aud.example.com"] });
    await patch(a, `/admin/v1/deployments/${d.id}`, { features: { visionEnabled: true }, type: "hybrid" });
    await a.post(`/admin/v1/deployments/${d.id}/preset`, { preset: "minimal" });
    await a.post(`/admin/v1/deployments/${d.id}/features/ragEnabled`, { enabled: true });
    await put(a, `/admin/v1/deployments/${d.id}/end-users/u-1`, { tier: "paid" });
    const k = await newKey(t.id, { name: "k", scopes: ["jobs:read"] });
    const rotated = await a.post<Key>(`/admin/v1/api-keys/${k.id}/rotate`, { overlap_seconds: 60 });
    issued.push(rotated.body.key!);
    await a.delete(`/admin/v1/api-keys/${rotated.body.id}`);

    const page = await a.get<List<AuditRow>>(`/admin/v1/audit?tenant_id=${t.id}&limit=100`);
    expect(page.status).toBe(200);
    const rows = [...page.body.data].reverse();
    expect(rows.map((r) => [r.action, r.target_id])).toEqual([
      ["tenant.create", t.id],
      ["tenant.update", t.id],
      ["deployment.create", d.id],
      ["deployment.update", d.id],
      ["deployment.apply_preset", d.id],
      ["deployment.set_feature", d.id],
      ["end_user.set_tier", `${d.id}/u-1`],
      ["api_key.create", k.id],
      ["api_key.rotate", k.id],
      ["api_key.create", rotated.body.id],
      ["api_key.revoke", rotated.body.id],
    ]);
    for (const r of rows) expect(r).toMatchObject({ actor_key_id: adminKeyId, tenant_id: t.id });
    const [tc, tu, dc, du, dp, df, eu, kc, kr, kc2, kd] = rows;
    expect(tc!.before).toBeNull();
    expect(tu!.before).toMatchObject({ name: "Audited", budget: null });
    expect(tu!.after).toMatchObject({ name: "Audited 2", budget: { period: "day", limit_usd: 1 } });
    expect(dc!.before).toBeNull();
    expect(dc!.after).toMatchObject({ id: d.id, type: "public", allowed_origins: ["https://aud.example.com"], features: PRESETS.standard });
    expect(du!.before).toMatchObject({ type: "public", features: { visionEnabled: false } });
    expect(du!.after).toMatchObject({ type: "hybrid", features: { visionEnabled: true } });
    expect(dp!.after).toMatchObject({ features: PRESETS.minimal });
    expect(df!.before).toMatchObject({ features: { ragEnabled: false } });
    expect(df!.after).toMatchObject({ features: { ...PRESETS.minimal, ragEnabled: true } });
    expect([eu!.before, eu!.after]).toEqual([null, expect.objectContaining({ tier: "paid" })]);
    expect(kc!.after).toMatchObject({ id: k.id, kind: "secret", scopes: ["jobs:read"] });
    expect(kr!.before).toMatchObject({ replaced_by: null, expires_at: null });
    expect(kr!.after).toMatchObject({ replaced_by: rotated.body.id, overlap_seconds: 60 });
    expect(kc2!.after).toMatchObject({ id: rotated.body.id, rotated_from: k.id });
    expect(kd!.before).toMatchObject({ revoked_at: null });
    expect(kd!.after!.revoked_at).toEqual(expect.any(String));

    // Breakers are platform-wide: audited without a tenant.
    const reset = await a.post("/admin/v1/circuit-breakers/sim-fast/reset");
    expect(reset.status).toBe(200);
    const latest = await a.get<List<AuditRow>>("/admin/v1/audit?limit=1");
    expect(latest.body.data).toEqual([
      expect.objectContaining({ action: "circuit_breaker.reset", target_id: "sim-fast", tenant_id: null, actor_key_id: adminKeyId }),
    ]);
  });

  test("pages newest first by cursor; bad parameters name the field", async () => {
    const all = (await a.get<List<AuditRow>>("/admin/v1/audit?limit=500")).body.data;
    expect(all.length).toBeGreaterThan(5);
    const ids = all.map((r) => Number(r.id));
    expect(ids).toEqual([...ids].sort((x, y) => y - x));
    const seen: string[] = [];
    let cursor: string | null | undefined;
    do {
      const r = await a.get<List<AuditRow>>(`/admin/v1/audit?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      expect(r.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...r.body.data.map((x) => x.id));
      expect(r.body.has_more).toBe(r.body.next_cursor !== null);
      cursor = r.body.next_cursor;
    } while (cursor && seen.length < all.length + 4);
    expect(seen).toEqual(all.map((r) => r.id));
    for (const [q, param, code] of [
      ["limit=0", "limit", "invalid_request"],
      ["limit=abc", "limit", "invalid_request"],
      ["cursor=x1", "cursor", "invalid_request"],
      ["sort=asc", "sort", "unknown_field"],
    ] as const) {
      const r = await a.get<ErrorBody>(`/admin/v1/audit?${q}`);
      expect([q, r.status, r.body.error.code, r.body.error.param]).toEqual([q, 400, code, param]);
    }
  });
});

describe("admin scope", () => {
  test("a tenant key is 403 on every admin route, known or not, and changes nothing", async () => {
    const t = await newTenant("Outsider");
    const d = await newDeployment(t.id, { name: "own", type: "public" });
    const tk = await newKey(t.id, {
      name: "all-tenant-scopes",
      scopes: ["jobs:write", "jobs:read", "documents:write", "documents:read", "usage:read", "reports:read"],
    });
    const victim = await newKey(t.id, { name: "victim", scopes: ["jobs:read"] });
    const c = apiClient(s.url, tk.key);
    const routes: Array<[string, string, unknown?]> = [
      ["POST", "/admin/v1/tenants", { name: "x" }],
      ["GET", `/admin/v1/tenants/${t.id}`],
      ["PATCH", `/admin/v1/tenants/${t.id}`, { name: "pwned" }],
      ["POST", `/admin/v1/tenants/${t.id}/deployments`, { name: "x", type: "public" }],
      ["GET", `/admin/v1/tenants/${t.id}/deployments`],
      ["GET", `/admin/v1/deployments/${d.id}`],
      ["PATCH", `/admin/v1/deployments/${d.id}`, { name: "pwned" }],
      ["POST", `/admin/v1/deployments/${d.id}/preset`, { preset: "premium" }],
      ["POST", `/admin/v1/deployments/${d.id}/features/ragEnabled`, { enabled: false }],
      ["PUT", `/admin/v1/deployments/${d.id}/end-users/u`, { tier: "paid" }],
      ["POST", `/admin/v1/tenants/${t.id}/api-keys`, { name: "x", scopes: ["jobs:read"] }],
      ["GET", `/admin/v1/tenants/${t.id}/api-keys`],
      ["GET", `/admin/v1/api-keys/${victim.id}`],
      ["POST", `/admin/v1/api-keys/${victim.id}/rotate`, {}],
      ["DELETE", `/admin/v1/api-keys/${victim.id}`],
      ["GET", "/admin/v1/audit"],
      ["GET", "/admin/v1/circuit-breakers"],
      ["POST", "/admin/v1/circuit-breakers/sim-fast/reset"],
      ["POST", "/admin/v1/circuit-breakers/sim-fast/force-open", { duration_ms: 60_000 }],
      ["GET", "/admin/v1/queues"],
      ["POST", "/admin/v1/queues/ai-route/clean-stuck"],
      ["POST", "/admin/v1/queues/ai-route/retry-failed"],
      ["GET", `/admin/v1/tenants/${t.id}/credits`],
      ["POST", `/admin/v1/tenants/${t.id}/credits`, { amount_usd: 100, reason: "free money" }],
      ["POST", `/admin/v1/tenants/${t.id}/credits/recalculate`],
      ["GET", "/admin/v1/no-such-route"],
      ["DELETE", `/admin/v1/deployments/${d.id}`],
      ["GET", "/ADMIN/V1/audit"],
    ];
    const before = await auditCount();
    for (const [method, path, body] of routes) {
      const r = await c.call<ErrorBody>(method, path, body === undefined ? {} : { body });
      expect([method, path, r.status, r.body.error.type, r.body.error.code]).toEqual([method, path, 403, "permission_error", "insufficient_scope"]);
      const anon = await apiClient(s.url).call<ErrorBody>(method, path, body === undefined ? {} : { body });
      expect([method, path, anon.status]).toEqual([method, path, 401]);
    }
    expect(await auditCount()).toBe(before);
    expect((await a.get<Tenant>(`/admin/v1/tenants/${t.id}`)).body.name).toBe("Outsider");
    expect((await a.get<Deployment>(`/admin/v1/deployments/${d.id}`)).body).toEqual(d);
    expect((await a.get<Key>(`/admin/v1/api-keys/${victim.id}`)).body).toMatchObject({ revoked_at: null, replaced_by: null });
    expect((await a.get<List<Record<string, unknown>>>("/admin/v1/circuit-breakers")).body.data.find((b) => b.model === "sim-fast")).toMatchObject({
      state: "closed",
    });
    // The operator's key reaches the same tree: unknown admin routes are a plain 404 for it.
    expect((await a.get<ErrorBody>("/admin/v1/no-such-route")).status).toBe(404);
  });
});

describe("key material", () => {
  test("no key's secret is stored in api_keys or audit_log, or printed by the gateway", async () => {
    expect(issued.length).toBeGreaterThanOrEqual(8);
    const keys = JSON.stringify(await s.database.db.selectFrom("api_keys").selectAll().execute());
    const audit = JSON.stringify(await s.database.db.selectFrom("audit_log").selectAll().execute());
    const logs = s.apps.get("gateway")!.output();
    for (const key of issued) {
      const secret = key.split("_").pop()!;
      expect(secret.length).toBeGreaterThanOrEqual(32);
      expect(keys).not.toContain(secret);
      expect(audit).not.toContain(secret);
      expect(logs).not.toContain(secret);
    }
    // What is stored is the hash of each secret.
    expect(keys.match(/"secret_hash":"[0-9a-f]{64}"/g)?.length).toBeGreaterThanOrEqual(issued.length);
  });
});
