import { listAudit } from "@switchyard/db";
import { Router } from "express";
import { z } from "zod";
import type { GatewayResources } from "../resources";
import { parseBody } from "../services/validation";

const AuditQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().regex(/^[0-9]{1,18}$/, "must be the id of an audit row").optional(),
  tenant_id: z.string().min(1).max(128).optional(),
});

/** `GET /admin/v1/audit?limit=&cursor=&tenant_id=`: the audit log, newest first; `next_cursor` pages on. Mounted after the admin scope check. */
export function adminAuditRouter(r: GatewayResources): Router {
  const router = Router();
  router.get("/admin/v1/audit", async (req, res) => {
    const q = parseBody(AuditQuery, req.query);
    const page = await listAudit(r.db, { limit: q.limit, cursor: q.cursor, tenantId: q.tenant_id });
    res.json({ object: "list", data: page.data, has_more: page.nextCursor !== null, next_cursor: page.nextCursor });
  });
  return router;
}
