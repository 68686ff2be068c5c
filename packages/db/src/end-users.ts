import type { EndUserTier } from "@switchyard/contracts";
import type { Kysely, Selectable } from "kysely";
import { writeAudit, type AuditActor } from "./audit";
import type { Database, EndUsersTable } from "./schema";

export type EndUserRow = Selectable<EndUsersTable>;

export async function findEndUser(db: Kysely<Database>, deploymentId: string, userId: string): Promise<EndUserRow | undefined> {
  return db.selectFrom("end_users").selectAll().where("deployment_id", "=", deploymentId).where("user_id", "=", userId).executeTakeFirst();
}

/** Set an end user's tier on a deployment (insert or update), audited in the same transaction. */
export async function setEndUserTier(
  db: Kysely<Database>,
  target: { tenantId: string; deploymentId: string; userId: string },
  tier: EndUserTier,
  actor: AuditActor,
): Promise<{ row: EndUserRow; created: boolean }> {
  return db.transaction().execute(async (trx) => {
    const before = await trx
      .selectFrom("end_users")
      .selectAll()
      .where("deployment_id", "=", target.deploymentId)
      .where("user_id", "=", target.userId)
      .forUpdate()
      .executeTakeFirst();
    const row = await trx
      .insertInto("end_users")
      .values({ deployment_id: target.deploymentId, user_id: target.userId, tier, updated_at: new Date() })
      .onConflict((oc) => oc.columns(["deployment_id", "user_id"]).doUpdateSet({ tier, updated_at: new Date() }))
      .returningAll()
      .executeTakeFirstOrThrow();
    await writeAudit(trx, actor, {
      tenant_id: target.tenantId,
      action: "end_user.set_tier",
      target_type: "end_user",
      target_id: `${target.deploymentId}/${target.userId}`,
      before: before ? { tier: before.tier, updated_at: before.updated_at } : null,
      after: { tier: row.tier, updated_at: row.updated_at },
    });
    return { row, created: !before };
  });
}
