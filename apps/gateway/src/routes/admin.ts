import { ApiError, CreateApiKeyRequest, CreateTenantRequest } from "@switchyard/contracts";
import { apiKeyView, createApiKey, createTenant, findApiKey, findTenant, revokeApiKey } from "@switchyard/db";
import { Router } from "express";
import type { Authenticator } from "../middleware/authenticate";
import { requireScopes } from "../middleware/authenticate";
import { principalOf } from "../middleware/request-context";
import type { GatewayResources } from "../resources";
import { parseBody } from "../services/validation";
import { adminBreakersRouter } from "./admin-breakers";

/** `/admin/v1`: operator routes (admin scope). Every mutation writes an audit row in its transaction. */
export function adminRouter(r: GatewayResources, auth: Authenticator): Router {
  const router = Router();
  router.use("/admin/v1", requireScopes(auth, "admin"));

  router.post("/admin/v1/tenants", async (req, res) => {
    const body = parseBody(CreateTenantRequest, req.body);
    const { tenant, defaultDeploymentId } = await createTenant(r.db, body, { keyId: principalOf(req).keyId });
    res.status(201).json({ id: tenant.id, object: "tenant", name: tenant.name, timezone: tenant.timezone, billing_mode: tenant.billing_mode, default_deployment_id: defaultDeploymentId, created_at: tenant.created_at.toISOString() });
  });

  router.post("/admin/v1/tenants/:id/api-keys", async (req, res) => {
    const body = parseBody(CreateApiKeyRequest, req.body);
    const tenantId = String(req.params.id);
    if (!(await findTenant(r.db, tenantId))) throw new ApiError("tenant_not_found", `no tenant ${tenantId}`, "id");
    if (body.scopes.includes("admin")) throw new ApiError("invalid_request", "scopes: admin is the operator's scope; tenant keys cannot carry it", "scopes");
    if (body.deployment_id) {
      const dep = await r.db.selectFrom("deployments").select("id").where("id", "=", body.deployment_id).where("tenant_id", "=", tenantId).executeTakeFirst();
      if (!dep) throw new ApiError("not_found", `deployment_id: no deployment ${body.deployment_id} in tenant ${tenantId}`, "deployment_id");
    }
    if (body.expires_at && Date.parse(body.expires_at) <= Date.now()) throw new ApiError("invalid_request", "expires_at: must be in the future", "expires_at");
    const { record, key } = await createApiKey(r.db, tenantId, body, { keyId: principalOf(req).keyId });
    res.status(201).json({ ...apiKeyView(record), key });
  });

  router.delete("/admin/v1/api-keys/:id", async (req, res) => {
    const id = String(req.params.id);
    if (!(await findApiKey(r.db, id))) throw new ApiError("not_found", `no API key ${id}`, "id");
    const after = await revokeApiKey(r.db, id, { keyId: principalOf(req).keyId });
    if (!after) throw new ApiError("not_found", `no API key ${id}`, "id");
    res.json(apiKeyView(after));
  });

  router.use(adminBreakersRouter(r));
  return router;
}
