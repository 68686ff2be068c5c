import { cleanupPrefix, testPrefix, tomorrowUtc, TEST_REDIS_URL } from "@switchyard/testkit";
import { RedisKeys } from "@switchyard/contracts";
import { Redis } from "ioredis";
import { setTimeout as sleep } from "node:timers/promises";
import { BudgetLedger, type BudgetLedgerOptions, type BudgetScope, type BudgetScopeRef } from "./budget-ledger";

const prefix = testPrefix("budget-scopes");
const keys = new RedisKeys(prefix);
const connections: Redis[] = [];
const DAY = tomorrowUtc();
const NOW = DAY.at("12:00");
let seq = 0;

function connect(): Redis {
  const redis = new Redis(TEST_REDIS_URL);
  connections.push(redis);
  return redis;
}

function ledger(opts: Partial<BudgetLedgerOptions> = {}): BudgetLedger {
  return new BudgetLedger({ redis: connect(), prefix, loadSpent: async () => ({ usd: 0, tokens: 0 }), now: () => NOW, ...opts });
}

function scope(kind: BudgetScopeRef["scope"], budget: BudgetScope["budget"]): BudgetScope {
  return { scope: kind, id: `${kind}-${++seq}`, budget, timezone: "UTC" };
}

afterAll(async () => {
  for (const r of connections) r.disconnect();
  await cleanupPrefix(prefix);
});

describe("BudgetLedger scopes, initialisation and credits (real Redis)", () => {
  it("reserves in a tenant and a deployment scope together or in neither", async () => {
    const l = ledger();
    const tenant = scope("tenant", { period: "month", limit_usd: 10 });
    const dep = scope("deployment", { period: "day", limit_usd: 0.25 });
    expect(await l.reserve("both-1", [tenant, dep], { usd: 0.2, tokens: 50 })).toEqual({ ok: true, replayed: false });
    const refused = await l.reserve("both-2", [tenant, dep], { usd: 0.1, tokens: 50 });
    expect(refused).toEqual({
      ok: false,
      code: "budget_exhausted",
      scope: { scope: "deployment", id: dep.id },
      unit: "usd",
      limit: 0.25,
      spent: 0,
      reserved: 0.2,
      requested: 0.1,
    });
    const [t, d] = await l.usage([tenant, dep]);
    expect(t).toMatchObject({ period: "month", reserved_usd: 0.2, reserved_tokens: 50, used_ratio: 0.02 });
    expect(d).toMatchObject({ period: "day", reserved_usd: 0.2, reserved_tokens: 50, used_ratio: 0.8 });
    // The tenant alone still has room.
    expect((await l.reserve("tenant-only", [tenant], { usd: 0.1, tokens: 0 })).ok).toBe(true);
    await l.settle("both-1", 1, { usd: 0.15, tokens: 40 }, { final: true, scopes: [tenant, dep] });
    const [t2, d2] = await l.usage([tenant, dep]);
    expect(t2).toMatchObject({ spent_usd: 0.15, reserved_usd: 0.1 });
    expect(d2).toMatchObject({ spent_usd: 0.15, reserved_usd: 0, spent_tokens: 40 });
  });

  it("enforces a token budget in tokens, and the tighter of two units", async () => {
    const l = ledger();
    const dep = scope("deployment", { period: "day", limit_usd: 100, limit_tokens: 1000 });
    expect((await l.reserve("tok-1", [dep], { usd: 0.01, tokens: 600 })).ok).toBe(true);
    expect(await l.reserve("tok-2", [dep], { usd: 0.01, tokens: 401 })).toEqual({
      ok: false,
      code: "budget_exhausted",
      scope: { scope: "deployment", id: dep.id },
      unit: "tokens",
      limit: 1000,
      spent: 0,
      reserved: 600,
      requested: 401,
    });
    expect((await l.reserve("tok-3", [dep], { usd: 0.01, tokens: 400 })).ok).toBe(true);
    expect((await l.usage([dep]))[0]).toMatchObject({ limit_tokens: 1000, limit_usd: 100, reserved_tokens: 1000, used_ratio: 1 });
  });

  it("initialises a period from loadSpent once under concurrency, and never double counts across instances", async () => {
    const calls: BudgetScopeRef[] = [];
    const loadSpent = async (s: BudgetScopeRef) => {
      calls.push(s);
      await sleep(30);
      return { usd: 0.9, tokens: 123 };
    };
    const a = ledger({ loadSpent });
    const t = scope("tenant", { period: "day", limit_usd: 1 });
    const one = await Promise.all(Array.from({ length: 20 }, (_, i) => a.reserve(`init-a-${i}`, [t], { usd: 0.02, tokens: 1 })));
    expect(one.filter((r) => r.ok)).toHaveLength(5); // 0.90 + 5 × 0.02 = 1.00
    expect(calls).toEqual([{ scope: "tenant", id: t.id }]);
    expect((await a.usage([t]))[0]).toMatchObject({ spent_usd: 0.9, spent_tokens: 123, reserved_usd: 0.1 });

    calls.length = 0;
    const b = ledger({ loadSpent });
    const c = ledger({ loadSpent });
    const t2 = scope("tenant", { period: "day", limit_usd: 1 });
    const two = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? b : c).reserve(`init-bc-${i}`, [t2], { usd: 0.02, tokens: 1 })));
    expect(two.filter((r) => r.ok)).toHaveLength(5);
    expect(calls.length).toBeGreaterThanOrEqual(1);
    expect(calls.length).toBeLessThanOrEqual(2); // at most one load per instance
    expect((await b.usage([t2]))[0]).toMatchObject({ spent_usd: 0.9, reserved_usd: 0.1 });
  });

  it("rebuilds a period Redis has lost from loadSpent (Redis restart)", async () => {
    let pgSpend = 0.25;
    const l = ledger({ loadSpent: async () => ({ usd: pgSpend, tokens: 0 }) });
    const t = scope("tenant", { period: "day", limit_usd: 1 });
    expect((await l.usage([t]))[0]).toMatchObject({ spent_usd: 0.25, reserved_usd: 0 });
    pgSpend = 0.8; // more usage reached Postgres meanwhile
    const raw = connect();
    await raw.del(keys.budgetPeriod("tenant", t.id, `d:${DAY.date}`));
    expect(await l.reserve("lost", [t], { usd: 0.25, tokens: 0 })).toMatchObject({ ok: false, spent: 0.8 });
    expect((await l.reserve("lost-2", [t], { usd: 0.2, tokens: 0 })).ok).toBe(true);
    // A settle for a period Redis does not hold is skipped (Postgres counts it), not half-created.
    await raw.del(keys.budgetPeriod("tenant", t.id, `d:${DAY.date}`));
    expect(await l.settle("lost-2", 1, { usd: 0.2, tokens: 0 }, { final: true, scopes: [t] })).toMatchObject({
      applied: true,
      released: true,
      scopesCharged: 0,
      scopesSkipped: 1,
    });
    expect(await raw.exists(keys.budgetPeriod("tenant", t.id, `d:${DAY.date}`))).toBe(0);
  });

  it("keeps amounts in the millions exact to the nano-dollar", async () => {
    const l = ledger();
    const t = scope("tenant", { period: "month", limit_usd: 5_000_000 });
    expect((await l.reserve("big-1", [t], { usd: 1_234_567.123456789, tokens: 0 })).ok).toBe(true);
    expect(await l.release("big-1")).toBe(true);
    expect((await l.reserve("big-2", [t], { usd: 4_999_999.999999999, tokens: 0 })).ok).toBe(true);
    await l.settle("big-2", 1, { usd: 4_000_000.000000001, tokens: 0 }, { final: true, scopes: [t] });
    expect((await l.usage([t]))[0]).toMatchObject({ spent_usd: 4_000_000.000000001, reserved_usd: 0 });
    expect(await l.reserve("big-3", [t], { usd: 1_000_000, tokens: 0 })).toMatchObject({
      ok: false,
      limit: 5_000_000,
      spent: 4_000_000.000000001,
      reserved: 0,
    });
  });

  it("prepaid credits: insufficient_credits, atomic with budgets, settle debits, grants adjust the loaded balance", async () => {
    const l = ledger();
    let loads = 0;
    const tenantId = `prepaid-${++seq}`;
    const credits = { tenantId, loadBalance: async () => (loads++, 0.05) };
    const t = scope("tenant", { period: "day", limit_usd: 1 });
    expect(await l.credits(tenantId)).toBeNull();
    expect(await l.adjustCredits(tenantId, 5)).toBeNull(); // not loaded: the next load reads the ledger
    expect(await l.reserve("cr-1", [t], { usd: 0.03, tokens: 0 }, credits)).toEqual({ ok: true, replayed: false });
    expect(await l.credits(tenantId)).toEqual({ balance_usd: 0.05, reserved_usd: 0.03 });
    const refused = await l.reserve("cr-2", [t], { usd: 0.03, tokens: 0 }, credits);
    expect(refused).toEqual({ ok: false, code: "insufficient_credits", unit: "usd", limit: 0.05, spent: 0, reserved: 0.03, requested: 0.03 });
    expect((await l.usage([t]))[0]!.reserved_usd).toBe(0.03); // the budget was not touched either

    const s = await l.settle("cr-1", 1, { usd: 0.02, tokens: 0 }, { final: true, scopes: [t], creditsTenantId: tenantId });
    expect(s).toMatchObject({ applied: true, released: true, creditsCharged: true });
    expect(await l.credits(tenantId)).toEqual({ balance_usd: 0.03, reserved_usd: 0 });
    expect(await l.settle("cr-1", 1, { usd: 0.02, tokens: 0 }, { final: true, scopes: [t], creditsTenantId: tenantId })).toMatchObject({ applied: false });
    expect(await l.credits(tenantId)).toEqual({ balance_usd: 0.03, reserved_usd: 0 });

    expect(await l.adjustCredits(tenantId, 1)).toBe(1.03);
    expect((await l.reserve("cr-3", [t], { usd: 0.5, tokens: 0 }, credits)).ok).toBe(true);
    expect(await l.release("cr-3")).toBe(true);
    expect(await l.credits(tenantId)).toEqual({ balance_usd: 1.03, reserved_usd: 0 });
    expect(loads).toBe(1);
    // Credits only, no budget scope: still checked.
    expect(await l.reserve("cr-4", [], { usd: 2, tokens: 0 }, credits)).toMatchObject({ ok: false, code: "insufficient_credits", limit: 1.03 });
  });
});
