import { apiClient, startStack, waitFor, writeTestCatalog, type Stack } from "@switchyard/testkit";

/**
 * The signals the runbooks' alert policies read: failed authentications (metric and a rate-limited
 * audit row without key material), 429s by deployment and its type, 402s by code.
 */
type Json = Record<string, any>;
let s: Stack;
let admin: ReturnType<typeof apiClient>;

beforeAll(async () => {
  s = await startStack({ apps: ["gateway"], env: { MODEL_CATALOG_PATH: writeTestCatalog() } });
  admin = apiClient(s.url, s.key);
}, 60_000);
afterAll(async () => {
  await s?.stop();
});

const metric = async (re: RegExp) => Number(re.exec(await (await fetch(`${s.url}/metrics`)).text())?.[1] ?? 0);
const msg = { model: "sim-fast", messages: [{ role: "user", content: "hi" }], max_tokens: 4 };

test("failed authentications are counted by reason and audited once a minute per key, never with the secret", async () => {
  const [, , id] = s.key.split("_");
  const secret = "B".repeat(40);
  const wrong = `sy_live_${id}_${secret}`;
  const before = await metric(/ai_auth_failures_total\{reason="invalid"\} (\d+)/);
  const missing = await metric(/ai_auth_failures_total\{reason="missing"\} (\d+)/);
  for (let i = 0; i < 5; i++) expect((await apiClient(s.url, wrong).post<Json>("/v1/jobs", msg)).status).toBe(401);
  expect((await apiClient(s.url).post<Json>("/v1/jobs", msg)).status).toBe(401);
  expect(await metric(/ai_auth_failures_total\{reason="invalid"\} (\d+)/)).toBe(before + 5);
  expect(await metric(/ai_auth_failures_total\{reason="missing"\} (\d+)/)).toBe(missing + 1);
  const rows = await waitFor(
    async () => {
      const r = await s.database.db.selectFrom("audit_log").selectAll().where("action", "=", "auth.failure").where("target_id", "=", id!).execute();
      return r.length > 0 ? r : undefined;
    },
    5000,
    "an auth.failure audit row",
  );
  expect(rows).toHaveLength(1); // five failures, one row: the same (reason, key) is audited once a minute
  expect(rows[0]).toMatchObject({ target_type: "api_key", actor_key_id: null, after: { reason: "invalid" } });
  expect(JSON.stringify(rows[0])).not.toContain(secret);
  // The valid key still works.
  expect((await admin.post<Json>("/v1/jobs", msg)).status).toBe(202);
});

test("429s are counted by deployment and type; 402s by code", async () => {
  const t = (await admin.post<Json>("/admin/v1/tenants", { name: "limited", billing_mode: "prepaid" })).body;
  expect(
    (await admin.call<Json>("PATCH", `/admin/v1/deployments/${t.default_deployment_id}`, { body: { rate_limits: { requests_per_minute: 1 } } })).status,
  ).toBe(200);
  const key = (await admin.post<Json>(`/admin/v1/tenants/${t.id}/api-keys`, { name: "k", scopes: ["jobs:write"] })).body.key as string;
  await new Promise((r) => setTimeout(r, 1100));
  const c = apiClient(s.url, key);
  const credits = await metric(/ai_budget_refusals_total\{code="insufficient_credits"\} (\d+)/);
  const first = await c.post<Json>("/v1/jobs", msg); // prepaid without credits: 402
  expect(first.status).toBe(402);
  expect(first.body.error.code).toBe("insufficient_credits");
  expect(await metric(/ai_budget_refusals_total\{code="insufficient_credits"\} (\d+)/)).toBe(credits + 1);
  // The refused request consumed nothing; the next one uses the minute's one request, the third is a 429.
  expect((await admin.post<Json>(`/admin/v1/tenants/${t.id}/credits`, { amount_usd: 10, reason: "test" }, { "Idempotency-Key": `grant-${t.id}` })).status).toBe(
    201,
  );
  await new Promise((r) => setTimeout(r, 1100));
  expect((await c.post<Json>("/v1/jobs", msg)).status).toBe(202);
  expect((await c.post<Json>("/v1/jobs", msg)).status).toBe(429);
  const series = new RegExp(`rate_limit_rejections_by_deployment_total\\{deployment="${t.default_deployment_id}",deployment_type="internal"\\} (\\d+)`);
  expect(await metric(series)).toBe(1);
});
