import { UsageEvent } from "@switchyard/contracts";
import { createTestDatabase, type TestDatabase } from "@switchyard/testkit";
import { UsagePartitions } from "./partitions";
import { createTenant } from "./tenants";
import { ingestUsageEvents } from "./usage";
import { usageAcrossTenants, usageSummary } from "./usage-queries";

let t: TestDatabase;
let seq = 0;
const DAY = "2026-05-04";

const ev = (tenant: string, endUser: string | null, cost: number, over: Partial<UsageEvent> = {}): UsageEvent =>
  UsageEvent.parse({
    job_id: `job_eu${++seq}`,
    attempt: 1,
    tenant_id: tenant,
    deployment_id: `dep_${tenant}`,
    api_key_id: null,
    end_user: endUser,
    requested_model: "auto",
    served_model: "flash",
    provider: "simulated",
    status: "succeeded",
    input_tokens: 10,
    output_tokens: 5,
    cost_usd: cost,
    provenance: "reported",
    ttft_ms: null,
    latency_ms: 100,
    occurred_at: `${DAY}T12:00:00.000Z`,
    ...over,
  });

// ten_x: alice twice (one failed), bob once, two without an end user; ten_y: an "alice" of its own.
const EVENTS = [
  ev("ten_x", "alice", 0.25),
  ev("ten_x", "alice", 0.5, { status: "failed", input_tokens: 7, output_tokens: 0 }),
  ev("ten_x", "bob", 0.125),
  ev("ten_x", null, 1),
  ev("ten_x", null, 0.0625),
  ev("ten_y", "alice", 2),
  // The next day: outside a one-day range.
  ev("ten_x", "alice", 4, { occurred_at: "2026-05-05T00:00:00.000Z" }),
];

beforeAll(async () => {
  t = await createTestDatabase();
  for (const id of ["ten_x", "ten_y", "ten_z"]) await createTenant(t.db, { id, name: id, timezone: "UTC", billing_mode: "postpaid" }, { keyId: null });
  await new UsagePartitions(t.db).ensureFor(EVENTS.map((e) => e.occurred_at));
  await ingestUsageEvents(t.db, EVENTS);
});
afterAll(async () => {
  await t?.drop();
});

const row = (key: string | null, requests: number, errors: number, input: number, output: number, cost: number) => ({
  key,
  requests,
  errors,
  input_tokens: input,
  output_tokens: output,
  cost_usd: cost,
});

describe("usage per end user (real Postgres)", () => {
  it("each event keeps its end user", async () => {
    const rows = await t.db.selectFrom("usage_events").select(["job_id", "end_user"]).where("tenant_id", "=", "ten_x").orderBy("job_id").execute();
    expect(rows.map((r) => r.end_user).sort()).toEqual(["alice", "alice", "alice", "bob", null, null].sort());
  });

  it("group_by end_user: one row per end user, and usage without one under null (last)", async () => {
    expect(await usageSummary(t.db, "ten_x", { from: DAY, to: DAY, groupBy: "end_user" })).toEqual([
      row("alice", 2, 1, 17, 5, 0.75),
      row("bob", 1, 0, 10, 5, 0.125),
      row(null, 2, 0, 20, 10, 1.0625),
    ]);
    expect(await usageSummary(t.db, "ten_x", { from: DAY, to: "2026-05-05", groupBy: "end_user" })).toEqual([
      row("alice", 3, 1, 27, 10, 4.75),
      row("bob", 1, 0, 10, 5, 0.125),
      row(null, 2, 0, 20, 10, 1.0625),
    ]);
    // Only named end users: no null row. No usage: no rows.
    expect(await usageSummary(t.db, "ten_y", { from: DAY, to: DAY, groupBy: "end_user" })).toEqual([row("alice", 1, 0, 10, 5, 2)]);
    expect(await usageSummary(t.db, "ten_z", { from: DAY, to: DAY, groupBy: "end_user" })).toEqual([]);
  });

  it("a re-delivered event counts once", async () => {
    await ingestUsageEvents(t.db, [EVENTS[0]!, EVENTS[2]!]);
    expect((await usageSummary(t.db, "ten_x", { from: DAY, to: DAY, groupBy: "end_user" }))[0]).toEqual(row("alice", 2, 1, 17, 5, 0.75));
  });

  it("across tenants: end users keep their tenant apart, each tenant's usage without one is its own null row, biggest first", async () => {
    expect(await usageAcrossTenants(t.db, { from: DAY, to: DAY, groupBy: "end_user" })).toEqual([
      { ...row("alice", 1, 0, 10, 5, 2), tenant_id: "ten_y" },
      { ...row(null, 2, 0, 20, 10, 1.0625), tenant_id: "ten_x" },
      { ...row("alice", 2, 1, 17, 5, 0.75), tenant_id: "ten_x" },
      { ...row("bob", 1, 0, 10, 5, 0.125), tenant_id: "ten_x" },
    ]);
    expect(await usageAcrossTenants(t.db, { from: DAY, to: DAY, groupBy: "end_user", tenantId: "ten_y" })).toEqual([
      { ...row("alice", 1, 0, 10, 5, 2), tenant_id: "ten_y" },
    ]);
  });
});
