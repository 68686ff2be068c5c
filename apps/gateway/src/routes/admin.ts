import { ApiError, CreateTenantRequest, TenantsQuery, UpdateTenantRequest, type TenantPage } from "@switchyard/contracts";
import { createTenant, findDefaultDeployment, findTenant, listTenants, tenantView, updateTenant } from "@switchyard/db";
import { Router } from "express";
import type { Authenticator } from "../middleware/authenticate";
import { requireScopes } from "../middleware/authenticate";
import { principalOf } from "../middleware/request-context";
import type { GatewayResources } from "../resources";
import { parseBody } from "../services/validation";
import { adminAuditRouter } from "./admin-audit";
import { adminBreakersRouter } from "./admin-breakers";
import { adminCreditsRouter } from "./admin-credits";
import { adminDeadLettersRouter } from "./admin-dead-letters";
import { adminDeploymentsRouter } from "./admin-deployments";
import { adminKeysRouter } from "./admin-keys";
import { adminQueuesRouter } from "./admin-queues";

/**
 * `/admin/v1`: operator routes (admin scope). The scope check comes first, so a tenant key is 403
 * on every admin path, unknown ones included. Every mutation writes an audit row in its transaction.
 */
export function adminRouter(r: GatewayResources, auth: Authenticator): Router {
  const router = Router();
  router.use("/admin/v1", requireScopes(auth, "admin"));

  router.post("/admin/v1/tenants", async (req, res) => {
    const body = parseBody(CreateTenantRequest, req.body);
    const { tenant, defaultDeploymentId } = await createTenant(r.db, body, { keyId: principalOf(req).keyId });
    res.status(201).json(tenantView(tenant, defaultDeploymentId));
  });

  // By id, descending: generated ids begin with their creation time, so newest first.
  router.get("/admin/v1/tenants", async (req, res) => {
    const q = parseBody(TenantsQuery, req.query);
    const page = await listTenants(r.db, { limit: q.limit, cursor: q.cursor, name: q.name });
    const body: TenantPage = { object: "list", data: page.data, has_more: page.nextCursor !== null, next_cursor: page.nextCursor };
    res.json(body);
  });

  router.get("/admin/v1/tenants/:id", async (req, res) => {
    const id = String(req.params.id);
    const tenant = await findTenant(r.db, id);
    if (!tenant) throw new ApiError("tenant_not_found", `no tenant ${id}`, "id");
    res.json(tenantView(tenant, (await findDefaultDeployment(r.db, id))?.id ?? null));
  });

  router.patch("/admin/v1/tenants/:id", async (req, res) => {
    const id = String(req.params.id);
    const body = parseBody(UpdateTenantRequest, req.body);
    const tenant = await updateTenant(r.db, id, body, { keyId: principalOf(req).keyId });
    if (!tenant) throw new ApiError("tenant_not_found", `no tenant ${id}`, "id");
    res.json(tenantView(tenant, (await findDefaultDeployment(r.db, id))?.id ?? null));
  });

  router.use(adminDeploymentsRouter(r));
  router.use(adminKeysRouter(r));
  router.use(adminAuditRouter(r));
  router.use(adminBreakersRouter(r));
  router.use(adminCreditsRouter(r));
  router.use(adminQueuesRouter(r));
  router.use(adminDeadLettersRouter(r));
  return router;
}
