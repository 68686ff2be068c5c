import { AuditQuery, type AuditPage } from "@switchyard/contracts";
import { listAudit } from "@switchyard/db";
import { Router } from "express";
import type { GatewayResources } from "../resources";
import { parseBody } from "../services/validation";

/**
 * `GET /admin/v1/audit?limit=&cursor=&tenant_id=&action=&actor=&since=&until=&target=&target_type=`:
 * the audit log, newest first; `next_cursor` pages on. `actor` is the acting key's id, `target`
 * the target's id; `since` is inclusive and `until` exclusive. Mounted after the admin scope check.
 */
export function adminAuditRouter(r: GatewayResources): Router {
  const router = Router();
  router.get("/admin/v1/audit", async (req, res) => {
    const q = parseBody(AuditQuery, req.query);
    const page = await listAudit(r.db, {
      limit: q.limit,
      cursor: q.cursor,
      tenantId: q.tenant_id,
      action: q.action,
      actorKeyId: q.actor,
      since: q.since,
      until: q.until,
      targetId: q.target,
      targetType: q.target_type,
    });
    const body: AuditPage = { object: "list", data: page.data, has_more: page.nextCursor !== null, next_cursor: page.nextCursor };
    res.json(body);
  });
  return router;
}
