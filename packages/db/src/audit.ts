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
