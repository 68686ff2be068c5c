import { UsageEvent } from "@switchyard/contracts";
import { createTestDatabase, type TestDatabase } from "@switchyard/testkit";
import { creditBalance } from "./credits";
import { UsagePartitions } from "./partitions";
import { createTenant } from "./tenants";
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
      event({
        job_id: "job_s4",
        deployment_id: dep,
        input_tokens: 40,
        output_tokens: 4,
        cost_usd: 1,
        occurred_at: "2026-11-21T00:00:00.000Z",
        status: "incomplete",
      }),
      event({ job_id: "job_s5", deployment_id: dep, served_model: "sim-pro", input_tokens: 7, output_tokens: 5, cost_usd: 0.5 }),
    ]);
    expect(r).toMatchObject({ inserted: 5, duplicates: 0 });
    expect(await rollups(dep)).toEqual([
      { model: "sim-fast", day: "2026-11-20", requests: 3, errors: 1, input_tokens: 60, output_tokens: 6, cost_usd: "0.300000001" },
      { model: "sim-fast", day: "2026-11-21", requests: 1, errors: 1, input_tokens: 40, output_tokens: 4, cost_usd: "1.000000000" },
      { model: "sim-pro", day: "2026-11-20", requests: 1, errors: 0, input_tokens: 7, output_tokens: 5, cost_usd: "0.500000000" },
    ]);
    // A later batch on the same key adds to the row.
    await ingestUsageEvents(t.db, [
      event({ job_id: "job_s6", deployment_id: dep, input_tokens: 1, output_tokens: 1, cost_usd: 0.7 }),
      event({ job_id: "job_s7", deployment_id: dep, input_tokens: 1, output_tokens: 1, cost_usd: 0 }),
    ]);
    expect((await rollups(dep))[0]).toEqual({
      model: "sim-fast",
      day: "2026-11-20",
      requests: 5,
      errors: 1,
      input_tokens: 62,
      output_tokens: 8,
      cost_usd: "1.000000001",
    });
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

    const rows = await t.db
      .selectFrom("usage_events")
      .select(["job_id", "attempt"])
      .where("deployment_id", "=", dep)
      .orderBy("job_id")
      .orderBy("attempt")
      .execute();
    expect(rows).toEqual([
      { job_id: "job_d1", attempt: 1 },
      { job_id: "job_d1", attempt: 2 },
      { job_id: "job_d2", attempt: 1 },
      { job_id: "job_d3", attempt: 1 },
    ]);
    expect(await rollups(dep)).toEqual([
      { model: "sim-fast", day: "2026-11-20", requests: 4, errors: 1, input_tokens: 400, output_tokens: 200, cost_usd: "0.000800000" },
    ]);

    // A batch made only of re-deliveries changes nothing.
    expect(await ingestUsageEvents(t.db, [event({ job_id: "job_d2", deployment_id: dep })])).toEqual({ inserted: 0, duplicates: 1, insertedKeys: [] });
    expect((await rollups(dep))[0]?.requests).toBe(4);
  });

  it("a batch Postgres refuses for one event's data fails whole, with its SQLSTATE, and writes nothing", async () => {
    const dep = "dep_refused";
    const err = await ingestUsageEvents(t.db, [
      event({ job_id: "job_r1", deployment_id: dep }),
      event({ job_id: "job_r2", deployment_id: dep, provider: "bad\u0000provider" }),
    ]).catch((e: unknown) => e);
    expect((err as { code?: string }).code?.slice(0, 2)).toBe("22");
    expect(await t.db.selectFrom("usage_events").select("job_id").where("deployment_id", "=", dep).execute()).toEqual([]);
    expect(await rollups(dep)).toEqual([]);
  });

  it("debits prepaid tenants in the same statement, once per (job, attempt) actually inserted", async () => {
    const [a, b] = ["ten_pre_a", "ten_pre_b"];
    for (const id of [a, b]) await createTenant(t.db, { id, name: id, timezone: "UTC", billing_mode: "prepaid" }, { keyId: null });
    const dep = "dep_debits";
    const first = await ingestUsageEvents(t.db, [
      event({ job_id: "job_p1", deployment_id: dep, tenant_id: a, credits_tenant_id: a, cost_usd: 0.123456789 }),
      event({ job_id: "job_p2", deployment_id: dep, tenant_id: a, credits_tenant_id: a, cost_usd: 1 }),
      event({ job_id: "job_p3", deployment_id: dep, tenant_id: b, credits_tenant_id: b, cost_usd: 0.25 }),
      event({ job_id: "job_p4", deployment_id: dep, tenant_id: b, credits_tenant_id: b, cost_usd: 0 }), // nothing to debit
      event({ job_id: "job_p5", deployment_id: dep, tenant_id: "ten_post", cost_usd: 0.5 }), // postpaid: no debit
    ]);
    expect(first.inserted).toBe(5);
    const second = await ingestUsageEvents(t.db, [
      event({ job_id: "job_p1", deployment_id: dep, tenant_id: a, credits_tenant_id: a, cost_usd: 0.123456789 }), // re-delivered
      event({ job_id: "job_p6", deployment_id: dep, tenant_id: a, credits_tenant_id: a, cost_usd: 0.000000001 }),
      event({ job_id: "job_p6", deployment_id: dep, tenant_id: a, credits_tenant_id: a, cost_usd: 0.000000001 }), // twice in the batch
      event({ job_id: "job_p3", attempt: 2, deployment_id: dep, tenant_id: b, credits_tenant_id: b, cost_usd: 2 }), // another run: debited
    ]);
    expect(second).toMatchObject({ inserted: 2, duplicates: 2 });
    expect(await creditBalance(t.db, a)).toEqual({ balance_usd: -1.12345679, entries: 3 });
    expect(await creditBalance(t.db, b)).toEqual({ balance_usd: -2.25, entries: 2 });
    const stored = await t.db
      .selectFrom("credit_balances")
      .select(["tenant_id", "balance_usd", "entries"])
      .where("tenant_id", "in", [a, b])
      .orderBy("tenant_id")
      .execute();
    expect(stored.map((r) => [r.tenant_id, String(r.balance_usd), Number(r.entries)])).toEqual([
      [a, "-1.123456790", 3],
      [b, "-2.250000000", 2],
    ]);
    const entries = await t.db
      .selectFrom("credit_ledger")
      .select(["tenant_id", "kind", "reason", "idempotency_key", "job_id"])
      .where("tenant_id", "in", [a, b, "ten_post"])
      .orderBy("idempotency_key")
      .execute();
    expect(entries).toEqual([
      { tenant_id: a, kind: "debit", reason: "usage", idempotency_key: "usage:job_p1:1", job_id: "job_p1" },
      { tenant_id: a, kind: "debit", reason: "usage", idempotency_key: "usage:job_p2:1", job_id: "job_p2" },
      { tenant_id: b, kind: "debit", reason: "usage", idempotency_key: "usage:job_p3:1", job_id: "job_p3" },
      { tenant_id: b, kind: "debit", reason: "usage", idempotency_key: "usage:job_p3:2", job_id: "job_p3" },
      { tenant_id: a, kind: "debit", reason: "usage", idempotency_key: "usage:job_p6:1", job_id: "job_p6" },
    ]);
  });

  it("a debit Postgres refuses (unknown prepaid tenant) fails the whole statement: no usage row, rollup or debit", async () => {
    const dep = "dep_debit_refused";
    await createTenant(t.db, { id: "ten_pre_c", name: "c", timezone: "UTC", billing_mode: "prepaid" }, { keyId: null });
    const err = await ingestUsageEvents(t.db, [
      event({ job_id: "job_q1", deployment_id: dep, tenant_id: "ten_pre_c", credits_tenant_id: "ten_pre_c" }),
      event({ job_id: "job_q2", deployment_id: dep, credits_tenant_id: "ten_nobody" }),
    ]).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe("23503");
    expect(await t.db.selectFrom("usage_events").select("job_id").where("deployment_id", "=", dep).execute()).toEqual([]);
    expect(await rollups(dep)).toEqual([]);
    expect(await creditBalance(t.db, "ten_pre_c")).toEqual({ balance_usd: 0, entries: 0 });
  });

  it("concurrent batches full of re-deliveries: rows, rollups and debits equal a per-event reference, with no deadlock", async () => {
    const dep = "dep_many";
    const tenants = ["ten_many_0", "ten_many_1", "ten_many_2"];
    for (const id of tenants) await createTenant(t.db, { id, name: id, timezone: "UTC", billing_mode: "prepaid" }, { keyId: null });
    // A fixed pseudo-random sequence, so a failure can be replayed.
    let seed = 42;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const distinct = Array.from({ length: 2000 }, (_, i) =>
      event({
        job_id: `job_m${i}`,
        attempt: 1 + (i % 2),
        deployment_id: dep,
        tenant_id: tenants[i % 3]!,
        credits_tenant_id: i % 4 === 0 ? null : tenants[i % 3]!,
        served_model: ["m1", "m2"][i % 2]!,
        status: i % 7 === 0 ? "failed" : "succeeded",
        input_tokens: rnd(1000),
        output_tokens: rnd(500),
        cost_usd: rnd(10) === 0 ? 0 : rnd(1_000_000) / 1e9,
        occurred_at: i % 5 === 0 ? "2026-11-21T03:00:00.000Z" : "2026-11-20T10:00:00.000Z",
      }),
    );
    // Every event once, a third of them again; shuffled, cut into batches of 1..300, four in flight.
    const deliveries = [...distinct, ...distinct.filter((_, i) => i % 3 === 0)];
    for (let i = deliveries.length - 1; i > 0; i--) {
      const j = rnd(i + 1);
      [deliveries[i], deliveries[j]] = [deliveries[j]!, deliveries[i]!];
    }
    const batches: (typeof distinct)[] = [];
    for (let i = 0; i < deliveries.length;) {
      const n = 1 + rnd(300);
      batches.push(deliveries.slice(i, i + n));
      i += n;
    }
    let inserted = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let batch = batches.shift(); batch; batch = batches.shift()) {
          const r = await ingestUsageEvents(t.db, batch);
          inserted += r.inserted;
        }
      }),
    );
    expect(inserted).toBe(distinct.length);

    const nano = (usd: number) => BigInt(Math.round(usd * 1e9));
    const want = new Map<string, { requests: number; errors: number; input_tokens: number; output_tokens: number; cost: bigint }>();
    const debits = new Map<string, { nano: bigint; entries: number }>();
    for (const e of distinct) {
      const key = `${e.served_model}|${e.occurred_at.slice(0, 10)}|${e.tenant_id}`;
      const r = want.get(key) ?? { requests: 0, errors: 0, input_tokens: 0, output_tokens: 0, cost: 0n };
      want.set(key, {
        requests: r.requests + 1,
        errors: r.errors + (e.status === "failed" ? 1 : 0),
        input_tokens: r.input_tokens + e.input_tokens,
        output_tokens: r.output_tokens + e.output_tokens,
        cost: r.cost + nano(e.cost_usd),
      });
      if (e.credits_tenant_id && e.cost_usd > 0) {
        const d = debits.get(e.credits_tenant_id) ?? { nano: 0n, entries: 0 };
        debits.set(e.credits_tenant_id, { nano: d.nano + nano(e.cost_usd), entries: d.entries + 1 });
      }
    }
    const got = await t.db.selectFrom("usage_daily").selectAll().where("deployment_id", "=", dep).execute();
    expect(
      new Map(
        got.map((r) => [
          `${r.model}|${new Date(r.day as unknown as string | Date).toISOString().slice(0, 10)}|${r.tenant_id}`,
          {
            requests: Number(r.requests),
            errors: Number(r.errors),
            input_tokens: Number(r.input_tokens),
            output_tokens: Number(r.output_tokens),
            cost: nano(Number(r.cost_usd)),
          },
        ]),
      ),
    ).toEqual(want);
    const balances = await t.db.selectFrom("credit_balances").select(["tenant_id", "balance_usd", "entries"]).where("tenant_id", "in", tenants).execute();
    expect(new Map(balances.map((r) => [r.tenant_id, { nano: -nano(Number(r.balance_usd)), entries: Number(r.entries) }]))).toEqual(debits);
    for (const id of tenants) expect(nano((await creditBalance(t.db, id)).balance_usd)).toBe(-debits.get(id)!.nano);
    expect(
      Number(
        (
          await t.db
            .selectFrom("usage_events")
            .select((eb) => eb.fn.countAll<string>().as("n"))
            .where("deployment_id", "=", dep)
            .executeTakeFirstOrThrow()
        ).n,
      ),
    ).toBe(distinct.length);
  });
});
