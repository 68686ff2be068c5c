import { ApiError, ForceOpenRequest, type BreakerForcedOpen, type BreakerReset } from "@switchyard/contracts";
import { writeAudit } from "@switchyard/db";
import { Router } from "express";
import { principalOf } from "../middleware/request-context";
import type { GatewayResources } from "../resources";
import { breakerStates } from "../services/breaker-views";
import { parseBody } from "../services/validation";

/** `/admin/v1/circuit-breakers`: list, reset, force open. Mutations are audited. Mounted after the admin scope check. */
export function adminBreakersRouter(r: GatewayResources): Router {
  const router = Router();
  const model = (raw: unknown) => {
    const id = String(raw);
    if (!r.catalog.models.some((m) => m.id === id)) throw new ApiError("model_not_found", `model ${id} is not in the catalog`, "model");
    return id;
  };

  router.get("/admin/v1/circuit-breakers", async (_req, res) => {
    res.json({ object: "list", data: await breakerStates(r) });
  });

  router.post("/admin/v1/circuit-breakers/:model/reset", async (req, res) => {
    const id = model(req.params.model);
    const before = await r.breakers.state(id);
    await r.breakers.reset(id);
    const after = await r.breakers.state(id);
    await writeAudit(
      r.db,
      { keyId: principalOf(req).keyId },
      { tenant_id: null, action: "circuit_breaker.reset", target_type: "circuit_breaker", target_id: id, before, after },
    );
    const view: BreakerReset = { model: id, state: after.state };
    res.json(view);
  });

  router.post("/admin/v1/circuit-breakers/:model/force-open", async (req, res) => {
    const id = model(req.params.model);
    const body = parseBody(ForceOpenRequest, req.body ?? {});
    const before = await r.breakers.state(id);
    const until = await r.breakers.forceOpen(id, body.duration_ms);
    const after = await r.breakers.state(id);
    await writeAudit(
      r.db,
      { keyId: principalOf(req).keyId },
      {
        tenant_id: null,
        action: "circuit_breaker.force_open",
        target_type: "circuit_breaker",
        target_id: id,
        before,
        after: { ...after, duration_ms: body.duration_ms },
      },
    );
    const view: BreakerForcedOpen = { model: id, state: after.state, open_until: new Date(until).toISOString() };
    res.json(view);
  });

  return router;
}
