import { createTestDatabase, type TestDatabase } from "@switchyard/testkit";
import { creditBalance, debitForUsage, grantCredits, listCredits, recalculateCredits } from "./credits";
import { createTenant } from "./tenants";

let t: TestDatabase;
let seq = 0;

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

async function tenant(): Promise<string> {
  const { tenant } = await createTenant(t.db, { id: `ten_credits_${++seq}`, name: "Prepaid", timezone: "UTC", billing_mode: "prepaid" }, { keyId: null });
  return tenant.id;
}

async function storedBalance(tenantId: string): Promise<{ balance_usd: number; entries: number } | undefined> {
  const r = await t.db.selectFrom("credit_balances").select(["balance_usd", "entries"]).where("tenant_id", "=", tenantId).executeTakeFirst();
  return r && { balance_usd: Number(r.balance_usd), entries: Number(r.entries) };
}

describe("credits (real Postgres)", () => {
  it("a grant is written once per idempotency key, with one audit row", async () => {
    const id = await tenant();
    const first = await grantCredits(t.db, id, { amount_usd: 25.5, reason: "top-up", idempotencyKey: "grant-1", actorKeyId: "key_admin" });
    expect(first.replayed).toBe(false);
    expect(first.entry).toMatchObject({
      tenant_id: id,
      amount_usd: 25.5,
      kind: "grant",
      reason: "top-up",
      idempotency_key: "grant-1",
      job_id: null,
      actor_key_id: "key_admin",
    });
    const again = await grantCredits(t.db, id, { amount_usd: 25.5, reason: "top-up", idempotencyKey: "grant-1", actorKeyId: "key_admin" });
    expect(again).toEqual({ entry: first.entry, replayed: true });
    expect(await creditBalance(t.db, id)).toEqual({ balance_usd: 25.5, entries: 1 });
    const audits = await t.db.selectFrom("audit_log").selectAll().where("tenant_id", "=", id).where("action", "=", "credits.grant").execute();
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({ actor_key_id: "key_admin", target_type: "credit_ledger", target_id: first.entry.id });
    // The same key is another tenant's own.
    const other = await tenant();
    expect((await grantCredits(t.db, other, { amount_usd: 1, reason: "x", idempotencyKey: "grant-1", actorKeyId: null })).replayed).toBe(false);
  });

  it("concurrent replays of one key write one entry; concurrent distinct grants all count", async () => {
    const id = await tenant();
    const same = await Promise.all(
      Array.from({ length: 10 }, () => grantCredits(t.db, id, { amount_usd: 10, reason: "r", idempotencyKey: "same", actorKeyId: null })),
    );
    expect(same.filter((r) => !r.replayed)).toHaveLength(1);
    expect(new Set(same.map((r) => r.entry.id)).size).toBe(1);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => grantCredits(t.db, id, { amount_usd: 0.1, reason: "r", idempotencyKey: `k-${i}`, actorKeyId: null })),
    );
    expect(await creditBalance(t.db, id)).toEqual({ balance_usd: 12, entries: 21 });
    expect(await storedBalance(id)).toEqual({ balance_usd: 12, entries: 21 });
  });

  it("usage debits are negative, once per (job, attempt), and roll back with their transaction", async () => {
    const id = await tenant();
    await grantCredits(t.db, id, { amount_usd: 10, reason: "r", idempotencyKey: "g", actorKeyId: null });
    const d1 = await t.db.transaction().execute((trx) => debitForUsage(trx, { tenantId: id, jobId: "job_1", attempt: 1, amountUsd: 0.123456789 }));
    expect(d1.replayed).toBe(false);
    expect(d1.entry).toMatchObject({ amount_usd: -0.123456789, kind: "debit", reason: "usage", idempotency_key: "usage:job_1:1", job_id: "job_1" });
    const d2 = await t.db.transaction().execute((trx) => debitForUsage(trx, { tenantId: id, jobId: "job_1", attempt: 1, amountUsd: 0.123456789 }));
    expect(d2).toEqual({ entry: d1.entry, replayed: true });
    await t.db.transaction().execute((trx) => debitForUsage(trx, { tenantId: id, jobId: "job_1", attempt: 2, amountUsd: 0.5 }));
    await expect(
      t.db.transaction().execute(async (trx) => {
        await debitForUsage(trx, { tenantId: id, jobId: "job_2", attempt: 1, amountUsd: 3 });
        throw new Error("usage insert failed");
      }),
    ).rejects.toThrow("usage insert failed");
    expect(await t.db.transaction().execute((trx) => debitForUsage(trx, { tenantId: id, jobId: "job_3", attempt: 1, amountUsd: 0 }))).toEqual({
      entry: null,
      replayed: false,
    });
    expect(await creditBalance(t.db, id)).toEqual({ balance_usd: 9.376543211, entries: 3 });
    expect(await storedBalance(id)).toEqual({ balance_usd: 9.376543211, entries: 3 });
  });

  it("a balance can go below zero through debits; a negative grant is an adjustment; zero is refused", async () => {
    const id = await tenant();
    await grantCredits(t.db, id, { amount_usd: 1, reason: "r", idempotencyKey: "g", actorKeyId: null });
    await debitForUsage(t.db, { tenantId: id, jobId: "j", attempt: 1, amountUsd: 1.25 });
    const adj = await grantCredits(t.db, id, { amount_usd: -0.5, reason: "refund reversal", idempotencyKey: "adj", actorKeyId: null });
    expect(adj.entry.kind).toBe("adjustment");
    expect(await creditBalance(t.db, id)).toEqual({ balance_usd: -0.75, entries: 3 });
    await expect(grantCredits(t.db, id, { amount_usd: 0, reason: "r", idempotencyKey: "z", actorKeyId: null })).rejects.toThrow(RangeError);
    await expect(grantCredits(t.db, id, { amount_usd: Number.NaN, reason: "r", idempotencyKey: "n", actorKeyId: null })).rejects.toThrow(RangeError);
    await expect(debitForUsage(t.db, { tenantId: id, jobId: "j", attempt: 2, amountUsd: -1 })).rejects.toThrow(RangeError);
    expect(await creditBalance(t.db, await tenant())).toEqual({ balance_usd: 0, entries: 0 });
  });

  it("lists entries newest first, page by page", async () => {
    const id = await tenant();
    for (let i = 1; i <= 5; i++) await grantCredits(t.db, id, { amount_usd: i, reason: `g${i}`, idempotencyKey: `p-${i}`, actorKeyId: null });
    const p1 = await listCredits(t.db, id, { limit: 2 });
    expect(p1.entries.map((e) => e.amount_usd)).toEqual([5, 4]);
    const p2 = await listCredits(t.db, id, { limit: 2, cursor: p1.next_cursor });
    expect(p2.entries.map((e) => e.amount_usd)).toEqual([3, 2]);
    const p3 = await listCredits(t.db, id, { limit: 2, cursor: p2.next_cursor });
    expect(p3).toMatchObject({ next_cursor: null });
    expect(p3.entries.map((e) => e.reason)).toEqual(["g1"]);
    expect((await listCredits(t.db, id)).entries).toHaveLength(5);
    await expect(listCredits(t.db, id, { cursor: "1; drop table" })).rejects.toThrow(RangeError);
  });

  it("recalculate rebuilds credit_balances from the ledger, for one tenant or all", async () => {
    const a = await tenant();
    const b = await tenant();
    const c = await tenant();
    await grantCredits(t.db, a, { amount_usd: 3.333333333, reason: "r", idempotencyKey: "1", actorKeyId: null });
    await grantCredits(t.db, a, { amount_usd: 1.000000001, reason: "r", idempotencyKey: "2", actorKeyId: null });
    await grantCredits(t.db, b, { amount_usd: 7, reason: "r", idempotencyKey: "1", actorKeyId: null });
    await t.db.updateTable("credit_balances").set({ balance_usd: "999", entries: 42 }).where("tenant_id", "in", [a, b]).execute();
    await t.db.insertInto("credit_balances").values({ tenant_id: c, balance_usd: "5", entries: 1 }).execute(); // no ledger behind it

    expect(await recalculateCredits(t.db, a)).toEqual([{ tenant_id: a, balance_usd: 4.333333334, entries: 2 }]);
    expect(await storedBalance(a)).toEqual({ balance_usd: 4.333333334, entries: 2 });
    expect(await storedBalance(b)).toEqual({ balance_usd: 999, entries: 42 }); // untouched by a one-tenant run

    const all = await recalculateCredits(t.db);
    expect(all).toContainEqual({ tenant_id: b, balance_usd: 7, entries: 1 });
    expect(all.find((r) => r.tenant_id === c)).toBeUndefined();
    expect(await storedBalance(b)).toEqual({ balance_usd: 7, entries: 1 });
    expect(await storedBalance(c)).toBeUndefined();
    for (const r of all) expect(r).toEqual({ tenant_id: r.tenant_id, ...(await creditBalance(t.db, r.tenant_id)) });
    expect(await recalculateCredits(t.db, c)).toEqual([{ tenant_id: c, balance_usd: 0, entries: 0 }]);
  });
});
