import { UsageEvent, type ApiErrorBody as ErrorBody, type UsageSummary as ListBody } from "@switchyard/contracts";
import { createApiKey, createTenant, generateDailyReports, ingestUsageEvents, insertDeployment, UsagePartitions, type DailyReport } from "@switchyard/db";
import { apiClient, startStack, type Stack } from "@switchyard/testkit";

let s: Stack;
let demo: ReturnType<typeof apiClient>;
let b: ReturnType<typeof apiClient>;
let noScopes: ReturnType<typeof apiClient>;
let seq = 0;
const DAY = "2026-06-15";

const ev = (
  tenant_id: string,
  deployment_id: string,
  served_model: string,
  input_tokens: number,
  output_tokens: number,
  cost_usd: number,
  latency_ms: number,
  more: Partial<UsageEvent> = {},
): UsageEvent =>
  UsageEvent.parse({
    job_id: `job_ur${++seq}`,
    attempt: 1,
    tenant_id,
    deployment_id,
    api_key_id: null,
    requested_model: "auto",
    served_model,
    provider: "simulated",
    status: "succeeded",
    input_tokens,
    output_tokens,
    cost_usd,
    provenance: "reported",
    ttft_ms: null,
    latency_ms,
    occurred_at: `${DAY}T08:00:00.000Z`,
    ...more,
  });

beforeAll(async () => {
  s = await startStack({ apps: ["gateway"] });
  const db = s.database.db;
  const actor = { keyId: null };
  await insertDeployment(db, { id: "dep_x", tenant_id: "ten_demo", name: "chat", type: "internal", is_default: false });
  await insertDeployment(db, { id: "dep_y", tenant_id: "ten_demo", name: "search,docs", type: "internal", is_default: false });
  await createTenant(db, { id: "ten_b", name: "B", timezone: "UTC", billing_mode: "postpaid" }, actor);
  await insertDeployment(db, { id: "dep_b", tenant_id: "ten_b", name: "b", type: "internal", is_default: false });
  const events = [
    ev("ten_demo", "dep_x", "flash", 100, 20, 0.01, 100, { features: ["rag"] }),
    ev("ten_demo", "dep_x", "flash", 50, 0, 0, 300, { status: "failed" }),
    ev("ten_demo", "dep_x", "pro", 200, 100, 0.0333333, 200, { features: ["rag", "vision"] }),
    ev("ten_demo", "dep_y", "lite", 10, 10, 0.000123, 50, { features: ["streaming"] }),
    ev("ten_demo", "dep_y", "lite", 5, 5, 0.000001, 10, { occurred_at: "2026-06-16T00:00:00.000Z" }),
    ev("ten_b", "dep_b", "flash", 1, 1, 0.5, 9, { status: "incomplete" }),
  ];
  await new UsagePartitions(db).ensureFor(events.map((e) => e.occurred_at));
  await ingestUsageEvents(db, events);
  await generateDailyReports(db, DAY);
  demo = apiClient(s.url, s.key);
  b = apiClient(s.url, (await createApiKey(db, "ten_b", { name: "reader", scopes: ["usage:read", "reports:read"] }, actor)).key);
  noScopes = apiClient(s.url, (await createApiKey(db, "ten_demo", { name: "jobs only", scopes: ["jobs:read"] }, actor)).key);
}, 60_000);
afterAll(async () => {
  await s?.stop();
});

const REPORT: DailyReport = {
  date: DAY,
  deployments: [
    // 600 ms / 3; 1 failure of 3; 0.0433333 to 6 places
    {
      deployment_id: "dep_x",
      deployment_name: "chat",
      requests: 3,
      tokens_used: 470,
      cost_estimate: 0.043333,
      avg_latency_ms: 200,
      error_rate: 0.3333,
      top_models: [
        { model: "flash", usage: 2 },
        { model: "pro", usage: 1 },
      ],
      top_features: [
        { feature: "rag", usage: 2 },
        { feature: "vision", usage: 1 },
      ],
    },
    {
      deployment_id: "dep_y",
      deployment_name: "search,docs",
      requests: 1,
      tokens_used: 20,
      cost_estimate: 0.000123,
      avg_latency_ms: 50,
      error_rate: 0,
      top_models: [{ model: "lite", usage: 1 }],
      top_features: [{ feature: "streaming", usage: 1 }],
    },
  ],
  totals: { total_requests: 4, total_tokens: 490, total_cost: 0.043456, avg_error_rate: 0.25 },
};
const CSV = [
  "deployment_id,deployment_name,requests,tokens_used,cost_estimate,avg_latency_ms,error_rate,top_models,top_features",
  "dep_x,chat,3,470,0.043333,200,0.3333,flash:2;pro:1,rag:2;vision:1",
  'dep_y,"search,docs",1,20,0.000123,50,0,lite:1,streaming:1',
  "",
].join("\r\n");

describe("GET /v1/usage", () => {
  it("sums the key's tenant's rollups per day, model or deployment", async () => {
    const range = "from=2026-06-15&to=2026-06-16";
    const byDay = await demo.get<ListBody>(`/v1/usage?${range}`);
    expect(byDay.status).toBe(200);
    expect(byDay.body).toEqual({
      object: "list",
      data: [
        { key: "2026-06-15", requests: 4, errors: 1, input_tokens: 360, output_tokens: 130, cost_usd: 0.0434563 },
        { key: "2026-06-16", requests: 1, errors: 0, input_tokens: 5, output_tokens: 5, cost_usd: 0.000001 },
      ],
    });
    expect((await demo.get<ListBody>(`/v1/usage?${range}&group_by=model`)).body.data).toEqual([
      { key: "flash", requests: 2, errors: 1, input_tokens: 150, output_tokens: 20, cost_usd: 0.01 },
      { key: "lite", requests: 2, errors: 0, input_tokens: 15, output_tokens: 15, cost_usd: 0.000124 },
      { key: "pro", requests: 1, errors: 0, input_tokens: 200, output_tokens: 100, cost_usd: 0.0333333 },
    ]);
    expect((await demo.get<ListBody>(`/v1/usage?${range}&group_by=deployment`)).body.data).toEqual([
      { key: "dep_x", requests: 3, errors: 1, input_tokens: 350, output_tokens: 120, cost_usd: 0.0433333 },
      { key: "dep_y", requests: 2, errors: 0, input_tokens: 15, output_tokens: 15, cost_usd: 0.000124 },
    ]);
    expect((await demo.get<ListBody>("/v1/usage?from=2026-06-16&to=2026-06-16&group_by=model")).body.data.map((r) => r.key)).toEqual(["lite"]);
  });

  it("shows tenant B only its own usage", async () => {
    expect((await b.get<ListBody>("/v1/usage?from=2026-06-01&to=2026-06-30&group_by=deployment")).body).toEqual({
      object: "list",
      data: [{ key: "dep_b", requests: 1, errors: 1, input_tokens: 1, output_tokens: 1, cost_usd: 0.5 }],
    });
  });

  it.each([
    ["to=2026-06-16", "from"],
    ["from=2026-06-15", "to"],
    ["from=2026-02-30&to=2026-03-01", "from"],
    ["from=2026-06-15&to=16-06-2026", "to"],
    ["from=2026-06-16&to=2026-06-15", "from"],
    ["from=2025-06-15&to=2026-06-16", "to"], // 367 days
    ["from=2026-06-15&to=2026-06-16&group_by=week", "group_by"],
    ["from=2026-06-15&from=2026-06-14&to=2026-06-16", "from"],
  ])("400 naming the parameter for ?%s", async (query, param) => {
    const r = await demo.get<ErrorBody>(`/v1/usage?${query}`);
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ type: "invalid_request_error", code: "invalid_request", param });
  });

  it("rejects an unknown parameter instead of ignoring it, and accepts a 366-day leap year", async () => {
    const r = await demo.get<ErrorBody>("/v1/usage?from=2026-06-15&to=2026-06-16&groupBy=model");
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: "unknown_field", param: "groupBy" });
    expect((await demo.get<ListBody>("/v1/usage?from=2024-01-01&to=2024-12-31")).status).toBe(200);
  });

  it("needs the usage:read scope and a key", async () => {
    const r = await noScopes.get<ErrorBody>("/v1/usage?from=2026-06-15&to=2026-06-16");
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe("insufficient_scope");
    expect((await apiClient(s.url).get("/v1/usage?from=2026-06-15&to=2026-06-16")).status).toBe(401);
  });
});

describe("GET /admin/v1/usage (ops, across tenants)", () => {
  const range = "from=2026-06-15&to=2026-06-16";
  it("sums every tenant's rollups per tenant, deployment, model or day, biggest spender first", async () => {
    const byTenant = await demo.get<ListBody & { group_by: string }>(`/admin/v1/usage?${range}`);
    expect(byTenant.status).toBe(200);
    expect(byTenant.body.group_by).toBe("tenant");
    expect(byTenant.body.data).toEqual([
      { key: "ten_b", requests: 1, errors: 1, input_tokens: 1, output_tokens: 1, cost_usd: 0.5 },
      { key: "ten_demo", requests: 5, errors: 1, input_tokens: 365, output_tokens: 135, cost_usd: 0.0434573 },
    ]);
    const byDeployment = (await demo.get<ListBody>(`/admin/v1/usage?${range}&group_by=deployment`)).body.data;
    expect(byDeployment.map((d) => [d.key, (d as { tenant_id?: string }).tenant_id, d.requests])).toEqual([
      ["dep_b", "ten_b", 1],
      ["dep_x", "ten_demo", 3],
      ["dep_y", "ten_demo", 2],
    ]);
    const flash = (await demo.get<ListBody>(`/admin/v1/usage?${range}&group_by=model`)).body.data.find((d) => d.key === "flash");
    expect(flash).toMatchObject({ requests: 3, errors: 2 }); // two tenants' flash use together
    const oneTenant = (await demo.get<ListBody>(`/admin/v1/usage?${range}&group_by=model&tenant_id=ten_b`)).body.data;
    expect(oneTenant.map((d) => d.key)).toEqual(["flash"]);
  });

  it("is admin only, and bad parameters are a 400 naming them", async () => {
    expect((await b.get<ErrorBody>(`/admin/v1/usage?${range}`)).status).toBe(403);
    expect((await demo.get<ErrorBody>(`/admin/v1/usage?${range}&group_by=customer`)).body.error).toMatchObject({ code: "invalid_request", param: "group_by" });
    expect((await demo.get<ErrorBody>("/admin/v1/usage?from=2026-06-16&to=2026-06-15")).body.error.param).toBe("from");
    expect((await demo.get<ErrorBody>(`/admin/v1/usage?${range}&groupBy=tenant`)).body.error).toMatchObject({ code: "unknown_field", param: "groupBy" });
  });
});

describe("GET /v1/reports/daily", () => {
  it("returns the stored report as JSON", async () => {
    const r = await demo.get<DailyReport>(`/v1/reports/daily?date=${DAY}`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/^application\/json/);
    expect(r.body).toEqual(REPORT);
  });

  it("returns CSV for Accept: text/csv and for ?format=csv", async () => {
    for (const r of [
      await demo.get<string>(`/v1/reports/daily?date=${DAY}`, { accept: "text/csv" }),
      await demo.get<string>(`/v1/reports/daily?date=${DAY}&format=csv`),
    ]) {
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toBe("text/csv; charset=utf-8");
      expect(r.headers.get("content-disposition")).toBe(`attachment; filename=switchyard-daily-${DAY}.csv`);
      expect(r.body).toBe(CSV);
    }
    // An explicit format wins over Accept.
    expect((await demo.get<DailyReport>(`/v1/reports/daily?date=${DAY}&format=json`, { accept: "text/csv" })).body).toEqual(REPORT);
  });

  it("shows tenant B its own report only, and 404s where none was generated", async () => {
    const r = await b.get<DailyReport>(`/v1/reports/daily?date=${DAY}`);
    expect(r.body.deployments.map((d) => d.deployment_id)).toEqual(["dep_b"]);
    expect(r.body.totals).toEqual({ total_requests: 1, total_tokens: 2, total_cost: 0.5, avg_error_rate: 1 });
    expect((await b.get<string>(`/v1/reports/daily?date=${DAY}&format=csv`)).body).not.toContain("dep_x");
    const missing = await demo.get<ErrorBody>("/v1/reports/daily?date=2026-06-16");
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({ type: "not_found_error", code: "not_found", param: "date" });
  });

  it("400s naming a bad date or format, 403s without reports:read", async () => {
    for (const [query, param] of [
      ["", "date"],
      ["date=2026-06-31", "date"],
      [`date=${DAY}&format=xml`, "format"],
    ] as const) {
      const r = await demo.get<ErrorBody>(`/v1/reports/daily?${query}`);
      expect(r.status).toBe(400);
      expect(r.body.error.param).toBe(param);
    }
    expect((await noScopes.get(`/v1/reports/daily?date=${DAY}`)).status).toBe(403);
  });
});
