import { OPS_USAGE_GROUP_BY, usageAcrossTenants } from "@switchyard/db";
import { Router } from "express";
import { z } from "zod";
import type { Authenticator } from "../middleware/authenticate";
import { requireScopes } from "../middleware/authenticate";
import type { GatewayResources } from "../resources";
import { parseBody } from "../services/validation";
import { checkDayRange, Day } from "./usage-reports";

const OpsUsageQuery = z.strictObject({ from: Day, to: Day, group_by: z.enum(OPS_USAGE_GROUP_BY).default("tenant"), tenant_id: z.string().min(1).max(128).optional() }).superRefine(checkDayRange);

/**
 * `GET /admin/v1/usage?from=&to=&group_by=tenant|deployment|model|day&tenant_id=` (admin scope):
 * usage across every tenant from the daily rollups, for ops; the biggest spenders first.
 * (Per end user is not available: the ledger does not record end users.)
 */
export function adminUsageRouter(r: GatewayResources, auth: Authenticator): Router {
  const router = Router();
  router.get("/admin/v1/usage", requireScopes(auth, "admin"), async (req, res) => {
    const q = parseBody(OpsUsageQuery, req.query);
    const data = await usageAcrossTenants(r.db, { from: q.from, to: q.to, groupBy: q.group_by, tenantId: q.tenant_id });
    res.json({ object: "list", group_by: q.group_by, from: q.from, to: q.to, data });
  });
  return router;
}
