import { ApiError, CreateApiKeyRequest, PUBLISHABLE_SCOPES, RotateApiKeyRequest } from "@switchyard/contracts";
import { apiKeyView, createApiKey, findApiKey, findDeployment, findTenant, listApiKeys, revokeApiKey, rotateApiKey } from "@switchyard/db";
import { Router, type Request } from "express";
import { principalOf } from "../middleware/request-context";
import type { GatewayResources } from "../resources";
import { parseBody } from "../services/validation";

/** `/admin/v1/…/api-keys`: create (secret or publishable), list, read, rotate, revoke. Never shows a hash; a key's secret only once. */
export function adminKeysRouter(r: GatewayResources): Router {
  const router = Router();
  const actor = (req: Request) => ({ keyId: principalOf(req).keyId });
  const notFound = (id: string) => new ApiError("api_key_not_found", `no API key ${id}`, "id");

  router.post("/admin/v1/tenants/:id/api-keys", async (req, res) => {
    const tenantId = String(req.params.id);
    const body = parseBody(CreateApiKeyRequest, req.body);
    if (!(await findTenant(r.db, tenantId))) throw new ApiError("tenant_not_found", `no tenant ${tenantId}`, "id");
    if (body.scopes?.includes("admin")) throw new ApiError("invalid_request", "scopes: admin is the operator's scope; tenant keys cannot carry it", "scopes");
    if (body.deployment_id) {
      const dep = await findDeployment(r.db, body.deployment_id);
      // Another tenant's deployment is "not found", like any object of another tenant.
      if (!dep || dep.tenant_id !== tenantId)
        throw new ApiError("deployment_not_found", `deployment_id: no deployment ${body.deployment_id} in tenant ${tenantId}`, "deployment_id");
      if (body.kind === "publishable" && dep.type !== "public") {
        throw new ApiError("invalid_request", `deployment_id: publishable keys need a public deployment; ${dep.id} is ${dep.type}`, "deployment_id");
      }
    }
    if (body.expires_at && Date.parse(body.expires_at) <= Date.now()) throw new ApiError("invalid_request", "expires_at: must be in the future", "expires_at");
    const scopes = body.kind === "publishable" ? [...PUBLISHABLE_SCOPES] : (body.scopes ?? []);
    const { record, key } = await createApiKey(r.db, tenantId, { ...body, scopes }, actor(req));
    res.status(201).json({ ...apiKeyView(record), key });
  });

  router.get("/admin/v1/tenants/:id/api-keys", async (req, res) => {
    const tenantId = String(req.params.id);
    if (!(await findTenant(r.db, tenantId))) throw new ApiError("tenant_not_found", `no tenant ${tenantId}`, "id");
    res.json({ object: "list", data: (await listApiKeys(r.db, tenantId)).map(apiKeyView) });
  });

  router.get("/admin/v1/api-keys/:id", async (req, res) => {
    const id = String(req.params.id);
    const record = await findApiKey(r.db, id);
    if (!record) throw notFound(id);
    res.json(apiKeyView(record));
  });

  router.post("/admin/v1/api-keys/:id/rotate", async (req, res) => {
    const id = String(req.params.id);
    const body = parseBody(RotateApiKeyRequest, req.body ?? {});
    const result = await rotateApiKey(r.db, id, body.overlap_seconds, actor(req));
    switch (result.kind) {
      case "not_found":
        throw notFound(id);
      case "inactive": {
        const why = result.reason === "replaced" ? `was already rotated (rotate ${result.replacedBy ?? "its replacement"} instead)` : `is ${result.reason}`;
        throw new ApiError("api_key_inactive", `API key ${id} ${why}`, "id");
      }
      case "rotated":
        res.status(201).json({ ...apiKeyView(result.record), key: result.key, previous_key: apiKeyView(result.old) });
        return;
    }
  });

  router.delete("/admin/v1/api-keys/:id", async (req, res) => {
    const id = String(req.params.id);
    const after = await revokeApiKey(r.db, id, actor(req));
    if (!after) throw notFound(id);
    res.json(apiKeyView(after));
  });

  return router;
}
