/** A scope's current period as the ledger resolves it (its hash key and window), and its usage read from that hash. */
import { toNano, usdOf } from "./budget-ledger-scripts";
import type { PeriodWindow } from "./budget-period";
import type { BudgetScope, BudgetUsage } from "./budget-ledger-types";

/** A scope resolved to its current period: the period's window and hash key. */
export type Resolved = { scope: BudgetScope; window: PeriodWindow; key: string };

/** Usage from each period hash's `HMGET spent_usd spent_tokens reserved_usd reserved_tokens` (missing fields count as 0). */
export function usageOf(items: Resolved[], rows: ReadonlyArray<ReadonlyArray<string | null>>): BudgetUsage[] {
  return items.map((it, i) => {
    const [su, st, ru, rt] = rows[i]!.map((v) => Number(v ?? 0)) as [number, number, number, number];
    const { period, limit_usd, limit_tokens } = it.scope.budget;
    const ratios = [limit_usd === undefined ? 0 : (su + ru) / toNano(limit_usd, "limit_usd"), limit_tokens === undefined ? 0 : (st + rt) / limit_tokens];
    const w = it.window;
    const u: BudgetUsage = {
      scope: it.scope.scope,
      id: it.scope.id,
      period,
      period_key: w.key,
      period_start: w.start.toISOString(),
      period_end: w.end.toISOString(),
      spent_usd: usdOf(su),
      spent_tokens: st,
      reserved_usd: usdOf(ru),
      reserved_tokens: rt,
      used_ratio: Math.max(...ratios),
    };
    if (limit_usd !== undefined) u.limit_usd = limit_usd;
    if (limit_tokens !== undefined) u.limit_tokens = limit_tokens;
    return u;
  });
}
