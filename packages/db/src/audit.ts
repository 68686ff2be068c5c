import type { AuditEntry } from "@switchyard/contracts";
import type { Kysely, Transaction } from "kysely";
import type { Database } from "./schema";

/** Who performed an admin action: the API key id, or a system actor such as `seed`. */
export interface AuditActor {
  keyId: string | null;
}

/** Every admin mutation calls this inside the mutation's transaction. */
export async function writeAudit(
  trx: Kysely<Database> | Transaction<Database>,
  actor: AuditActor,
  row: { tenant_id: string | null; action: string; target_type: string; target_id: string; before: unknown; after: unknown },
): Promise<void> {
  await trx
    .insertInto("audit_log")
    .values({
      actor_key_id: actor.keyId,
      tenant_id: row.tenant_id,
      action: row.action,
      target_type: row.target_type,
      target_id: row.target_id,
      before: row.before === null ? null : JSON.stringify(row.before),
      after: row.after === null ? null : JSON.stringify(row.after),
    })
    .execute();
}

/** An audit row as the admin API shows it (the contract's type); `id` (a bigserial) is also the page cursor. */
export type { AuditEntry };

/** Which audit rows to list: every filter given must hold. */
export interface AuditQuery {
  limit: number;
  /** The id of the last row of the previous page (rows with smaller ids follow). */
  cursor?: string;
  tenantId?: string;
  action?: string;
  /** The acting key's id (`actor_key_id`). */
  actorKeyId?: string;
  /** Rows created at or after this time. */
  since?: Date;
  /** Rows created before this time. */
  until?: Date;
  targetId?: string;
  targetType?: string;
}

/** Newest first; `cursor` is the id of the last row of the previous page (rows with smaller ids follow). */
export async function listAudit(db: Kysely<Database>, q: AuditQuery): Promise<{ data: AuditEntry[]; nextCursor: string | null }> {
  let query = db
    .selectFrom("audit_log")
    .selectAll()
    .orderBy("id", "desc")
    .limit(q.limit + 1);
  if (q.cursor !== undefined) query = query.where("id", "<", q.cursor);
  if (q.tenantId !== undefined) query = query.where("tenant_id", "=", q.tenantId);
  if (q.action !== undefined) query = query.where("action", "=", q.action);
  if (q.actorKeyId !== undefined) query = query.where("actor_key_id", "=", q.actorKeyId);
  if (q.since !== undefined) query = query.where("created_at", ">=", q.since);
  if (q.until !== undefined) query = query.where("created_at", "<", q.until);
  if (q.targetId !== undefined) query = query.where("target_id", "=", q.targetId);
  if (q.targetType !== undefined) query = query.where("target_type", "=", q.targetType);
  const rows = await query.execute();
  const page = rows.slice(0, q.limit);
  const data = page.map((r) => ({
    // int8 may arrive as a number (create-db's type parser) or a string: always a string here.
    id: String(r.id),
    actor_key_id: r.actor_key_id,
    tenant_id: r.tenant_id,
    action: r.action,
    target_type: r.target_type,
    target_id: r.target_id,
    before: r.before,
    after: r.after,
    created_at: r.created_at.toISOString(),
  }));
  return { data, nextCursor: rows.length > q.limit ? (data[data.length - 1]?.id ?? null) : null };
}
