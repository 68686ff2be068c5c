import { checkBudgetAlerts, type BudgetRefusal } from "@switchyard/admission";
import type { RouteJobPayload } from "@switchyard/contracts";
import type { RouteDeps } from "./route-deps";

/**
 * Before a job runs again (its earlier runs died or failed after spending): the spend of those
 * runs was settled against the job's one reservation (drawn from it, `settle` without `final`),
 * so the re-run would not be covered. Reserve that amount again, atomically and within the budget
 * admission checked (`BudgetLedger.topUp`). Returns null when the re-run may go ahead, or the
 * refusal, after which the job must end (`budget_exhausted`) rather than spend past the limit.
 * A job without budgets or credits holds no reservation and costs no round trip.
 */
export async function rerunBudget(d: RouteDeps, payload: RouteJobPayload): Promise<BudgetRefusal | null> {
  const b = payload.budget;
  if (b.scopes.length === 0 && !b.credits_tenant_id) return null;
  const res = await d.budgets.topUp(payload.job_id);
  if (res.ok) {
    // Released or expired (an orphan past its TTL): nothing is held to top up, as before this check.
    if (res.kind === "missing") d.logger.warn({ jobId: payload.job_id }, "re-run of a job that holds no budget reservation (released or expired)");
    return null;
  }
  if (res.code === "budget_exhausted" && res.scope && b.scopes.length) {
    // The budget that refused has reached 100 %, as when admission refuses; an alert problem never fails the job.
    const extra = { deployment_id: payload.deployment_id, job_id: payload.job_id, trigger: "rerun" };
    await d.budgets
      .usage(b.scopes)
      .then((usage) => checkBudgetAlerts(d.alerts, usage, payload.tenant_id, { exhausted: res.scope, extra }))
      .catch((err: Error) => d.logger.warn({ err: err.message, jobId: payload.job_id }, "budget alert not raised after a refused re-run"));
  }
  return res;
}

/** The job's error message for a refused re-run, in admission's words. */
export function rerunRefusalMessage(res: BudgetRefusal): string {
  const fmt = (n: number) => (res.unit === "usd" ? `$${n.toFixed(6)}` : `${n} tokens`);
  const what = res.code === "insufficient_credits" ? "credit balance" : `${res.scope?.scope ?? "budget"} ${res.scope?.id ?? ""} budget`.trim();
  return `an earlier run of this job was billed and ${what} cannot cover running it again: limit ${fmt(res.limit)}, spent ${fmt(res.spent)}, reserved ${fmt(res.reserved)}, the re-run needs ${fmt(res.requested)} more`;
}
