import { cleanupPrefix, testPrefix, tomorrowUtc, TEST_REDIS_URL } from "@switchyard/testkit";
import { Redis } from "ioredis";
import { setTimeout as sleep } from "node:timers/promises";
import { BudgetLedger, type BudgetLedgerOptions, type BudgetScope, type BudgetScopeRef } from "./budget-ledger";

const prefix = testPrefix("budget");
const connections: Redis[] = [];
const DAY = tomorrowUtc();
const NOW = DAY.at("12:00");
let seq = 0;

function ledger(opts: Partial<BudgetLedgerOptions> = {}): BudgetLedger {
  const redis = new Redis(TEST_REDIS_URL);
  connections.push(redis);
  return new BudgetLedger({ redis, prefix, loadSpent: async () => ({ usd: 0, tokens: 0 }), now: () => NOW, ...opts });
}

/** A scope of its own per test, so tests never see each other's spend. */
function scope(kind: BudgetScopeRef["scope"], budget: BudgetScope["budget"], timezone = "UTC"): BudgetScope {
  return { scope: kind, id: `${kind}-${++seq}`, budget, timezone };
}

const round = (n: number) => Math.round(n * 1e9) / 1e9;

afterAll(async () => {
  for (const r of connections) r.disconnect();
  await cleanupPrefix(prefix);
});

describe("BudgetLedger (real Redis)", () => {
  it("100 concurrent $0.02 reservations on two instances against $1.00: exactly 50 succeed, settling never overspends", async () => {
    const a = ledger();
    const b = ledger();
    const t = scope("tenant", { period: "day", limit_usd: 1 });
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 ? a : b).reserve(`conc-${i}`, [t], { usd: 0.02, tokens: 100 })));
    const okIdx = results.flatMap((r, i) => (r.ok ? [i] : []));
    expect(okIdx).toHaveLength(50);
    for (const r of results.filter((x) => !x.ok)) {
      expect(r).toMatchObject({
        ok: false,
        code: "budget_exhausted",
        scope: { scope: "tenant", id: t.id },
        unit: "usd",
        limit: 1,
        spent: 0,
        reserved: 1,
        requested: 0.02,
      });
    }
    expect((await a.usage([t]))[0]).toMatchObject({ reserved_usd: 1, reserved_tokens: 5000, spent_usd: 0, used_ratio: 1 });

    // Actual cost ≤ the estimate: between $0.010 and $0.019.
    const actual = (i: number) => 0.01 + (i % 10) * 0.001;
    const settled = await Promise.all(okIdx.map((i) => (i % 3 ? a : b).settle(`conc-${i}`, 1, { usd: actual(i), tokens: 80 }, { final: true, scopes: [t] })));
    expect(settled.every((s) => s.applied && s.released && s.source === "reservation" && s.scopesCharged === 1)).toBe(true);
    const u = (await b.usage([t]))[0]!;
    const expected = round(okIdx.reduce((sum, i) => sum + actual(i), 0));
    expect(u.spent_usd).toBe(expected);
    expect(u.spent_usd).toBeLessThanOrEqual(1);
    expect(u).toMatchObject({ reserved_usd: 0, reserved_tokens: 0, spent_tokens: 4000 });
    // The freed headroom is usable again: exactly what is left, no more.
    const left = round(1 - expected);
    expect(await a.reserve("conc-after", [t], { usd: left, tokens: 0 })).toEqual({ ok: true, replayed: false });
    expect(await a.reserve("conc-after-2", [t], { usd: 0.000000001, tokens: 0 })).toMatchObject({ ok: false, code: "budget_exhausted" });
  });

  it("reserving the same job twice is a no-op that answers ok", async () => {
    const l = ledger();
    const t = scope("tenant", { period: "day", limit_usd: 1 });
    expect(await l.reserve("idem", [t], { usd: 0.4, tokens: 0 })).toEqual({ ok: true, replayed: false });
    expect(await l.reserve("idem", [t], { usd: 0.4, tokens: 0 })).toEqual({ ok: true, replayed: true });
    expect((await l.usage([t]))[0]!.reserved_usd).toBe(0.4);
  });

  it("settles each (job, attempt) once; a retry's spend adds up, drawn from the reservation until final", async () => {
    const l = ledger();
    const t = scope("tenant", { period: "day", limit_usd: 1, limit_tokens: 10_000 });
    await l.reserve("st", [t], { usd: 0.3, tokens: 1000 });
    const first = await l.settle("st", 1, { usd: 0.05, tokens: 200 }, { final: false, scopes: [t] });
    expect(first).toEqual({ applied: true, released: false, source: "reservation", scopesCharged: 1, scopesSkipped: 0, creditsCharged: false });
    expect((await l.settle("st", 1, { usd: 0.05, tokens: 200 }, { final: false, scopes: [t] })).applied).toBe(false);
    // The job's footprint (spent + reserved) is still the 0.30 admission checked.
    expect((await l.usage([t]))[0]).toMatchObject({ spent_usd: 0.05, spent_tokens: 200, reserved_usd: 0.25, reserved_tokens: 800 });
    const last = await l.settle("st", 2, { usd: 0.1, tokens: 400 }, { final: true, scopes: [t] });
    expect(last).toMatchObject({ applied: true, released: true, source: "reservation" });
    const again = await l.settle("st", 2, { usd: 0.1, tokens: 400 }, { final: true, scopes: [t] });
    expect(again).toMatchObject({ applied: false, released: false, source: "none" });
    expect((await l.usage([t]))[0]).toMatchObject({ spent_usd: 0.15, spent_tokens: 600, reserved_usd: 0, reserved_tokens: 0, used_ratio: 0.15 });
  });

  it("release frees a reservation once; a later settle without one charges the scopes' current period", async () => {
    const l = ledger();
    const t = scope("tenant", { period: "month", limit_usd: 1 });
    await l.reserve("rel", [t], { usd: 0.7, tokens: 10 });
    expect(await l.reserve("rel-2", [t], { usd: 0.7, tokens: 10 })).toMatchObject({ ok: false, reserved: 0.7 });
    expect(await l.release("rel")).toBe(true);
    expect(await l.release("rel")).toBe(false);
    expect((await l.usage([t]))[0]).toMatchObject({ reserved_usd: 0, reserved_tokens: 0, spent_usd: 0, period_key: `m:${DAY.month}` });
    const s = await l.settle("rel", 1, { usd: 0.2, tokens: 5 }, { final: true, scopes: [t] });
    expect(s).toMatchObject({ applied: true, released: false, source: "scopes", scopesCharged: 1 });
    expect((await l.usage([t]))[0]).toMatchObject({ spent_usd: 0.2, reserved_usd: 0 });
  });

  it("expires orphaned reservations explicitly and lazily at the next reserve", async () => {
    const l = ledger({ reservationTtlMs: 100 });
    const t = scope("tenant", { period: "day", limit_usd: 1 });
    for (const j of ["o1", "o2", "o3"]) expect((await l.reserve(j, [t], { usd: 0.3, tokens: 1 })).ok).toBe(true);
    expect(await l.reserve("o4", [t], { usd: 0.3, tokens: 1 })).toMatchObject({ ok: false, reserved: 0.9 });
    expect(await l.expireOrphans()).toBe(0);
    await sleep(150);
    expect(await l.expireOrphans(2)).toBe(2);
    expect(await l.expireOrphans()).toBe(1);
    expect((await l.usage([t]))[0]).toMatchObject({ reserved_usd: 0, reserved_tokens: 0 });
    // The expired job's settle still lands once, on the period of the scopes.
    expect(await l.settle("o1", 1, { usd: 0.1, tokens: 1 }, { final: true, scopes: [t] })).toMatchObject({ applied: true, released: false, source: "scopes" });

    for (const j of ["p1", "p2", "p3"]) await l.reserve(j, [t], { usd: 0.3, tokens: 1 });
    await sleep(150);
    // No explicit sweep: the reserve script releases the orphans before deciding.
    expect(await l.reserve("p4", [t], { usd: 0.8, tokens: 1 })).toEqual({ ok: true, replayed: false });
    expect((await l.usage([t]))[0]).toMatchObject({ spent_usd: 0.1, reserved_usd: 0.8 });
    expect(await l.release("p1")).toBe(false);
  });

  it("a new period starts with fresh spend, loaded for that period's window", async () => {
    // Tokyo keeps UTC+9 all year, so local midnight is 15:00 UTC whatever the date.
    let now = DAY.at("14:30"); // 23:30 in Tokyo
    const calls: Array<[string, string]> = [];
    const l = ledger({ now: () => now, loadSpent: async (_s, start, end) => (calls.push([start.toISOString(), end.toISOString()]), { usd: 0, tokens: 0 }) });
    const t = scope("tenant", { period: "day", limit_usd: 1 }, "Asia/Tokyo");
    expect((await l.reserve("day1", [t], { usd: 1, tokens: 0 })).ok).toBe(true);
    await l.settle("day1", 1, { usd: 1, tokens: 0 }, { final: true, scopes: [t] });
    expect(await l.reserve("day1-more", [t], { usd: 0.01, tokens: 0 })).toMatchObject({ ok: false, spent: 1 });
    now = DAY.at("15:00"); // local midnight of the next day
    expect(await l.reserve("day2", [t], { usd: 1, tokens: 0 })).toEqual({ ok: true, replayed: false });
    expect((await l.usage([t]))[0]).toMatchObject({
      period_key: `d:${DAY.plus(1)}`,
      period_start: DAY.at("15:00").toISOString(),
      spent_usd: 0,
      reserved_usd: 1,
    });
    expect(calls).toEqual([
      [DAY.at("15:00", -1).toISOString(), DAY.at("15:00").toISOString()],
      [DAY.at("15:00").toISOString(), DAY.at("15:00", 1).toISOString()],
    ]);
    // A job reserved yesterday settles into yesterday's period, not today's.
    const late = scope("tenant", { period: "day", limit_usd: 5 }, "Asia/Tokyo");
    now = DAY.at("12:00");
    await l.reserve("late", [late], { usd: 1, tokens: 0 });
    now = DAY.at("12:00", 1);
    await l.settle("late", 1, { usd: 0.5, tokens: 0 }, { final: true, scopes: [late] });
    expect((await l.usage([late]))[0]).toMatchObject({ period_key: `d:${DAY.plus(1)}`, spent_usd: 0 });
    now = DAY.at("12:00");
    expect((await l.usage([late]))[0]).toMatchObject({ period_key: `d:${DAY.date}`, spent_usd: 0.5, reserved_usd: 0 });
  });
});
