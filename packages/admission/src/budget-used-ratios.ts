import type { BudgetUsage } from "./budget-ledger";

/**
 * What the `budget_used_ratio{deployment}` gauge reports: per deployment, the highest used ratio
 * among its budgets' current periods, as last read at admission or settlement. A period that has
 * ended no longer counts, so the gauge falls back when a day or month rolls over instead of
 * holding yesterday's figure. Bounded: the least recently noted deployment goes first.
 */
export class BudgetUsedRatios {
  private readonly byDeployment = new Map<string, { ratio: number; periodEndMs: number }[]>();

  constructor(private readonly maxDeployments = 10_000) {}

  note(deploymentId: string, usage: readonly BudgetUsage[]): void {
    this.byDeployment.delete(deploymentId);
    this.byDeployment.set(
      deploymentId,
      usage.map((u) => ({ ratio: u.used_ratio, periodEndMs: Date.parse(u.period_end) })),
    );
    if (this.byDeployment.size > this.maxDeployments) this.byDeployment.delete(this.byDeployment.keys().next().value!);
  }

  /** deployment → ratio at `now`: periods already over count as 0. */
  current(now = Date.now()): Map<string, number> {
    const out = new Map<string, number>();
    for (const [deployment, periods] of this.byDeployment) {
      out.set(deployment, Math.max(0, ...periods.filter((p) => p.periodEndMs > now).map((p) => p.ratio)));
    }
    return out;
  }
}
