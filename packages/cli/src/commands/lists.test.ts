import { runAdmin } from "./admin-io.test-helpers";

const base = "http://127.0.0.1:8080/admin/v1";
const tenant = (id: string, name: string) => ({
  id,
  object: "tenant",
  name,
  timezone: "UTC",
  billing_mode: "postpaid",
  budget: null,
  daily_cost_alert_usd: null,
  default_deployment_id: `dep_of_${id}`,
  created_at: "2026-03-01T00:00:00.000Z",
});
const features = { smartRouting: true, ragEnabled: false };
const dep = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  object: "deployment",
  tenant_id: "ten_1",
  name: "site",
  type: "public",
  is_default: false,
  features,
  rate_limits: {},
  effective_rate_limits: { requests_per_minute: 10 },
  budget: null,
  model_preference: null,
  allowed_models: null,
  allowed_origins: [],
  allowed_source_domains: [],
  created_at: "2026-03-01T00:00:00.000Z",
  updated_at: "2026-03-01T00:00:00.000Z",
  ...extra,
});
const page = (data: unknown[], next: string | null = null) => ({ object: "list", data, has_more: next !== null, next_cursor: next });

describe("switchyard tenants list", () => {
  it("sends the filters as query parameters and prints a table with how to get the next page", async () => {
    const r = await runAdmin(["tenants", "list", "--name", "50%", "--limit", "2"], () => ({
      body: page([tenant("ten_2", "Acme 50%"), tenant("ten_1", "Old 50%")], "ten_1"),
    }));
    expect(r).toMatchObject({ code: 0, err: "" });
    expect(r.requests).toEqual([expect.objectContaining({ method: "GET", url: `${base}/tenants?name=50%25&limit=2`, body: undefined })]);
    expect(r.out.split("\n")).toEqual([
      "ID     NAME      TIMEZONE  BILLING   DEFAULT DEPLOYMENT  CREATED",
      "ten_2  Acme 50%  UTC       postpaid  dep_of_ten_2        2026-03-01T00:00:00.000Z",
      "ten_1  Old 50%   UTC       postpaid  dep_of_ten_1        2026-03-01T00:00:00.000Z",
      'more: switchyard tenants list --name "50%" --limit 2 --cursor ten_1',
      "",
    ]);
  });

  it("without flags asks for the first page; --cursor and --json; an empty page says so", async () => {
    const first = await runAdmin(["tenants", "list"], () => ({ body: page([]) }));
    expect(first.requests[0]!.url).toBe(`${base}/tenants`);
    expect(first.out).toBe("no tenants\n");
    const body = page([tenant("ten_0", "Z")]);
    const next = await runAdmin(["tenants", "list", "--cursor", "ten_1", "--json"], () => ({ body }));
    expect(next.requests[0]!.url).toBe(`${base}/tenants?cursor=ten_1`);
    expect(JSON.parse(next.out)).toEqual(body);
  });

  it.each([
    [["tenants", "list", "--limit", "0"], "--limit must be a whole number ≥ 1"],
    [["tenants", "list", "--limit", "501"], "--limit must be at most 500"],
    [["tenants", "list", "--name", ""], "--name must not be empty"],
    [["tenants", "list", "acme"], 'unexpected argument "acme"'],
  ])("%j is exit 2 before any request: %s", async (args, message) => {
    const r = await runAdmin(args);
    expect(r).toMatchObject({ code: 2, requests: [] });
    expect(r.err).toContain(message);
  });
});

describe("switchyard deployments list|update", () => {
  it("list sends tenant_id and type, prints a table and the next page's command", async () => {
    const r = await runAdmin(["deployments", "list", "--tenant", "ten_1", "--type", "public", "--limit", "1"], () => ({ body: page([dep("dep_2")], "dep_2") }));
    expect(r.requests[0]).toMatchObject({ method: "GET", url: `${base}/deployments?tenant_id=ten_1&type=public&limit=1` });
    expect(r.out.split("\n")).toEqual([
      "ID     TENANT  NAME  TYPE    DEFAULT  CREATED",
      "dep_2  ten_1   site  public  no       2026-03-01T00:00:00.000Z",
      "more: switchyard deployments list --tenant ten_1 --type public --limit 1 --cursor dep_2",
      "",
    ]);
    const bad = await runAdmin(["deployments", "list", "--type", "private"]);
    expect(bad).toMatchObject({ code: 2, requests: [] });
  });

  it("update PATCHes only the settings given, with none/all clearing", async () => {
    const r = await runAdmin(
      [
        "deployments",
        "update",
        "dep_2",
        "--name",
        "web",
        "--feature",
        "ragEnabled=on",
        "--feature",
        "smartRouting=off",
        "--model-preference",
        "none",
        "--allowed-models",
        "sim-fast, sim-lite",
        "--allowed-origins",
        "none",
        "--rate-limits",
        '{"requests_per_minute":60}',
        "--budget",
        '{"period":"month","limit_usd":5}',
      ],
      () => ({ body: dep("dep_2", { name: "web" }) }),
    );
    expect(r).toMatchObject({ code: 0, err: "" });
    expect(r.requests).toEqual([
      expect.objectContaining({
        method: "PATCH",
        url: `${base}/deployments/dep_2`,
        body: {
          name: "web",
          features: { ragEnabled: true, smartRouting: false },
          model_preference: null,
          allowed_models: ["sim-fast", "sim-lite"],
          allowed_origins: [],
          rate_limits: { requests_per_minute: 60 },
          budget: { period: "month", limit_usd: 5 },
        },
      }),
    ]);
    expect(r.out).toMatch(/^updated deployment dep_2\nid +dep_2\n/);
    expect(r.out).toMatch(/^name +web$/m);
    const cleared = await runAdmin(["deployments", "update", "dep_2", "--budget", "none", "--allowed-models", "all", "--type", "hybrid"], () => ({
      body: dep("dep_2"),
    }));
    expect(cleared.requests[0]!.body).toEqual({ type: "hybrid", budget: null, allowed_models: null });
  });

  it("update sends the scheduling settings, none clearing a cap, and prints them", async () => {
    const r = await runAdmin(["deployments", "update", "dep_2", "--queue-weight", "5", "--max-concurrent-jobs", "none", "--max-queue-ms", "60000"], () => ({
      body: dep("dep_2", { queue_weight: 5, max_concurrent_jobs: null, max_queue_ms: 60_000 }),
    }));
    expect(r).toMatchObject({ code: 0, err: "" });
    expect(r.requests[0]).toMatchObject({ method: "PATCH", url: `${base}/deployments/dep_2` });
    expect(r.requests[0]!.body).toEqual({ queue_weight: 5, max_concurrent_jobs: null, max_queue_ms: 60_000 });
    expect(r.out).toMatch(/^queue_weight +5$/m);
    expect(r.out).toMatch(/^max_concurrent_jobs +unlimited$/m);
    expect(r.out).toMatch(/^max_queue_ms +60000$/m);
    const set = await runAdmin(["deployments", "update", "dep_2", "--max-concurrent-jobs", "100000", "--max-queue-ms", "none"], () => ({ body: dep("dep_2") }));
    expect(set.requests[0]!.body).toEqual({ max_concurrent_jobs: 100_000, max_queue_ms: null });
  });

  it.each([
    [["deployments", "update", "dep_2"], "nothing to change"],
    [["deployments", "update", "dep_2", "--queue-weight", "0"], '--queue-weight must be a whole number ≥ 1, got "0"'],
    [["deployments", "update", "dep_2", "--queue-weight", "101"], "--queue-weight must be at most 100, got 101"],
    [["deployments", "update", "dep_2", "--queue-weight", "none"], '--queue-weight must be a whole number ≥ 1, got "none"'],
    [["deployments", "update", "dep_2", "--max-concurrent-jobs", "100001"], "--max-concurrent-jobs must be at most 100000, got 100001"],
    [["deployments", "update", "dep_2", "--max-concurrent-jobs", "2.5"], '--max-concurrent-jobs must be a whole number ≥ 1, got "2.5"'],
    [["deployments", "update", "dep_2", "--max-queue-ms", "86400001"], "--max-queue-ms must be at most 86400000, got 86400001"],
    [["deployments", "update", "dep_2", "--max-queue-ms", "soon"], '--max-queue-ms must be a whole number ≥ 1, got "soon"'],
    [["deployments", "update", "dep_2", "--feature", "ragEnabled"], "--feature must be NAME=on or NAME=off"],
    [["deployments", "update", "dep_2", "--rate-limits", "{nope"], "--rate-limits must be a JSON object"],
    [["deployments", "update", "dep_2", "--budget", "[1]"], "--budget must be a JSON object"],
    [["deployments", "update", "dep_2", "--type", "private"], "--type must be one of public, internal, hybrid"],
    [["deployments", "update"], "missing <id>"],
  ])("%j is exit 2 before any request: %s", async (args, message) => {
    const r = await runAdmin(args);
    expect(r).toMatchObject({ code: 2, requests: [] });
    expect(r.err).toContain(message);
  });
});

describe("switchyard end-users get", () => {
  const user = {
    object: "end_user",
    deployment_id: "dep_2",
    tenant_id: "ten_1",
    user_id: "a b",
    tier: "free",
    tier_set: false,
    messages_per_day: 50,
    window_seconds: 86400,
    messages_used: 3,
    messages_remaining: 47,
    updated_at: null,
  };
  it("reads the user of the deployment (path-encoded) and prints tier and use", async () => {
    const r = await runAdmin(["end-users", "get", "dep_2", "a b"], () => ({ body: user }));
    expect(r.requests[0]).toMatchObject({ method: "GET", url: `${base}/deployments/dep_2/end-users/a%20b` });
    expect(r.out).toMatch(/^tier +free \(default\)$/m);
    expect(r.out).toMatch(/^used \(last 24 h\) +3$/m);
    expect(r.out).toMatch(/^remaining +47$/m);
    const json = await runAdmin(["end-users", "get", "dep_2", "a b", "--json"], () => ({ body: { ...user, tier: "paid", tier_set: true } }));
    expect(JSON.parse(json.out)).toMatchObject({ tier: "paid" });
  });

  it("a 404 is exit 1 with the API's message; a missing user is exit 2", async () => {
    const r = await runAdmin(["end-users", "get", "dep_x", "u"], () => ({
      status: 404,
      body: { error: { type: "not_found_error", code: "deployment_not_found", message: "no deployment dep_x", param: "id" } },
    }));
    expect(r).toMatchObject({ code: 1, err: "switchyard: no deployment dep_x (404 deployment_not_found)\n" });
    expect(await runAdmin(["end-users", "get", "dep_2"])).toMatchObject({ code: 2, requests: [] });
  });
});

describe("switchyard audit", () => {
  const row = {
    id: "41",
    actor_key_id: null,
    tenant_id: "ten_1",
    action: "tenant.update",
    target_type: "tenant",
    target_id: "ten_1",
    before: null,
    after: null,
    created_at: "2026-03-01T00:00:00.000Z",
  };
  it("sends every filter under the API's names; a day is its UTC midnight; prints the next page's command", async () => {
    const r = await runAdmin(
      [
        "audit",
        "--action",
        "tenant.update",
        "--actor",
        "key1",
        "--since",
        "2026-03-01",
        "--until",
        "2026-03-02T12:00:00+01:00",
        "--target",
        "ten_1",
        "--target-type",
        "tenant",
        "--tenant",
        "ten_1",
        "--limit",
        "1",
      ],
      () => ({ body: page([row], "41") }),
    );
    expect(r).toMatchObject({ code: 0, err: "" });
    const url = new URL(r.requests[0]!.url);
    expect(url.pathname).toBe("/admin/v1/audit");
    expect(Object.fromEntries(url.searchParams)).toEqual({
      action: "tenant.update",
      actor: "key1",
      since: "2026-03-01T00:00:00Z",
      until: "2026-03-02T12:00:00+01:00",
      target: "ten_1",
      target_type: "tenant",
      tenant_id: "ten_1",
      limit: "1",
    });
    expect(r.out.split("\n")).toEqual([
      "ID  CREATED                   ACTOR   TENANT  ACTION         TARGET TYPE  TARGET",
      "41  2026-03-01T00:00:00.000Z  system  ten_1   tenant.update  tenant       ten_1",
      "more: switchyard audit --action tenant.update --actor key1 --since 2026-03-01T00:00:00Z --until 2026-03-02T12:00:00+01:00 --target ten_1 --target-type tenant --tenant ten_1 --limit 1 --cursor 41",
      "",
    ]);
    const none = await runAdmin(["audit"], () => ({ body: page([]) }));
    expect(none.requests[0]!.url).toBe(`${base}/audit`);
    expect(none.out).toBe("no audit rows\n");
  });

  it.each([
    [["audit", "--since", "yesterday"], "--since must be a date-time with a zone"],
    [["audit", "--until", "2026-03-02T12:00:00"], "--until must be a date-time with a zone"],
    [["audit", "--limit", "1000"], "--limit must be at most 500"],
    [["audit", "--acter", "k"], "Unknown option '--acter'"],
  ])("%j is exit 2 before any request: %s", async (args, message) => {
    const r = await runAdmin(args);
    expect(r).toMatchObject({ code: 2, requests: [] });
    expect(r.err).toContain(message);
  });
});
