import { cleanupPrefix, testPrefix, tomorrowUtc, TEST_REDIS_URL } from "@switchyard/testkit";
import { Redis } from "ioredis";
import { BudgetLedger, type BudgetScope, type BudgetScopeRef } from "./budget-ledger";

const prefix = testPrefix("budget-top-up");
const connections: Redis[] = [];
const NOW = tomorrowUtc().at("12:00");
let seq = 0;

function ledger(): BudgetLedger {
  const redis = new Redis(TEST_REDIS_URL);
  connections.push(redis);
  return new BudgetLedger({ redis, prefix, loadSpent: async () => ({ usd: 0, tokens: 0 }), now: () => NOW });
}

function scope(kind: BudgetScopeRef["scope"], budget: BudgetScope["budget"]): BudgetScope {
  return { scope: kind, id: `${kind}-${++seq}`, budget, timezone: "UTC" };
}

afterAll(async () => {
  for (const r of connections) r.disconnect();
  await cleanupPrefix(prefix);
});

/**
 * A job whose run died (billed later, `final: false`) runs again on the same reservation: the
 * dead run's cost is drawn from it, and `topUp` reserves it again before the re-run, within the
 * limit, or refuses.
 */
describe("BudgetLedger.topUp: re-runs after a billed run (real Redis)", () => {
  it("budget ample: the re-run is covered by a full reservation again, and the end releases it all", async () => {
    const l = ledger();
    const dep = scope("deployment", { period: "day", limit_usd: 1, limit_tokens: 10_000 });
    expect(await l.reserve("ample", [dep], { usd: 0.3, tokens: 1000 })).toEqual({ ok: true, replayed: false });
    expect(await l.topUp("ample")).toEqual({ ok: true, kind: "none", added: { usd: 0, tokens: 0 } }); // nothing drawn yet
    await l.settle("ample", 1, { usd: 0.1, tokens: 300 }, { final: false, scopes: [dep] }); // the dead run
    expect((await l.usage([dep]))[0]).toMatchObject({ spent_usd: 0.1, reserved_usd: 0.2, spent_tokens: 300, reserved_tokens: 700 });

    expect(await l.topUp("ample")).toEqual({ ok: true, kind: "topped", added: { usd: 0.1, tokens: 300 } });
    expect((await l.usage([dep]))[0]).toMatchObject({ spent_usd: 0.1, reserved_usd: 0.3, spent_tokens: 300, reserved_tokens: 1000 });
    // Topping up twice reserves nothing more.
    expect(await l.topUp("ample")).toEqual({ ok: true, kind: "none", added: { usd: 0, tokens: 0 } });
    expect((await l.usage([dep]))[0]!.reserved_usd).toBe(0.3);

    // The re-run spends up to the whole estimate; the end releases everything held.
    expect(await l.settle("ample", 2, { usd: 0.3, tokens: 1000 }, { final: true, scopes: [dep] })).toMatchObject({ applied: true, released: true });
    expect((await l.usage([dep]))[0]).toMatchObject({ spent_usd: 0.4, reserved_usd: 0, spent_tokens: 1300, reserved_tokens: 0 });
    expect(await l.topUp("ample")).toEqual({ ok: true, kind: "missing", added: { usd: 0, tokens: 0 } });
  });

  it("budget nearly spent: the re-run is refused with budget_exhausted, nothing changes, and the end leaves spend within the limit", async () => {
    const l = ledger();
    const tenant = scope("tenant", { period: "month", limit_usd: 100 });
    const dep = scope("deployment", { period: "day", limit_usd: 1 });
    expect((await l.reserve("tight", [tenant, dep], { usd: 0.3, tokens: 100 })).ok).toBe(true);
    expect((await l.reserve("other", [dep], { usd: 0.7, tokens: 100 })).ok).toBe(true); // the budget is full
    await l.settle("tight", 1, { usd: 0.25, tokens: 60 }, { final: false, scopes: [tenant, dep] });
    expect((await l.usage([dep]))[0]).toMatchObject({ spent_usd: 0.25, reserved_usd: 0.75 });

    expect(await l.topUp("tight")).toEqual({
      ok: false,
      code: "budget_exhausted",
      scope: { scope: "deployment", id: dep.id },
      unit: "usd",
      limit: 1,
      spent: 0.25,
      reserved: 0.75,
      requested: 0.25,
    });
    // A refusal changes nothing, in either scope.
    const [t1, d1] = await l.usage([tenant, dep]);
    expect(t1).toMatchObject({ spent_usd: 0.25, reserved_usd: 0.05 });
    expect(d1).toMatchObject({ spent_usd: 0.25, reserved_usd: 0.75 });

    // The job ends there (failed, nothing more spent): its hold is released; the other job spends its whole reservation.
    expect(await l.settle("tight", 2, { usd: 0, tokens: 0 }, { final: true, scopes: [tenant, dep] })).toMatchObject({ released: true });
    await l.settle("other", 1, { usd: 0.7, tokens: 100 }, { final: true, scopes: [dep] });
    const [t2, d2] = await l.usage([tenant, dep]);
    expect(t2).toMatchObject({ spent_usd: 0.25, reserved_usd: 0, reserved_tokens: 0 });
    expect(d2).toMatchObject({ spent_usd: 0.95, reserved_usd: 0, reserved_tokens: 0 });
    expect(d2!.spent_usd).toBeLessThanOrEqual(1);
  });

  it("a token budget refuses in tokens; a top-up that fits exactly is allowed", async () => {
    const l = ledger();
    const dep = scope("deployment", { period: "day", limit_usd: 10, limit_tokens: 1000 });
    await l.reserve("tok", [dep], { usd: 0.01, tokens: 400 });
    await l.reserve("tok-other", [dep], { usd: 0.01, tokens: 600 });
    await l.settle("tok", 1, { usd: 0.001, tokens: 150 }, { final: false, scopes: [dep] });
    expect(await l.topUp("tok")).toMatchObject({ ok: false, code: "budget_exhausted", unit: "tokens", limit: 1000, spent: 150, reserved: 850, requested: 150 });
    await l.release("tok-other");
    expect(await l.topUp("tok")).toEqual({ ok: true, kind: "topped", added: { usd: 0.001, tokens: 150 } });
    expect((await l.usage([dep]))[0]).toMatchObject({ spent_tokens: 150, reserved_tokens: 400, reserved_usd: 0.01 });
    await l.release("tok");
    expect((await l.usage([dep]))[0]).toMatchObject({ reserved_tokens: 0, reserved_usd: 0 });
  });

  it("a dead run that cost more than the reservation draws only what it holds (the rest is the estimate's error)", async () => {
    const l = ledger();
    const dep = scope("deployment", { period: "day", limit_usd: 1 });
    await l.reserve("over", [dep], { usd: 0.2, tokens: 10 });
    await l.settle("over", 1, { usd: 0.25, tokens: 10 }, { final: false, scopes: [dep] });
    expect((await l.usage([dep]))[0]).toMatchObject({ spent_usd: 0.25, reserved_usd: 0 });
    expect(await l.topUp("over")).toEqual({ ok: true, kind: "topped", added: { usd: 0.2, tokens: 10 } });
    expect((await l.usage([dep]))[0]).toMatchObject({ spent_usd: 0.25, reserved_usd: 0.2 });
    await l.settle("over", 2, { usd: 0.1, tokens: 5 }, { final: true, scopes: [dep] });
    expect((await l.usage([dep]))[0]).toMatchObject({ spent_usd: 0.35, reserved_usd: 0, reserved_tokens: 0 });
  });

  it("prepaid credits: the re-run needs the balance to hold the drawn amount again", async () => {
    const l = ledger();
    const tenantId = `prepaid-${++seq}`;
    const credits = { tenantId, loadBalance: async () => 0.5 };
    expect((await l.reserve("cr", [], { usd: 0.3, tokens: 0 }, credits)).ok).toBe(true);
    expect((await l.reserve("cr-other", [], { usd: 0.2, tokens: 0 }, credits)).ok).toBe(true);
    await l.settle("cr", 1, { usd: 0.1, tokens: 0 }, { final: false, scopes: [], creditsTenantId: tenantId });
    expect(await l.credits(tenantId)).toEqual({ balance_usd: 0.4, reserved_usd: 0.4 });
    expect(await l.topUp("cr")).toEqual({ ok: false, code: "insufficient_credits", unit: "usd", limit: 0.4, spent: 0, reserved: 0.4, requested: 0.1 });
    expect(await l.adjustCredits(tenantId, 0.1)).toBe(0.5);
    expect(await l.topUp("cr")).toMatchObject({ ok: true, kind: "topped" });
    expect(await l.credits(tenantId)).toEqual({ balance_usd: 0.5, reserved_usd: 0.5 });
    await l.settle("cr", 2, { usd: 0.3, tokens: 0 }, { final: true, scopes: [], creditsTenantId: tenantId });
    await l.release("cr-other");
    expect(await l.credits(tenantId)).toEqual({ balance_usd: 0.2, reserved_usd: 0 });
  });
});
