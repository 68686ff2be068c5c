import { apiClient, startStack, TEST_REDIS_URL, writeTestCatalog, type Stack } from "@switchyard/testkit";
import { RedisKeys, type ApiErrorBody as ErrorBody, type TenantPage } from "@switchyard/contracts";
import { Redis } from "ioredis";

type Client = ReturnType<typeof apiClient>;
type Json = Record<string, any>;
/** A page of any admin list, its rows read loosely (the tests compare them with what they created). */
type List<T = Json> = Omit<TenantPage, "data"> & { data: T[] };

let s: Stack;
let a: Client;
let redis: Redis;
const adminKeyId = () => s.key.split("_")[2]!;
const roomy = { requests_per_minute: 10_000, requests_per_hour: 100_000, requests_per_day: 1_000_000 };

beforeAll(async () => {
  s = await startStack({ apps: ["gateway"], env: { MODEL_CATALOG_PATH: writeTestCatalog() } });
  a = apiClient(s.url, s.key);
  redis = new Redis(TEST_REDIS_URL);
}, 60_000);
afterAll(async () => {
  redis?.disconnect();
  await s?.stop();
});

async function newTenant(name: string, c: Client = a): Promise<Json> {
  const t = await c.post<Json>("/admin/v1/tenants", { name });
  expect(t.status).toBe(201);
  return t.body;
}
async function newDeployment(tenantId: string, body: Json): Promise<Json> {
  const d = await a.post<Json>(`/admin/v1/tenants/${tenantId}/deployments`, body);
  expect(d.status).toBe(201);
  return d.body;
}

/** Every row of a list, `limit` at a time, following next_cursor; checks each page's shape. */
async function pageThrough(path: string, limit: number, c: Client = a): Promise<{ rows: Json[]; pages: number }> {
  const rows: Json[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const sep = path.includes("?") ? "&" : "?";
    const r: { status: number; body: List } = await c.get<List>(`${path}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    expect(r.status).toBe(200);
    expect(r.body.object).toBe("list");
    expect(r.body.data.length).toBeLessThanOrEqual(limit);
    expect(r.body.has_more).toBe(r.body.next_cursor !== null);
    rows.push(...r.body.data);
    cursor = r.body.next_cursor;
    pages++;
  } while (cursor && pages < 200);
  return { rows, pages };
}

async function expect400(path: string, code: string, param: string, c: Client = a): Promise<void> {
  const r = await c.get<ErrorBody>(path);
  expect([path, r.status, r.body.error?.code, r.body.error?.param]).toEqual([path, 400, code, param]);
}

describe("GET /admin/v1/tenants", () => {
  test("newest first by id, pages without losing or repeating a row, default deployment shown", async () => {
    const made: Json[] = [];
    for (let i = 0; i < 5; i++) made.push(await newTenant(`Paged ${i}`));
    const all = (await a.get<List>("/admin/v1/tenants?limit=500")).body;
    expect(all.has_more).toBe(false);
    const ids = all.data.map((t) => t.id as string);
    expect(ids).toEqual([...ids].sort().reverse());
    // Created one after another, so the newest first: the last made is the first listed.
    expect(ids.filter((id) => made.some((t) => t.id === id))).toEqual(made.map((t) => t.id).reverse());
    expect(ids).toContain("ten_demo");
    const listed = all.data.find((t) => t.id === made[0]!.id);
    expect(listed).toEqual({ ...made[0], budget: null, daily_cost_alert_usd: null });

    const { rows, pages } = await pageThrough("/admin/v1/tenants", 2);
    expect(pages).toBeGreaterThanOrEqual(3);
    expect(rows.map((t) => t.id)).toEqual(ids);
  });

  test("name filters by a case-insensitive substring; % and _ match themselves", async () => {
    const pct = await newTenant("Sale 100%_Off Ltd");
    const lookalike = await newTenant("Sale 100XYOff Ltd");
    const upper = await newTenant("MIXED case WIDGETS");
    const names = async (q: string) => (await a.get<List>(`/admin/v1/tenants?limit=500&name=${encodeURIComponent(q)}`)).body.data.map((t) => t.id);
    expect(await names("%_off")).toEqual([pct.id]);
    expect(await names("100")).toEqual([lookalike.id, pct.id]);
    expect(await names("mixed CASE widgets")).toEqual([upper.id]);
    expect(await names("no tenant is called this")).toEqual([]);
    expect(await names("\\")).toEqual([]);
    // The filter holds across pages too.
    const { rows } = await pageThrough(`/admin/v1/tenants?name=${encodeURIComponent("sale 100")}`, 1);
    expect(rows.map((t) => t.id)).toEqual([lookalike.id, pct.id]);
  });

  test("bad parameters are 400 naming the field", async () => {
    await expect400("/admin/v1/tenants?limit=0", "invalid_request", "limit");
    await expect400("/admin/v1/tenants?limit=501", "invalid_request", "limit");
    await expect400("/admin/v1/tenants?limit=ten", "invalid_request", "limit");
    await expect400("/admin/v1/tenants?cursor=dep_01abc", "invalid_request", "cursor");
    await expect400("/admin/v1/tenants?name=", "invalid_request", "name");
    await expect400("/admin/v1/tenants?name=a&name=b", "invalid_request", "name");
    await expect400("/admin/v1/tenants?nmae=acme", "unknown_field", "nmae");
  });
});

describe("GET /admin/v1/deployments", () => {
  test("across tenants, newest first, paged; tenant_id and type filter, alone and together", async () => {
    const t1 = await newTenant("Deploy One");
    const t2 = await newTenant("Deploy Two");
    const pub1 = await newDeployment(t1.id, { name: "site", type: "public" });
    const hyb1 = await newDeployment(t1.id, { name: "mixed", type: "hybrid" });
    const pub2 = await newDeployment(t2.id, { name: "site", type: "public" });

    const all = (await a.get<List>("/admin/v1/deployments?limit=500")).body;
    const ids = all.data.map((d) => d.id as string);
    expect(ids).toEqual([...ids].sort().reverse());
    expect(ids.indexOf(pub2.id)).toBeLessThan(ids.indexOf(hyb1.id));
    expect(ids.indexOf(hyb1.id)).toBeLessThan(ids.indexOf(pub1.id));
    // The same view as GET /admin/v1/deployments/{id}.
    expect(all.data.find((d) => d.id === hyb1.id)).toEqual((await a.get<Json>(`/admin/v1/deployments/${hyb1.id}`)).body);
    const { rows, pages } = await pageThrough("/admin/v1/deployments", 2);
    expect(pages).toBeGreaterThanOrEqual(3);
    expect(rows.map((d) => d.id)).toEqual(ids);

    const list = async (q: string) => (await a.get<List>(`/admin/v1/deployments?limit=500&${q}`)).body.data.map((d) => d.id);
    expect(await list(`tenant_id=${t1.id}`)).toEqual([hyb1.id, pub1.id, t1.default_deployment_id]);
    expect(await list(`tenant_id=${t1.id}&type=public`)).toEqual([pub1.id]);
    expect(await list(`tenant_id=${t1.id}&type=internal`)).toEqual([t1.default_deployment_id]);
    const publics = (await a.get<List>("/admin/v1/deployments?limit=500&type=public")).body.data;
    expect(publics.every((d) => d.type === "public")).toBe(true);
    expect(publics.map((d) => d.id)).toEqual(expect.arrayContaining([pub1.id, pub2.id]));
    expect(publics.map((d) => d.id)).not.toContain(hyb1.id);
    const paged = await pageThrough(`/admin/v1/deployments?tenant_id=${t1.id}`, 1);
    expect(paged.rows.map((d) => d.id)).toEqual([hyb1.id, pub1.id, t1.default_deployment_id]);
    expect(paged.pages).toBe(3);
  });

  test("an unknown tenant is 404; bad parameters are 400 naming the field", async () => {
    const r = await a.get<ErrorBody>("/admin/v1/deployments?tenant_id=ten_nobody");
    expect([r.status, r.body.error.code, r.body.error.param]).toEqual([404, "tenant_not_found", "tenant_id"]);
    await expect400("/admin/v1/deployments?type=private", "invalid_request", "type");
    await expect400("/admin/v1/deployments?limit=-1", "invalid_request", "limit");
    await expect400("/admin/v1/deployments?cursor=ten_demo", "invalid_request", "cursor");
    await expect400("/admin/v1/deployments?tenant_id=", "invalid_request", "tenant_id");
    await expect400("/admin/v1/deployments?tenant=ten_demo", "unknown_field", "tenant");
  });
});

describe("GET /admin/v1/deployments/{id}/end-users/{user}", () => {
  test("tier and the messages admitted in the sliding 24 h, from the rate limiter's log", async () => {
    const t = await newTenant("End Users");
    const d = await newDeployment(t.id, { name: "chat", type: "public", rate_limits: roomy });
    const k = await a.post<Json>(`/admin/v1/tenants/${t.id}/api-keys`, { name: "chat", scopes: ["jobs:write"], deployment_id: d.id });
    expect(k.status).toBe(201);
    const client = apiClient(s.url, k.body.key as string);
    const send = (user: string) => client.post<Json>("/v1/jobs", { model: "sim-fast", messages: [{ role: "user", content: "hi" }], max_tokens: 5, user });
    for (let i = 0; i < 3; i++) expect((await send("alice")).status).toBe(202);
    expect((await send("a b/c")).status).toBe(202);
    const get = (user: string, q = "") => a.get<Json>(`/admin/v1/deployments/${d.id}/end-users/${encodeURIComponent(user)}${q}`);

    const alice = await get("alice");
    expect(alice.status).toBe(200);
    expect(alice.body).toEqual({
      object: "end_user",
      deployment_id: d.id,
      tenant_id: t.id,
      user_id: "alice",
      tier: "free",
      tier_set: false,
      messages_per_day: 50,
      window_seconds: 86_400,
      messages_used: 3,
      messages_remaining: 47,
      month: new Date().toISOString().slice(0, 7),
      messages_per_month: 50,
      messages_used_this_month: 3,
      messages_remaining_this_month: 47,
      month_resets_at: new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth() + 1, 1)).toISOString(),
      updated_at: null,
    });
    expect((await get("a b/c")).body).toMatchObject({ user_id: "a b/c", messages_used: 1 });
    expect((await get("nobody")).body).toMatchObject({ tier: "free", messages_used: 0, messages_remaining: 50 });

    // An entry older than 24 h is outside the window; one just inside it counts.
    const key = new RedisKeys(s.prefix).rateLimit(d.id).endUser("alice");
    const [sec, us] = await redis.time();
    const nowUs = Number(sec) * 1_000_000 + Number(us);
    await redis.zadd(key, nowUs - 86_400_000_000 - 5_000_000, "old:1", nowUs - 86_400_000_000 + 60_000_000, "recent:1");
    expect((await get("alice")).body).toMatchObject({ messages_used: 4, messages_remaining: 46 });

    const paid = await a.call<Json>("PUT", `/admin/v1/deployments/${d.id}/end-users/alice`, { body: { tier: "paid" } });
    expect(paid.status).toBe(200);
    expect((await get("alice")).body).toMatchObject({
      tier: "paid",
      tier_set: true,
      messages_per_day: 500,
      messages_used: 4,
      messages_remaining: 496,
      updated_at: paid.body.updated_at,
    });
    // Another deployment's log is its own.
    expect((await a.get<Json>(`/admin/v1/deployments/${t.default_deployment_id}/end-users/alice`)).body).toMatchObject({ tier: "free", messages_used: 0 });
  });

  test("an unknown deployment is 404; bad input is 4xx naming the field", async () => {
    const r = await a.get<ErrorBody>("/admin/v1/deployments/dep_nobody/end-users/alice");
    expect([r.status, r.body.error.code, r.body.error.param]).toEqual([404, "deployment_not_found", "id"]);
    const t = await newTenant("End Users Bad");
    await expect400(`/admin/v1/deployments/${t.default_deployment_id}/end-users/${"u".repeat(257)}`, "invalid_request", "user_id");
    await expect400(`/admin/v1/deployments/${t.default_deployment_id}/end-users/alice?window=7d`, "unknown_field", "window");
  });
});

describe("GET /admin/v1/audit filters", () => {
  test("action, actor, target, target_type, since and until, combined with tenant_id and paging", async () => {
    const t = await newTenant("Audited");
    expect((await a.call("PATCH", `/admin/v1/tenants/${t.id}`, { body: { name: "Audited Again" } })).status).toBe(200);
    const d = await newDeployment(t.id, { name: "site", type: "public" });
    expect((await a.post(`/admin/v1/deployments/${d.id}/features/ragEnabled`, { enabled: false })).status).toBe(200);
    expect((await a.post(`/admin/v1/deployments/${d.id}/preset`, { preset: "minimal" })).status).toBe(200);
    const q = async (query: string) => (await a.get<List>(`/admin/v1/audit?limit=500&tenant_id=${t.id}&${query}`)).body.data;
    const everything = await q("");
    expect(everything.map((r) => r.action)).toEqual([
      "deployment.apply_preset",
      "deployment.set_feature",
      "deployment.create",
      "tenant.update",
      "tenant.create",
    ]);

    expect((await q("action=tenant.update")).map((r) => r.target_id)).toEqual([t.id]);
    expect((await q(`target=${t.id}`)).map((r) => r.action)).toEqual(["tenant.update", "tenant.create"]);
    expect((await q(`target=${d.id}&action=deployment.create`)).map((r) => r.action)).toEqual(["deployment.create"]);
    expect((await q("target_type=deployment")).map((r) => r.action)).toEqual(["deployment.apply_preset", "deployment.set_feature", "deployment.create"]);
    expect((await q("target_type=api_key")).length).toBe(0);
    expect((await q(`actor=${adminKeyId()}`)).length).toBe(5);

    // since (inclusive) and until (exclusive) split the rows at any instant, with nothing lost.
    const pivot = everything[2]!.created_at as string;
    const after = await q(`since=${encodeURIComponent(pivot)}`);
    const before = await q(`until=${encodeURIComponent(pivot)}`);
    expect([...after, ...before].map((r) => r.id)).toEqual(everything.map((r) => r.id));
    expect(after.every((r) => r.created_at >= pivot) && before.every((r) => r.created_at < pivot)).toBe(true);
    expect(after.map((r) => r.id)).toContain(everything[2]!.id);
    const window = await q(
      `since=${encodeURIComponent(everything[4]!.created_at)}&until=${encodeURIComponent(new Date(Date.parse(everything[0]!.created_at) + 1).toISOString())}`,
    );
    expect(window.map((r) => r.id)).toEqual(everything.map((r) => r.id));
    const offset = pivot.replace("Z", "+00:00");
    expect((await q(`since=${encodeURIComponent(offset)}`)).map((r) => r.id)).toEqual(after.map((r) => r.id));

    // A filter holds across pages.
    const { rows, pages } = await pageThrough(`/admin/v1/audit?tenant_id=${t.id}&target_type=deployment`, 2);
    expect(pages).toBe(2);
    expect(rows.map((r) => r.action)).toEqual(["deployment.apply_preset", "deployment.set_feature", "deployment.create"]);
  });

  test("actor is the acting key: a second admin key's actions are told apart", async () => {
    const rotated = await a.post<Json>(`/admin/v1/api-keys/${adminKeyId()}/rotate`, { overlap_seconds: 3600 });
    expect(rotated.status).toBe(201);
    const second = apiClient(s.url, rotated.body.key as string);
    const t = await newTenant("By Second Key", second);
    const mine = (await a.get<List>(`/admin/v1/audit?actor=${rotated.body.id}`)).body.data;
    expect(mine.map((r) => [r.action, r.target_id, r.actor_key_id])).toEqual([["tenant.create", t.id, rotated.body.id]]);
    const rotation = (await a.get<List>(`/admin/v1/audit?actor=${adminKeyId()}&action=api_key.rotate&limit=1`)).body.data;
    expect(rotation[0]).toMatchObject({ target_id: adminKeyId(), actor_key_id: adminKeyId() });
    expect((await a.get<List>("/admin/v1/audit?actor=key_nobody")).body.data).toEqual([]);
  });

  test("bad filters are 400 naming the field", async () => {
    await expect400("/admin/v1/audit?since=yesterday", "invalid_request", "since");
    await expect400("/admin/v1/audit?since=2026-12-07", "invalid_request", "since");
    await expect400("/admin/v1/audit?until=2026-13-01T00:00:00Z", "invalid_request", "until");
    await expect400("/admin/v1/audit?since=2026-12-07T00:00:00", "invalid_request", "since");
    await expect400("/admin/v1/audit?since=2026-12-07T00:00:00Z&until=2026-12-06T00:00:00Z", "invalid_request", "until");
    await expect400("/admin/v1/audit?action=", "invalid_request", "action");
    await expect400("/admin/v1/audit?actor=", "invalid_request", "actor");
    await expect400("/admin/v1/audit?target=", "invalid_request", "target");
    await expect400(`/admin/v1/audit?target_type=${"x".repeat(257)}`, "invalid_request", "target_type");
    await expect400("/admin/v1/audit?target_id=x", "unknown_field", "target_id");
  });
});

test("a tenant key is 403 on every new route; no key is 401", async () => {
  const t = await newTenant("Lists Outsider");
  const k = await a.post<Json>(`/admin/v1/tenants/${t.id}/api-keys`, { name: "all", scopes: ["jobs:write", "jobs:read", "usage:read", "reports:read"] });
  const c = apiClient(s.url, k.body.key as string);
  for (const path of [
    "/admin/v1/tenants",
    "/admin/v1/tenants?name=x",
    "/admin/v1/deployments",
    `/admin/v1/deployments?tenant_id=${t.id}`,
    `/admin/v1/deployments/${t.default_deployment_id}/end-users/alice`,
    "/admin/v1/audit?action=tenant.create",
  ]) {
    const r = await c.get<ErrorBody>(path);
    expect([path, r.status, r.body.error.code]).toEqual([path, 403, "insufficient_scope"]);
    expect([path, (await apiClient(s.url).get(path)).status]).toEqual([path, 401]);
  }
});
