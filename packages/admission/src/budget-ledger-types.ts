/** What the budget ledger works on and answers: scopes and amounts, the results of reserve, top-up and settle, a scope's usage. */
import type { Budget } from "@switchyard/contracts";

/** Whose budget: a tenant's or one deployment's. */
export interface BudgetScopeRef {
  scope: "tenant" | "deployment";
  id: string;
}

/** A scope with its budget and the IANA time zone its periods are counted in (the tenant's). */
export interface BudgetScope extends BudgetScopeRef {
  budget: Budget;
  timezone: string;
}

/** An amount of money (USD) and tokens. */
export interface BudgetAmount {
  usd: number;
  tokens: number;
}

/** Spend already recorded in Postgres for a scope in `[start, end)`; rebuilds a period Redis has lost. */
export type LoadSpent = (scope: BudgetScopeRef, start: Date, end: Date) => Promise<BudgetAmount>;

/** A prepaid tenant's credit balance, checked with the budgets in the same script. */
export interface CreditsCheck {
  tenantId: string;
  /** The balance in USD from Postgres (the ledger sum); called only when Redis holds none. */
  loadBalance: () => Promise<number>;
}

export type ReserveResult =
  | { ok: true; /** The job already held a reservation; nothing new was reserved. */ replayed: boolean }
  | {
      ok: false;
      code: "budget_exhausted" | "insufficient_credits";
      /** The scope that refused (absent for credits). */
      scope?: BudgetScopeRef;
      /** The budget limit, or for credits the balance. In `unit`s, like the other figures. */
      limit: number;
      unit: "usd" | "tokens";
      /** Spent this period (0 for credits: spent credits are already out of the balance). */
      spent: number;
      reserved: number;
      requested: number;
    };

/** A reservation (or top-up) the budgets or the credit balance refused. */
export type BudgetRefusal = Extract<ReserveResult, { ok: false }>;

/**
 * What `topUp` did: reserved again what earlier settles drew (`topped`), found nothing drawn
 * (`none`) or no reservation to top up (`missing`: released, or expired as an orphan); or refused.
 */
export type TopUpResult = { ok: true; kind: "topped" | "none" | "missing"; added: BudgetAmount } | BudgetRefusal;

/** What `settle` did. */
export interface SettleResult {
  /** The spend was added now (false: this (job, attempt) had already been settled). */
  applied: boolean;
  /** The reservation was released (`final` and one existed). */
  released: boolean;
  /** Where the periods came from: the reservation record, the caller's scopes, or nowhere (not applied). */
  source: "reservation" | "scopes" | "none";
  /** Period hashes charged, and those skipped because Redis did not hold them (Postgres will). */
  scopesCharged: number;
  scopesSkipped: number;
  creditsCharged: boolean;
}

/** One scope's current period, for `GET /v1/budgets` and routing's downgrade near the limit. */
export interface BudgetUsage {
  scope: BudgetScopeRef["scope"];
  id: string;
  period: Budget["period"];
  period_key: string;
  period_start: string;
  period_end: string;
  limit_usd?: number;
  limit_tokens?: number;
  spent_usd: number;
  spent_tokens: number;
  reserved_usd: number;
  reserved_tokens: number;
  /** max over the budget's units of (spent + reserved) / limit. */
  used_ratio: number;
}

/** A reservation ready to run inside a larger script: see {@link BudgetLedger.prepareReserve}. */
export interface PreparedReserve {
  keys: string[];
  /** The period hashes, in scope order: `HMGET`ting them after the reservation gives `usage`'s rows. */
  usageKeys: string[];
  argv(): Promise<string[]>;
  read(reply: unknown): ReserveResult | null;
  usage(rows: ReadonlyArray<ReadonlyArray<string | null>>): BudgetUsage[];
}
