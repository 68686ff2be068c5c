import type { BudgetList } from "@switchyard/contracts";
import { Router } from "express";
import type { Authenticator } from "../middleware/authenticate";
import { requireScopes } from "../middleware/authenticate";
import { principalOf } from "../middleware/request-context";
import type { GatewayResources } from "../resources";
import { budgetScopes } from "../services/admission";

const THRESHOLDS = [80, 90, 100] as const;

/** `GET /v1/budgets`: the key's deployment and tenant budgets for the current period. */
export function budgetsRouter(r: GatewayResources, auth: Authenticator): Router {
  const router = Router();
  router.get("/v1/budgets", requireScopes(auth, "usage:read"), async (req, res) => {
    const d = await r.deployments.get(principalOf(req).deploymentId);
    const usage = await r.budgets.usage(budgetScopes(d));
    const body: BudgetList = {
      object: "list",
      data: usage.map((u) => ({
        scope: u.scope,
        id: u.id,
        period: u.period,
        period_start: u.period_start,
        period_end: u.period_end,
        ...(u.limit_usd !== undefined ? { limit_usd: u.limit_usd } : {}),
        ...(u.limit_tokens !== undefined ? { limit_tokens: u.limit_tokens } : {}),
        spent_usd: u.spent_usd,
        spent_tokens: u.spent_tokens,
        reserved_usd: u.reserved_usd,
        reserved_tokens: u.reserved_tokens,
        used_ratio: u.used_ratio,
        thresholds_crossed: THRESHOLDS.filter((t) => u.used_ratio * 100 >= t),
      })),
    };
    res.json(body);
  });
  return router;
}
