import { listAudit } from "@switchyard/db";
import { Router } from "express";
import { z } from "zod";
import type { GatewayResources } from "../resources";
import { parseBody } from "../services/validation";

/** An ISO 8601 date-time with a zone (`2026-12-07T05:00:00Z`, `…+01:00`). */
const Instant = z.iso.datetime({ offset: true, message: "must be an ISO 8601 date-time with a zone, e.g. 2026-12-07T05:00:00Z" }).transform((s) => new Date(s));
const Text = z.string().min(1).max(256);

const AuditQuery = z
  .strictObject({
    limit: z.coerce.number().int().min(1).max(500).default(50),
    cursor: z.string().regex(/^[0-9]{1,18}$/, "must be the id of an audit row").optional(),
    tenant_id: z.string().min(1).max(128).optional(),
    action: Text.optional(),
    actor: Text.optional(),
    since: Instant.optional(),
    until: Instant.optional(),
    target: Text.optional(),
    target_type: Text.optional(),
  })
  .refine((q) => !q.since || !q.until || q.since < q.until, { message: "must be later than since", path: ["until"] });

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
    res.json({ object: "list", data: page.data, has_more: page.nextCursor !== null, next_cursor: page.nextCursor });
  });
  return router;
}
