import { UsageEvent } from "@switchyard/contracts";
import { createTestDatabase, type TestDatabase } from "@switchyard/testkit";
import { UsagePartitions } from "./partitions";
import { addDays, buildDailyReport, daysBetween, generateDailyReports, getDailyReport, isIsoDay, reportToCsv, type DailyReport } from "./reports";
import { createTenant, insertDeployment } from "./tenants";
import { ingestUsageEvents } from "./usage";
import { usageSummary } from "./usage-queries";

let t: TestDatabase;
let seq = 0;
const DAY = "2026-03-10";

type Row = Partial<UsageEvent> &
  Pick<UsageEvent, "tenant_id" | "deployment_id" | "served_model" | "input_tokens" | "output_tokens" | "cost_usd" | "latency_ms">;
const ev = (r: Row): UsageEvent =>
  UsageEvent.parse({
    job_id: `job_r${++seq}`,
    attempt: 1,
    api_key_id: null,
    requested_model: "auto",
    provider: "simulated",
    status: "succeeded",
    provenance: "reported",
    ttft_ms: null,
    occurred_at: `${DAY}T12:00:00.000Z`,
    ...r,
  });

/** Tenant A, 2026-03-10: three deployments (one of them unknown); figures worked out by hand in the tests. */
const a1 = (r: Omit<Row, "tenant_id" | "deployment_id">) => ev({ tenant_id: "ten_a", deployment_id: "dep_a1", ...r });
const a2 = (model: string, features: string[], latency: number, status: UsageEvent["status"] = "succeeded") =>
  ev({
    tenant_id: "ten_a",
    deployment_id: "dep_a2",
    served_model: model,
    input_tokens: 10,
    output_tokens: 5,
    cost_usd: 0.000001,
    latency_ms: latency,
    features,
    status,
  });
const EVENTS: UsageEvent[] = [
  a1({
    served_model: "flash",
    input_tokens: 100,
    output_tokens: 50,
    cost_usd: 0.001,
    latency_ms: 100,
    features: ["rag", "streaming"],
    occurred_at: `${DAY}T00:00:00.000Z`,
  }),
  a1({ served_model: "flash", input_tokens: 200, output_tokens: 100, cost_usd: 0.002, latency_ms: 200, features: ["rag"] }),
  a1({ served_model: "pro", status: "failed", input_tokens: 300, output_tokens: 0, cost_usd: 0.0000005, latency_ms: 300, features: ["rag", "rag"] }),
  a1({ served_model: "flash", status: "incomplete", input_tokens: 50, output_tokens: 25, cost_usd: 0.0005, latency_ms: 150, features: [] }),
  a1({ served_model: "lite", input_tokens: 10, output_tokens: 10, cost_usd: 0.0000004, latency_ms: 51, features: ["vision"] }),
  a1({
    served_model: "pro",
    input_tokens: 1000,
    output_tokens: 500,
    cost_usd: 0.012345678,
    latency_ms: 400,
    features: ["streaming"],
    occurred_at: `${DAY}T23:59:59.999Z`,
  }),
  a2("gpt-b", ["alpha", "beta"], 10),
  a2("gpt-b", ["beta", "gamma"], 20),
  a2("gpt-a", ["delta"], 30),
  a2("gpt-c", ["epsilon"], 40, "canceled"),
  a2("gpt-d", ["zeta"], 50),
  a2("gpt-e", [], 60),
  a2("gpt-f", [], 70),
  ev({
    tenant_id: "ten_a",
    deployment_id: "dep_gone",
    served_model: "flash",
    status: "failed",
    input_tokens: 1,
    output_tokens: 1,
    cost_usd: 0.1234565,
    latency_ms: 5,
  }),
  // Just outside the day, on either side.
  a1({ served_model: "flash", input_tokens: 1000, output_tokens: 1000, cost_usd: 1, latency_ms: 1, occurred_at: "2026-03-09T23:59:59.999Z" }),
  a1({ served_model: "pro", status: "failed", input_tokens: 2000, output_tokens: 0, cost_usd: 2, latency_ms: 1, occurred_at: "2026-03-11T00:00:00.000Z" }),
  ev({
    tenant_id: "ten_b",
    deployment_id: "dep_b1",
    served_model: "flash",
    input_tokens: 7,
    output_tokens: 3,
    cost_usd: 0.5,
    latency_ms: 1000,
    features: ["rag"],
  }),
];

const REPORT_A: DailyReport = {
  date: DAY,
  deployments: [
    {
      deployment_id: "dep_a2",
      deployment_name: 'docs "beta", search',
      requests: 7,
      tokens_used: 105,
      cost_estimate: 0.000007,
      avg_latency_ms: 40,
      error_rate: 0, // canceled is not an error
      top_models: [
        { model: "gpt-b", usage: 2 },
        { model: "gpt-a", usage: 1 },
        { model: "gpt-c", usage: 1 },
        { model: "gpt-d", usage: 1 },
        { model: "gpt-e", usage: 1 },
      ],
      top_features: [
        { feature: "beta", usage: 2 },
        { feature: "alpha", usage: 1 },
        { feature: "delta", usage: 1 },
        { feature: "epsilon", usage: 1 },
        { feature: "gamma", usage: 1 },
      ],
    },
    {
      deployment_id: "dep_a1",
      deployment_name: "support-bot",
      requests: 6,
      tokens_used: 2345, // 150 + 300 + 300 + 75 + 20 + 1500
      cost_estimate: 0.015847, // 0.015846578
      avg_latency_ms: 200.17, // 1201 / 6
      error_rate: 0.3333, // failed + incomplete of 6
      top_models: [
        { model: "flash", usage: 3 },
        { model: "pro", usage: 2 },
        { model: "lite", usage: 1 },
      ],
      top_features: [
        { feature: "rag", usage: 3 },
        { feature: "streaming", usage: 2 },
        { feature: "vision", usage: 1 },
      ],
    },
    {
      deployment_id: "dep_gone",
      deployment_name: null,
      requests: 1,
      tokens_used: 2,
      cost_estimate: 0.123457,
      avg_latency_ms: 5,
      error_rate: 1,
      top_models: [{ model: "flash", usage: 1 }],
      top_features: [],
    },
  ],
  // 0.139310078 rounded once (the rounded deployment costs would add up to 0.139311);
  // 3 errors / 14 requests (the mean of the three rates would be 0.4444).
  totals: { total_requests: 14, total_tokens: 2452, total_cost: 0.13931, avg_error_rate: 0.2143 },
};

beforeAll(async () => {
  t = await createTestDatabase();
  const actor = { keyId: null };
  for (const id of ["ten_a", "ten_b", "ten_c", "ten_d"]) await createTenant(t.db, { id, name: id, timezone: "UTC", billing_mode: "postpaid" }, actor);
  await t.db.updateTable("tenants").set({ created_at: "2026-01-01T00:00:00Z" }).where("id", "in", ["ten_a", "ten_b", "ten_c"]).execute();
  // ten_d appears after the day: it gets no report for it unless asked by name.
  await t.db.updateTable("tenants").set({ created_at: "2026-04-01T00:00:00Z" }).where("id", "=", "ten_d").execute();
  await insertDeployment(t.db, { id: "dep_a1", tenant_id: "ten_a", name: "support-bot", type: "internal", is_default: false });
  await insertDeployment(t.db, { id: "dep_a2", tenant_id: "ten_a", name: 'docs "beta", search', type: "public", is_default: false });
  await insertDeployment(t.db, { id: "dep_b1", tenant_id: "ten_b", name: "b-bot", type: "internal", is_default: false });
  await new UsagePartitions(t.db).ensureFor(EVENTS.map((e) => e.occurred_at));
  await ingestUsageEvents(t.db, EVENTS);
}, 60_000);
afterAll(async () => {
  await t?.drop();
});

describe("daily report", () => {
  it("computes every figure of a known day from the usage rows of that UTC day only", async () => {
    expect(await buildDailyReport(t.db, "ten_a", DAY)).toEqual(REPORT_A);
  });

  it("is empty, with zero totals, for a tenant without usage that day", async () => {
    expect(await buildDailyReport(t.db, "ten_c", DAY)).toEqual({
      date: DAY,
      deployments: [],
      totals: { total_requests: 0, total_tokens: 0, total_cost: 0, avg_error_rate: 0 },
    });
  });

  it("renders as RFC 4180 CSV: header, one row per deployment, quoted names, name:usage lists", () => {
    expect(reportToCsv(REPORT_A)).toBe(
      [
        "deployment_id,deployment_name,requests,tokens_used,cost_estimate,avg_latency_ms,error_rate,top_models,top_features",
        'dep_a2,"docs ""beta"", search",7,105,0.000007,40,0,gpt-b:2;gpt-a:1;gpt-c:1;gpt-d:1;gpt-e:1,beta:2;alpha:1;delta:1;epsilon:1;gamma:1',
        "dep_a1,support-bot,6,2345,0.015847,200.17,0.3333,flash:3;pro:2;lite:1,rag:3;streaming:2;vision:1",
        "dep_gone,,1,2,0.123457,5,1,flash:1,",
        "",
      ].join("\r\n"),
    );
    expect(reportToCsv({ ...REPORT_A, deployments: [] })).toBe(
      "deployment_id,deployment_name,requests,tokens_used,cost_estimate,avg_latency_ms,error_rate,top_models,top_features\r\n",
    );
  });

  it("generates a report for every tenant that existed that day (empty without usage), idempotently", async () => {
    expect(await generateDailyReports(t.db, DAY)).toEqual({ date: DAY, reports: 3, withUsage: 2 });
    const first = await t.db.selectFrom("daily_reports").select(["tenant_id", "generated_at"]).orderBy("tenant_id").execute();
    expect(first.map((r) => r.tenant_id)).toEqual(["ten_a", "ten_b", "ten_c"]);
    expect((await getDailyReport(t.db, "ten_a", DAY))?.report).toEqual(REPORT_A);
    expect((await getDailyReport(t.db, "ten_c", DAY))?.report.totals.total_requests).toBe(0);
    expect(await getDailyReport(t.db, "ten_d", DAY)).toBeUndefined();
    expect(await getDailyReport(t.db, "ten_a", "2026-03-11")).toBeUndefined();

    // Late usage for B, then a re-run: the same rows, B's replaced.
    const late = ev({
      tenant_id: "ten_b",
      deployment_id: "dep_b1",
      served_model: "pro",
      status: "failed",
      input_tokens: 1,
      output_tokens: 1,
      cost_usd: 0.25,
      latency_ms: 0,
    });
    await ingestUsageEvents(t.db, [late]);
    expect(await generateDailyReports(t.db, DAY)).toEqual({ date: DAY, reports: 3, withUsage: 2 });
    expect(await t.db.selectFrom("daily_reports").select("tenant_id").execute()).toHaveLength(3);
    const b = (await getDailyReport(t.db, "ten_b", DAY))!;
    expect(b.report.totals).toEqual({ total_requests: 2, total_tokens: 12, total_cost: 0.75, avg_error_rate: 0.5 });
    expect(b.report.deployments[0]).toMatchObject({
      deployment_name: "b-bot",
      avg_latency_ms: 500,
      top_models: [
        { model: "flash", usage: 1 },
        { model: "pro", usage: 1 },
      ],
      top_features: [{ feature: "rag", usage: 1 }],
    });
    expect(b.generatedAt.getTime()).toBeGreaterThanOrEqual(first.find((r) => r.tenant_id === "ten_b")!.generated_at.getTime());
    // Tenant A's report never contains B's usage.
    expect((await getDailyReport(t.db, "ten_a", DAY))?.report).toEqual(REPORT_A);
  });

  it("generates one named tenant's report, and refuses a tenant that doesn't exist", async () => {
    expect(await generateDailyReports(t.db, DAY, { tenantId: "ten_d" })).toEqual({ date: DAY, reports: 1, withUsage: 0 });
    expect((await getDailyReport(t.db, "ten_d", DAY))?.report.deployments).toEqual([]);
    await expect(generateDailyReports(t.db, DAY, { tenantId: "ten_nobody" })).rejects.toThrow(/no tenant ten_nobody/);
    await expect(generateDailyReports(t.db, "2026-02-30")).rejects.toThrow(RangeError);
  });
});

describe("usage summary from the rollups", () => {
  it("groups by day over an inclusive range", async () => {
    expect(await usageSummary(t.db, "ten_a", { from: "2026-03-09", to: "2026-03-11", groupBy: "day" })).toEqual([
      { key: "2026-03-09", requests: 1, errors: 0, input_tokens: 1000, output_tokens: 1000, cost_usd: 1 },
      { key: "2026-03-10", requests: 14, errors: 3, input_tokens: 1731, output_tokens: 721, cost_usd: 0.139310078 },
      { key: "2026-03-11", requests: 1, errors: 1, input_tokens: 2000, output_tokens: 0, cost_usd: 2 },
    ]);
    expect(await usageSummary(t.db, "ten_a", { from: "2026-03-10", to: "2026-03-10", groupBy: "day" })).toHaveLength(1);
    expect(await usageSummary(t.db, "ten_a", { from: "2026-03-12", to: "2026-04-30", groupBy: "day" })).toEqual([]);
  });

  it("groups by served model, sorted by key", async () => {
    const one = (key: string, requests: number, cost: number) => ({
      key,
      requests,
      errors: 0,
      input_tokens: 10 * requests,
      output_tokens: 5 * requests,
      cost_usd: cost,
    });
    expect(await usageSummary(t.db, "ten_a", { from: DAY, to: DAY, groupBy: "model" })).toEqual([
      { key: "flash", requests: 4, errors: 2, input_tokens: 351, output_tokens: 176, cost_usd: 0.1269565 },
      one("gpt-a", 1, 0.000001),
      one("gpt-b", 2, 0.000002),
      one("gpt-c", 1, 0.000001),
      one("gpt-d", 1, 0.000001),
      one("gpt-e", 1, 0.000001),
      one("gpt-f", 1, 0.000001),
      { key: "lite", requests: 1, errors: 0, input_tokens: 10, output_tokens: 10, cost_usd: 0.0000004 },
      { key: "pro", requests: 2, errors: 1, input_tokens: 1300, output_tokens: 500, cost_usd: 0.012346178 },
    ]);
  });

  it("groups by deployment, and never shows another tenant's usage", async () => {
    expect(await usageSummary(t.db, "ten_a", { from: "2026-03-09", to: "2026-03-11", groupBy: "deployment" })).toEqual([
      { key: "dep_a1", requests: 8, errors: 3, input_tokens: 4660, output_tokens: 1685, cost_usd: 3.015846578 },
      { key: "dep_a2", requests: 7, errors: 0, input_tokens: 70, output_tokens: 35, cost_usd: 0.000007 },
      { key: "dep_gone", requests: 1, errors: 1, input_tokens: 1, output_tokens: 1, cost_usd: 0.1234565 },
    ]);
    expect(await usageSummary(t.db, "ten_b", { from: "2026-03-01", to: "2026-03-31", groupBy: "deployment" })).toEqual([
      { key: "dep_b1", requests: 2, errors: 1, input_tokens: 8, output_tokens: 4, cost_usd: 0.75 },
    ]);
    expect(await usageSummary(t.db, "ten_c", { from: "2026-03-01", to: "2026-03-31", groupBy: "model" })).toEqual([]);
  });
});

describe("day helpers", () => {
  it("accept real calendar days only and count days across months and leap years", () => {
    expect(["2026-03-10", "2024-02-29"].map(isIsoDay)).toEqual([true, true]);
    expect(["2026-02-29", "2026-13-01", "2026-3-10", "20260310", "2026-03-10T00:00:00Z", ""].map(isIsoDay)).toEqual([false, false, false, false, false, false]);
    expect(addDays("2024-02-28", 1)).toBe("2024-02-29");
    expect(addDays("2026-12-31", 1)).toBe("2027-01-01");
    expect(addDays("2026-03-01", -1)).toBe("2026-02-28");
    expect(daysBetween("2024-01-01", "2024-12-31")).toBe(365);
    expect(daysBetween("2026-03-10", "2026-03-09")).toBe(-1);
  });
});
