import { SetMaintenanceRequest, type MaintenanceView } from "@switchyard/contracts";
import { writeAudit } from "@switchyard/db";
import { Router } from "express";
import type { Authenticator } from "../middleware/authenticate";
import { requireScopes } from "../middleware/authenticate";
import { principalOf } from "../middleware/request-context";
import type { GatewayResources } from "../resources";
import { parseBody } from "../services/validation";

/**
 * `GET /admin/v1/maintenance` and `POST /admin/v1/maintenance {on, message?, retry_after_seconds?}`
 * (admin scope): while on, new submissions get 503 with `Retry-After`, reads and streams keep
 * working, workers drain. Every change is audited; `ai_maintenance_mode` shows it.
 */
export function adminMaintenanceRouter(r: GatewayResources, auth: Authenticator): Router {
  const router = Router();
  r.registry.meter
    .createObservableGauge("ai_maintenance_mode", { description: "1 while maintenance mode refuses new work (as this gateway last read it)" })
    .addCallback((o) => o.observe(r.maintenance.last.on ? 1 : 0));

  router.get("/admin/v1/maintenance", requireScopes(auth, "admin"), async (_req, res) => {
    const body: MaintenanceView = { object: "maintenance", ...(await r.maintenance.current()) };
    res.json(body);
  });

  router.post("/admin/v1/maintenance", requireScopes(auth, "admin"), async (req, res) => {
    const body = parseBody(SetMaintenanceRequest, req.body ?? {});
    const before = await r.maintenance.current();
    const after = await r.maintenance.set(body.on, body.message ?? null, body.retry_after_seconds);
    await writeAudit(
      r.db,
      { keyId: principalOf(req).keyId },
      { tenant_id: null, action: body.on ? "maintenance.on" : "maintenance.off", target_type: "maintenance", target_id: "gateway", before, after },
    );
    r.logger.warn({ on: after.on, message: after.message }, "maintenance mode changed");
    const view: MaintenanceView = { object: "maintenance", ...after };
    res.json(view);
  });

  return router;
}
