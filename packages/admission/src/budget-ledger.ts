import { RedisKeys } from "@switchyard/contracts";
import { defineBudgetLedgerCommands, type Redis, type Scripted } from "./budget-ledger-commands";
import { ReserveReply, SettleReply, TopUpReply, toNano, toNanoSigned, toTokens, usdOf } from "./budget-ledger-scripts";
import type {
  BudgetAmount,
  BudgetScope,
  BudgetUsage,
  CreditsCheck,
  LoadSpent,
  PreparedReserve,
  ReserveResult,
  SettleResult,
  TopUpResult,
} from "./budget-ledger-types";
import { usageOf, type Resolved } from "./budget-ledger-usage";
import { periodKey } from "./budget-period";

export * from "./budget-ledger-types";

export interface BudgetLedgerOptions {
  redis: Redis;
  /** Key prefix without braces; keys are `RedisKeys`' budget ones (`{prefix}:budget:…`, `{prefix}:resv:…`, `{prefix}:credits:…`). */
  prefix: string;
  loadSpent: LoadSpent;
  /** A reservation not settled or released within this long is an orphan and is released. Default 3 600 000 ms. */
  reservationTtlMs?: number;
  /** How long a settled (job, attempt) is remembered, so a re-delivered settle is ignored. Default 7 days. */
  settleMarkerTtlMs?: number;
  /** A period's hash is kept this long after the period ends, for late settles. Default 2 days. */
  periodGraceMs?: number;
  /** Orphans released at the start of each `reserve` (inside its script). Default 20. */
  sweepPerReserve?: number;
  /** Clock deciding which period "now" is in. Default `() => new Date()`. */
  now?: () => Date;
}

/**
 * Budget reservations and prepaid credits in Redis. Admission reserves an estimate in every
 * scope's current period at once (one script: all or nothing); workers settle each attempt's
 * actual cost exactly once and release the reservation at the end; reservations of jobs that died
 * expire. A period Redis does not hold is rebuilt from Postgres via `loadSpent`.
 */
export class BudgetLedger {
  private readonly redis: Scripted;
  private readonly keys: RedisKeys;
  private readonly loadSpent: LoadSpent;
  private readonly ttlMs: number;
  private readonly markerTtlMs: number;
  private readonly graceMs: number;
  private readonly sweepPerReserve: number;
  private readonly now: () => Date;
  // One load per key in flight, so a burst on a fresh period asks Postgres once.
  private readonly loading = new Map<string, Promise<[number, number]>>();

  constructor(opts: BudgetLedgerOptions) {
    this.redis = opts.redis as Scripted;
    this.keys = new RedisKeys(opts.prefix);
    this.loadSpent = opts.loadSpent;
    this.ttlMs = positive("reservationTtlMs", opts.reservationTtlMs ?? 3_600_000);
    this.markerTtlMs = positive("settleMarkerTtlMs", opts.settleMarkerTtlMs ?? 7 * 86_400_000);
    this.graceMs = positive("periodGraceMs", opts.periodGraceMs ?? 2 * 86_400_000);
    this.sweepPerReserve = Math.max(0, Math.floor(opts.sweepPerReserve ?? 20));
    this.now = opts.now ?? (() => new Date());
    defineBudgetLedgerCommands(opts.redis);
  }

  /**
   * Reserve `amount` in every scope's current period (and against the credit balance), or in
   * none. Refuses when `spent + reserved + amount > limit` in any unit a budget has, or when
   * `balance − reserved < amount.usd`. A job that already holds a reservation gets `ok` again.
   */
  async reserve(jobId: string, scopes: BudgetScope[], amount: BudgetAmount, credits?: CreditsCheck): Promise<ReserveResult> {
    const plan = this.prepareReserve(jobId, scopes, amount, credits);
    for (let round = 0; round < 3; round++) {
      const argv = await plan.argv();
      const res = plan.read(await this.redis.syBudgetReserve(plan.keys.length, ...plan.keys, ...argv));
      if (res) return res;
    }
    throw new Error(`budget state for job ${jobId} could not be initialised in Redis`);
  }

  /**
   * `reserve`'s script call, prepared for a caller that runs `RESERVE` inside a larger script
   * (admission's single step, via {@link RESERVE_FUNCTION}): its keys, the arguments of each
   * attempt, how to read a reply (null: periods or a balance had to be loaded from Postgres; run
   * it again with fresh `argv()`), and the scopes' usage from `HMGET`s of `usageKeys`.
   */
  prepareReserve(jobId: string, scopes: BudgetScope[], amount: BudgetAmount, credits?: CreditsCheck): PreparedReserve {
    const usd = toNano(amount.usd, "amount.usd");
    const tokens = toTokens(amount.tokens, "amount.tokens");
    const items = this.resolve(scopes);
    const ckey = credits ? this.creditsKey(credits.tenantId) : undefined;
    const keys = [this.resvKey(jobId), this.expiryKey(), ...items.map((i) => i.key), ...(ckey ? [ckey] : [])];
    const inits = new Map<number, Promise<[number, number]>>();
    let creditInit: Promise<[number, number]> | undefined;
    return {
      keys,
      usageKeys: items.map((i) => i.key),
      argv: async () => {
        const loaded = await Promise.all(items.map(async (_, i) => inits.get(i)));
        const balance = creditInit ? (await creditInit)[0] : undefined;
        const argv = [
          this.keys.budgetReservationPrefix(),
          jobId,
          String(usd),
          String(tokens),
          String(this.ttlMs),
          String(items.length),
          JSON.stringify(items.map((i) => i.key)),
          String(this.sweepPerReserve),
          balance === undefined ? "" : String(balance),
        ];
        items.forEach((it, i) => {
          const b = it.scope.budget;
          const l = loaded[i];
          argv.push(
            b.limit_usd === undefined ? "" : String(toNano(b.limit_usd, "limit_usd")),
            b.limit_tokens === undefined ? "" : String(b.limit_tokens),
            String(it.window.end.getTime() + this.graceMs),
            l ? String(l[0]) : "",
            l ? String(l[1]) : "",
          );
        });
        return argv;
      },
      read: (raw) => {
        const reply = ReserveReply.parse(raw);
        this.forget(items, inits, ckey, creditInit);
        switch (reply[0]) {
          case "ok":
            return { ok: true, replayed: reply[1] === "replay" };
          case "init":
            for (const m of reply.slice(1)) {
              if (m === "c" && ckey && credits) creditInit = this.loadOnce(ckey, async () => [toNanoSigned(await credits.loadBalance()), 0]);
              else if (m !== "c") inits.set(Number(m) - 1, this.loadScope(items[Number(m) - 1]!));
            }
            return null;
          case "budget": {
            const [, idx, unit, limit, spent, reserved] = reply;
            const s = items[idx - 1]!.scope;
            const conv = unit === "usd" ? usdOf : Number;
            return {
              ok: false,
              code: "budget_exhausted",
              scope: { scope: s.scope, id: s.id },
              unit,
              limit: conv(limit),
              spent: conv(spent),
              reserved: conv(reserved),
              requested: unit === "usd" ? usdOf(usd) : tokens,
            };
          }
          case "credits":
            return { ok: false, code: "insufficient_credits", unit: "usd", limit: usdOf(reply[1]), spent: 0, reserved: usdOf(reply[2]), requested: usdOf(usd) };
        }
      },
      usage: (rows) => usageOf(items, rows),
    };
  }

  /**
   * Add one attempt's actual cost, exactly once per (jobId, attempt), to the periods the job's
   * reservation was made in (else to the current periods of `scopes`); with `final`, release the
   * reservation. Without `final` (the job is not over: it may run again), the cost is drawn from
   * the reservation, so the job's spent + reserved stays what admission checked; {@link topUp}
   * reserves it again before the next run. Call it before handing the usage event to the
   * aggregator, so a period rebuilt from Postgres cannot count the same spend twice.
   */
  async settle(
    jobId: string,
    attempt: number,
    actual: BudgetAmount,
    opts: { final: boolean; scopes: BudgetScope[]; creditsTenantId?: string },
  ): Promise<SettleResult> {
    const items = this.resolve(opts.scopes);
    const keys = [this.keys.budgetSettled(jobId, attempt), this.resvKey(jobId), this.expiryKey(), ...items.map((i) => i.key)];
    if (opts.creditsTenantId !== undefined) keys.push(this.creditsKey(opts.creditsTenantId));
    const argv = [
      this.keys.budgetReservationPrefix(),
      jobId,
      String(toNano(actual.usd, "actual.usd")),
      String(toTokens(actual.tokens, "actual.tokens")),
      opts.final ? "1" : "0",
      String(this.markerTtlMs),
      String(items.length),
    ];
    const [applied, released, source, charged, skipped, credited] = SettleReply.parse(await this.redis.syBudgetSettle(keys.length, ...keys, ...argv));
    return { applied: applied === 1, released: released === 1, source, scopesCharged: charged, scopesSkipped: skipped, creditsCharged: credited === 1 };
  }

  /**
   * Before a job runs again after runs already settled (`settle` without `final`): reserve once
   * more what they drew from its reservation, so the new run is covered as the first one was.
   * All or nothing, in the periods and credit balance the reservation was made in and within the
   * limits admission checked; refused (`budget_exhausted`, `insufficient_credits`) when the budget
   * cannot fund it. A refusal changes nothing: the job should end, releasing what it holds.
   */
  async topUp(jobId: string): Promise<TopUpResult> {
    const reply = TopUpReply.parse(await this.redis.syBudgetTopUp(this.resvKey(jobId)));
    switch (reply[0]) {
      case "ok":
        return { ok: true, kind: reply[1], added: { usd: usdOf(reply[2]), tokens: Number(reply[3]) } };
      case "budget": {
        const [, , unit, limit, spent, reserved, usd, tokens, key] = reply;
        const scope = this.keys.budgetScopeOf(key);
        const conv = unit === "usd" ? usdOf : Number;
        return {
          ok: false,
          code: "budget_exhausted",
          ...(scope ? { scope } : {}),
          unit,
          limit: conv(limit),
          spent: conv(spent),
          reserved: conv(reserved),
          requested: unit === "usd" ? usdOf(usd) : Number(tokens),
        };
      }
      case "credits":
        return {
          ok: false,
          code: "insufficient_credits",
          unit: "usd",
          limit: usdOf(reply[1]),
          spent: 0,
          reserved: usdOf(reply[2]),
          requested: usdOf(reply[3]),
        };
    }
  }

  /** Release a job's reservation without spend (failed or canceled before any tokens). True if one was held. */
  async release(jobId: string): Promise<boolean> {
    return (await this.redis.syBudgetRelease(this.resvKey(jobId), this.expiryKey(), this.keys.budgetReservationPrefix(), jobId)) === 1;
  }

  /** Release up to `max` (default 100) reservations whose TTL has passed; returns how many. */
  async expireOrphans(max = 100): Promise<number> {
    return Number(await this.redis.syBudgetExpire(this.expiryKey(), this.keys.budgetReservationPrefix(), String(Math.max(1, Math.floor(max)))));
  }

  /** Each scope's current period: limits, spend, reservations and how much of the budget is used. */
  async usage(scopes: BudgetScope[]): Promise<BudgetUsage[]> {
    const items = this.resolve(scopes);
    const read = () => Promise.all(items.map((i) => this.redis.hmget(i.key, "spent_usd", "spent_tokens", "reserved_usd", "reserved_tokens")));
    let rows = await read();
    const missing = items.filter((_, i) => rows[i]!.every((v) => v === null));
    if (missing.length) {
      await Promise.all(
        missing.map(async (it) => {
          const [u, t] = await this.loadScope(it);
          const p = this.loading.get(it.key);
          await this.redis.syBudgetInit(it.key, String(u), String(t), String(it.window.end.getTime() + this.graceMs));
          if (p && this.loading.get(it.key) === p) this.loading.delete(it.key);
        }),
      );
      rows = await read();
    }
    return usageOf(items, rows);
  }

  /** A prepaid tenant's balance and held credits as Redis has them, or null when not loaded. */
  async credits(tenantId: string): Promise<{ balance_usd: number; reserved_usd: number } | null> {
    const [bal, res] = await this.redis.hmget(this.creditsKey(tenantId), "balance", "reserved");
    return bal === null ? null : { balance_usd: usdOf(bal), reserved_usd: usdOf(res) };
  }

  /**
   * Apply a grant (or correction) to the cached balance; returns the new balance in USD, or null
   * when Redis holds none (it is loaded fresh from the ledger at the next reservation).
   */
  async adjustCredits(tenantId: string, deltaUsd: number): Promise<number | null> {
    const r = await this.redis.syBudgetAdjustCredits(this.creditsKey(tenantId), String(toNanoSigned(deltaUsd)));
    return r === null ? null : usdOf(Number(r));
  }

  private resolve(scopes: BudgetScope[]): Resolved[] {
    const at = this.now();
    const byKey = new Map<string, Resolved>();
    for (const scope of scopes) {
      const window = periodKey(scope.budget.period, scope.timezone, at);
      const key = this.keys.budgetPeriod(scope.scope, scope.id, window.key);
      if (!byKey.has(key)) byKey.set(key, { scope, window, key });
    }
    return [...byKey.values()];
  }

  private loadScope(it: Resolved): Promise<[number, number]> {
    return this.loadOnce(it.key, async () => {
      const s = await this.loadSpent({ scope: it.scope.scope, id: it.scope.id }, it.window.start, it.window.end);
      return [toNano(s.usd, "loadSpent usd"), toTokens(s.tokens, "loadSpent tokens")];
    });
  }

  private loadOnce(key: string, load: () => Promise<[number, number]>): Promise<[number, number]> {
    const cur = this.loading.get(key);
    if (cur) return cur;
    const p = load();
    this.loading.set(key, p);
    p.catch(() => this.loading.get(key) === p && this.loading.delete(key));
    return p;
  }

  /** Loads are dropped once a script has applied them: later misses (a flushed Redis) load afresh. */
  private forget(
    items: Resolved[],
    inits: Map<number, Promise<[number, number]>>,
    ckey: string | undefined,
    creditInit: Promise<[number, number]> | undefined,
  ): void {
    for (const [i, p] of inits) if (this.loading.get(items[i]!.key) === p) this.loading.delete(items[i]!.key);
    if (ckey && creditInit && this.loading.get(ckey) === creditInit) this.loading.delete(ckey);
  }

  private resvKey = (jobId: string): string => this.keys.budgetReservation(jobId);
  private expiryKey = (): string => this.keys.budgetReservationExpiry();
  private creditsKey = (tenantId: string): string => this.keys.credits(tenantId);
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number, got ${value}`);
  return value;
}
