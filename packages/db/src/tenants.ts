import { DEFAULT_FEATURES_BY_TYPE, newId, type CreateTenantRequest } from "@switchyard/contracts";
import type { Kysely, Transaction } from "kysely";
import type { Database, DeploymentsTable } from "./schema";
import { writeAudit, type AuditActor } from "./audit";



/** Create a tenant and its default deployment in one transaction, with an audit row. */
export async function createTenant(
  db: Kysely<Database>,
  input: CreateTenantRequest & { id?: string },
  actor: AuditActor,
): Promise<{ tenant: { id: string; name: string; timezone: string; billing_mode: string; created_at: Date }; defaultDeploymentId: string }> {
  return db.transaction().execute(async (trx) => {
    const tenant = await trx
      .insertInto("tenants")
      .values({ id: input.id ?? newId("ten"), name: input.name, timezone: input.timezone, billing_mode: input.billing_mode })
      .returningAll()
      .executeTakeFirstOrThrow();
    const dep = await insertDeployment(trx, { tenant_id: tenant.id, name: "default", type: "internal", is_default: true });
    await writeAudit(trx, actor, { tenant_id: tenant.id, action: "tenant.create", target_type: "tenant", target_id: tenant.id, before: null, after: { ...tenant, default_deployment_id: dep.id } });
    return { tenant, defaultDeploymentId: dep.id };
  });
}

export async function insertDeployment(
  trx: Kysely<Database> | Transaction<Database>,
  d: { id?: string; tenant_id: string; name: string; type: DeploymentsTable["type"]; is_default: boolean },
): Promise<{ id: string }> {
  return trx
    .insertInto("deployments")
    .values({
      id: d.id ?? newId("dep"),
      tenant_id: d.tenant_id,
      name: d.name,
      type: d.type,
      is_default: d.is_default,
      features: JSON.stringify(DEFAULT_FEATURES_BY_TYPE[d.type]),
      rate_limits: JSON.stringify({}),
      budget: JSON.stringify(null),
      allowed_origins: JSON.stringify([]),
      allowed_source_domains: JSON.stringify([]),
    })
    .returning("id")
    .executeTakeFirstOrThrow();
}

export async function findTenant(db: Kysely<Database>, id: string) {
  return db.selectFrom("tenants").selectAll().where("id", "=", id).executeTakeFirst();
}

export async function findDefaultDeployment(db: Kysely<Database>, tenantId: string) {
  return db.selectFrom("deployments").selectAll().where("tenant_id", "=", tenantId).where("is_default", "=", true).executeTakeFirst();
}
