import { OpsUsageQuery, type OpsUsageReport } from "@switchyard/contracts";
import { usageAcrossTenants } from "@switchyard/db";
import { Router } from "express";
import type { Authenticator } from "../middleware/authenticate";
import { requireScopes } from "../middleware/authenticate";
import type { GatewayResources } from "../resources";
import { parseBody } from "../services/validation";

/**
 * `GET /admin/v1/usage?from=&to=&group_by=tenant|deployment|model|day|end_user&tenant_id=` (admin
 * scope): usage across every tenant from the daily rollups, for ops; the biggest spenders first.
 * Per end user, each row names its tenant, and usage without an end user is one row per tenant
 * with key null.
 */
export function adminUsageRouter(r: GatewayResources, auth: Authenticator): Router {
  const router = Router();
  router.get("/admin/v1/usage", requireScopes(auth, "admin"), async (req, res) => {
    const q = parseBody(OpsUsageQuery, req.query);
    const data = await usageAcrossTenants(r.db, { from: q.from, to: q.to, groupBy: q.group_by, tenantId: q.tenant_id });
    const body: OpsUsageReport = { object: "list", group_by: q.group_by, from: q.from, to: q.to, data };
    res.json(body);
  });
  return router;
}
