import { apiClient, startStack, waitFor, writeTestCatalog, type Stack } from "@switchyard/testkit";

/**
 * Per-end-user usage end to end: jobs submitted with `user` run on the real workers, the
 * aggregator writes their usage, and `group_by=end_user` shows each under its end user (the
 * tenant's own `/v1/usage` and ops' `/admin/v1/usage`); usage without one is the null row.
 */
type Json = Record<string, any>;
type Client = ReturnType<typeof apiClient>;
let s: Stack;
let admin: Client;
let a: Client;
let b: Client;
let tenantA: string;
const today = () => new Date().toISOString().slice(0, 10);

beforeAll(async () => {
  s = await startStack({ env: { MODEL_CATALOG_PATH: writeTestCatalog() } });
  admin = apiClient(s.url, s.key);
  const keyFor = async (name: string) => {
    const t = (await admin.post<Json>("/admin/v1/tenants", { name })).body;
    const k = (await admin.post<Json>(`/admin/v1/tenants/${t.id}/api-keys`, { name: "k", scopes: ["jobs:write", "jobs:read", "usage:read"] })).body;
    return { id: t.id as string, client: apiClient(s.url, k.key) };
  };
  const ta = await keyFor("End users A");
  tenantA = ta.id;
  a = ta.client;
  b = (await keyFor("End users B")).client;

  const submit = async (client: Client, user?: string) => {
    const r = await client.post<Json>("/v1/jobs", {
      model: "sim-fast",
      messages: [{ role: "user", content: `hi from ${user ?? "nobody"}` }],
      max_tokens: 8,
      ...(user ? { user } : {}),
    });
    expect(r.status).toBe(202);
    return r.body.id as string;
  };
  const ids = [await submit(a, "alice"), await submit(a, "alice"), await submit(a, "bob"), await submit(a), await submit(b, "alice")];
  await waitFor(
    async () => {
      const n = await s.database.db
        .selectFrom("usage_events")
        .select((eb) => eb.fn.countAll<string>().as("n"))
        .where("job_id", "in", ids)
        .executeTakeFirstOrThrow();
      return Number(n.n) === ids.length ? true : undefined;
    },
    30_000,
    "the usage of the five jobs to be written",
  );
}, 120_000);
afterAll(async () => {
  await s?.stop();
});

describe("group_by=end_user", () => {
  test("GET /v1/usage: each end user's jobs under it, the job without one under null, another tenant's alice apart", async () => {
    const r = await a.get<Json>(`/v1/usage?from=${today()}&to=${today()}&group_by=end_user`);
    expect(r.status).toBe(200);
    const rows = r.body.data as Json[];
    expect(rows.map((x) => [x.key, x.requests, x.errors])).toEqual([
      ["alice", 2, 0],
      ["bob", 1, 0],
      [null, 1, 0],
    ]);
    for (const x of rows) {
      expect(x.output_tokens).toBeGreaterThan(0);
      expect(x.cost_usd).toBeGreaterThan(0);
    }
    // The groups add up to the tenant's whole usage.
    const total = (await a.get<Json>(`/v1/usage?from=${today()}&to=${today()}&group_by=model`)).body.data as Json[];
    const sum = (list: Json[], f: string) => list.reduce((acc, x) => acc + x[f], 0);
    expect(sum(rows, "requests")).toBe(sum(total, "requests"));
    expect(sum(rows, "output_tokens")).toBe(sum(total, "output_tokens"));
    expect(sum(rows, "cost_usd")).toBeCloseTo(sum(total, "cost_usd"), 9);
    // Tenant B sees its own alice only.
    expect(((await b.get<Json>(`/v1/usage?from=${today()}&to=${today()}&group_by=end_user`)).body.data as Json[]).map((x) => [x.key, x.requests])).toEqual([
      ["alice", 1],
    ]);
  });

  test("GET /admin/v1/usage: end users across tenants, each row naming its tenant; tenant_id narrows to one", async () => {
    const all = (await admin.get<Json>(`/admin/v1/usage?from=${today()}&to=${today()}&group_by=end_user`)).body;
    expect(all.group_by).toBe("end_user");
    const ofA = (all.data as Json[]).filter((x) => x.tenant_id === tenantA).map((x) => [x.key, x.requests]);
    expect(ofA.sort()).toEqual(
      [
        ["alice", 2],
        ["bob", 1],
        [null, 1],
      ].sort(),
    );
    expect((all.data as Json[]).filter((x) => x.key === "alice").map((x) => x.tenant_id)).toHaveLength(2);
    const one = (await admin.get<Json>(`/admin/v1/usage?from=${today()}&to=${today()}&group_by=end_user&tenant_id=${tenantA}`)).body.data as Json[];
    expect(one.map((x) => [x.key, x.requests, x.tenant_id]).sort()).toEqual(
      [
        ["alice", 2, tenantA],
        ["bob", 1, tenantA],
        [null, 1, tenantA],
      ].sort(),
    );
  });

  test("an unknown grouping is a 400 naming group_by", async () => {
    for (const path of [`/v1/usage?from=${today()}&to=${today()}&group_by=user`, `/admin/v1/usage?from=${today()}&to=${today()}&group_by=end_users`]) {
      const r = await (path.startsWith("/admin") ? admin : a).get<Json>(path);
      expect([path, r.status, r.body.error?.param]).toEqual([path, 400, "group_by"]);
    }
  });
});
