import { UsageEvent } from "@switchyard/contracts";
import { createTestDatabase, type TestDatabase } from "@switchyard/testkit";
import { UsagePartitions } from "./partitions";
import { ingestUsageEvents } from "./usage";

let t: TestDatabase;

beforeAll(async () => {
  t = await createTestDatabase();
  await new UsagePartitions(t.db).ensureFor(["2026-11-20T00:00:00Z", "2026-11-21T00:00:00Z"]);
});
afterAll(async () => {
  await t?.drop();
});

const event = (over: Partial<UsageEvent>): UsageEvent =>
  UsageEvent.parse({
    job_id: "job_x",
    attempt: 1,
    tenant_id: "ten_usage",
    deployment_id: "dep_usage",
    api_key_id: null,
    requested_model: "auto",
    served_model: "sim-fast",
    provider: "simulated",
    status: "succeeded",
    input_tokens: 100,
    output_tokens: 50,
    cost_usd: 0.0002,
    provenance: "reported",
    ttft_ms: 12,
    latency_ms: 80,
    occurred_at: "2026-11-20T10:00:00.000Z",
    ...over,
  });

async function rollups(deploymentId: string) {
  const rows = await t.db.selectFrom("usage_daily").selectAll().where("deployment_id", "=", deploymentId).orderBy("model").orderBy("day").execute();
  return rows.map((r) => ({
    model: r.model,
    day: new Date(r.day as unknown as string | Date).toISOString().slice(0, 10),
    requests: Number(r.requests),
    errors: Number(r.errors),
    input_tokens: Number(r.input_tokens),
    output_tokens: Number(r.output_tokens),
    cost_usd: String(r.cost_usd),
  }));
}

describe("ingestUsageEvents (real Postgres)", () => {
  it("sums the events of one batch that share a rollup key into one usage_daily row, per UTC day", async () => {
    const dep = "dep_shared";
    const r = await ingestUsageEvents(t.db, [
      event({ job_id: "job_s1", deployment_id: dep, input_tokens: 10, output_tokens: 1, cost_usd: 0.000000001 }),
      event({ job_id: "job_s2", deployment_id: dep, input_tokens: 20, output_tokens: 2, cost_usd: 0.1, status: "failed" }),
      event({ job_id: "job_s3", deployment_id: dep, input_tokens: 30, output_tokens: 3, cost_usd: 0.2, occurred_at: "2026-11-20T23:59:59.999Z" }),
      event({ job_id: "job_s4", deployment_id: dep, input_tokens: 40, output_tokens: 4, cost_usd: 1, occurred_at: "2026-11-21T00:00:00.000Z", status: "incomplete" }),
      event({ job_id: "job_s5", deployment_id: dep, served_model: "sim-pro", input_tokens: 7, output_tokens: 5, cost_usd: 0.5 }),
    ]);
    expect(r).toMatchObject({ inserted: 5, duplicates: 0 });
    expect(await rollups(dep)).toEqual([
      { model: "sim-fast", day: "2026-11-20", requests: 3, errors: 1, input_tokens: 60, output_tokens: 6, cost_usd: "0.300000001" },
      { model: "sim-fast", day: "2026-11-21", requests: 1, errors: 1, input_tokens: 40, output_tokens: 4, cost_usd: "1.000000000" },
      { model: "sim-pro", day: "2026-11-20", requests: 1, errors: 0, input_tokens: 7, output_tokens: 5, cost_usd: "0.500000000" },
    ]);
    // A later batch on the same key adds to the row.
    await ingestUsageEvents(t.db, [event({ job_id: "job_s6", deployment_id: dep, input_tokens: 1, output_tokens: 1, cost_usd: 0.7 }), event({ job_id: "job_s7", deployment_id: dep, input_tokens: 1, output_tokens: 1, cost_usd: 0 })]);
    expect((await rollups(dep))[0]).toEqual({ model: "sim-fast", day: "2026-11-20", requests: 5, errors: 1, input_tokens: 62, output_tokens: 8, cost_usd: "1.000000001" });
  });

  it("writes one row per (job, attempt): duplicates within a batch and against an earlier batch count as duplicates, not in the rollup", async () => {
    const dep = "dep_dupes";
    const first = await ingestUsageEvents(t.db, [event({ job_id: "job_d1", deployment_id: dep }), event({ job_id: "job_d2", deployment_id: dep })]);
    expect(first).toMatchObject({ inserted: 2, duplicates: 0 });

    const seen: string[] = [];
    const second = await ingestUsageEvents(
      t.db,
      [
        event({ job_id: "job_d1", deployment_id: dep }), // already written by the first batch
        event({ job_id: "job_d3", deployment_id: dep }),
        event({ job_id: "job_d3", deployment_id: dep }), // twice in this batch
        event({ job_id: "job_d1", deployment_id: dep, attempt: 2, status: "failed" }), // another run of job_d1: a row of its own
      ],
      { inTransaction: async (_trx, inserted) => void seen.push(...inserted.map((e) => `${e.job_id}#${e.attempt}`)) },
    );
    expect(second.inserted).toBe(2);
    expect(second.duplicates).toBe(2);
    expect(second.insertedKeys.map((k) => `${k.job_id}#${k.attempt}`).sort()).toEqual(["job_d1#2", "job_d3#1"]);
    expect(seen.sort()).toEqual(["job_d1#2", "job_d3#1"]);

    const rows = await t.db.selectFrom("usage_events").select(["job_id", "attempt"]).where("deployment_id", "=", dep).orderBy("job_id").orderBy("attempt").execute();
    expect(rows).toEqual([
      { job_id: "job_d1", attempt: 1 },
      { job_id: "job_d1", attempt: 2 },
      { job_id: "job_d2", attempt: 1 },
      { job_id: "job_d3", attempt: 1 },
    ]);
    expect(await rollups(dep)).toEqual([{ model: "sim-fast", day: "2026-11-20", requests: 4, errors: 1, input_tokens: 400, output_tokens: 200, cost_usd: "0.000800000" }]);

    // A batch made only of re-deliveries changes nothing.
    expect(await ingestUsageEvents(t.db, [event({ job_id: "job_d2", deployment_id: dep })])).toEqual({ inserted: 0, duplicates: 1, insertedKeys: [] });
    expect((await rollups(dep))[0]?.requests).toBe(4);
  });

  it("a batch Postgres refuses for one event's data fails whole, with its SQLSTATE, and writes nothing", async () => {
    const dep = "dep_refused";
    const err = await ingestUsageEvents(t.db, [event({ job_id: "job_r1", deployment_id: dep }), event({ job_id: "job_r2", deployment_id: dep, provider: "bad\u0000provider" })]).catch((e: unknown) => e);
    expect((err as { code?: string }).code?.slice(0, 2)).toBe("22");
    expect(await t.db.selectFrom("usage_events").select("job_id").where("deployment_id", "=", dep).execute()).toEqual([]);
    expect(await rollups(dep)).toEqual([]);
  });
});
