import { DEFAULT_FEATURES_BY_TYPE, newId, TenantView, type CreateTenantRequest, type UpdateTenantRequest } from "@switchyard/contracts";
import { sql, type Kysely, type Selectable, type Transaction, type Updateable } from "kysely";
import type { Database, DeploymentsTable, TenantsTable } from "./schema";
import { writeAudit, type AuditActor } from "./audit";
import { toDeploymentRow, type DeploymentRow } from "./deployments";
import { parseRow } from "./parse-row";

/** A tenant row with `budget` parsed (the admin API's Budget schema), as every function here returns it. */
export type TenantRow = Omit<Selectable<TenantsTable>, "budget"> & Pick<TenantView, "budget">;

const TenantJson = TenantView.pick({ budget: true });

/** A row as read, `budget` parsed (a row that does not parse throws CorruptRowError naming the tenant). */
export function toTenantRow(t: Selectable<TenantsTable>): TenantRow {
  return { ...t, ...parseRow(TenantJson, t, { table: "tenants", key: t.id }) };
}

/** A tenant as the admin API shows it (with its default deployment's id), or as its audit rows hold it (without). */
export function tenantView(t: TenantRow): Omit<TenantView, "default_deployment_id">;
export function tenantView(t: TenantRow, defaultDeploymentId: string | null): TenantView;
export function tenantView(
  t: TenantRow,
  defaultDeploymentId?: string | null,
): Omit<TenantView, "default_deployment_id"> & { default_deployment_id?: string | null } {
  return {
    id: t.id,
    object: "tenant" as const,
    name: t.name,
    timezone: t.timezone,
    billing_mode: t.billing_mode,
    budget: t.budget,
    // numeric comes back from pg as a string
    daily_cost_alert_usd: t.daily_cost_alert_usd === null ? null : Number(t.daily_cost_alert_usd),
    ...(defaultDeploymentId !== undefined ? { default_deployment_id: defaultDeploymentId } : {}),
    created_at: t.created_at.toISOString(),
  };
}

/** Create a tenant and its default deployment in one transaction, with an audit row. */
export async function createTenant(
  db: Kysely<Database>,
  input: CreateTenantRequest & { id?: string },
  actor: AuditActor,
): Promise<{ tenant: TenantRow; defaultDeploymentId: string }> {
  return db.transaction().execute(async (trx) => {
    const tenant: TenantRow = await trx
      .insertInto("tenants")
      .values({ id: input.id ?? newId("ten"), name: input.name, timezone: input.timezone, billing_mode: input.billing_mode })
      .returningAll()
      .executeTakeFirstOrThrow()
      .then(toTenantRow);
    const dep = await insertDeployment(trx, { tenant_id: tenant.id, name: "default", type: "internal", is_default: true });
    await writeAudit(trx, actor, {
      tenant_id: tenant.id,
      action: "tenant.create",
      target_type: "tenant",
      target_id: tenant.id,
      before: null,
      after: { ...tenant, default_deployment_id: dep.id },
    });
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

export async function findTenant(db: Kysely<Database>, id: string): Promise<TenantRow | undefined> {
  const row = await db.selectFrom("tenants").selectAll().where("id", "=", id).executeTakeFirst();
  return row && toTenantRow(row);
}

export async function findDefaultDeployment(db: Kysely<Database>, tenantId: string): Promise<DeploymentRow | undefined> {
  const row = await db.selectFrom("deployments").selectAll().where("tenant_id", "=", tenantId).where("is_default", "=", true).executeTakeFirst();
  return row && toDeploymentRow(row);
}

/** PATCH a tenant in one transaction with its audit row; `undefined` when there is no such tenant. */
export async function updateTenant(db: Kysely<Database>, id: string, patch: UpdateTenantRequest, actor: AuditActor): Promise<TenantRow | undefined> {
  return db.transaction().execute(async (trx) => {
    const locked = await trx.selectFrom("tenants").selectAll().where("id", "=", id).forUpdate().executeTakeFirst();
    if (!locked) return undefined;
    const before = toTenantRow(locked);
    const changes: Updateable<TenantsTable> = {};
    if (patch.name !== undefined) changes.name = patch.name;
    if (patch.timezone !== undefined) changes.timezone = patch.timezone;
    if (patch.billing_mode !== undefined) changes.billing_mode = patch.billing_mode;
    if (patch.budget !== undefined) changes.budget = JSON.stringify(patch.budget);
    if (patch.daily_cost_alert_usd !== undefined) changes.daily_cost_alert_usd = patch.daily_cost_alert_usd;
    const after = Object.keys(changes).length
      ? toTenantRow(await trx.updateTable("tenants").set(changes).where("id", "=", id).returningAll().executeTakeFirstOrThrow())
      : before;
    await writeAudit(trx, actor, {
      tenant_id: id,
      action: "tenant.update",
      target_type: "tenant",
      target_id: id,
      before: tenantView(before),
      after: tenantView(after),
    });
    return after;
  });
}

/** `s` as a LIKE/ILIKE pattern that matches it literally (backslash is the escape character). */
export function likeLiteral(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * Tenants by id, descending: generated ids begin with their creation time, so this is newest
 * first (fixed ids such as `ten_demo` sort by their text). `cursor` is the id of the last row of
 * the previous page; `name` keeps the tenants whose name contains it, ignoring case (`%` and `_`
 * match themselves). Each comes with its default deployment's id.
 */
export async function listTenants(
  db: Kysely<Database>,
  q: { limit: number; cursor?: string; name?: string },
): Promise<{ data: TenantView[]; nextCursor: string | null }> {
  let query = db
    .selectFrom("tenants")
    .leftJoin("deployments", (j) => j.onRef("deployments.tenant_id", "=", "tenants.id").on("deployments.is_default", "=", true))
    .selectAll("tenants")
    .select("deployments.id as default_deployment_id")
    .orderBy("tenants.id", "desc")
    .limit(q.limit + 1);
  if (q.cursor !== undefined) query = query.where("tenants.id", "<", q.cursor);
  if (q.name !== undefined) query = query.where(sql<boolean>`${sql.ref("tenants.name")} ILIKE ${`%${likeLiteral(q.name)}%`} ESCAPE '\\'`);
  const rows = await query.execute();
  const data = rows.slice(0, q.limit).map(({ default_deployment_id, ...t }) => tenantView(toTenantRow(t), default_deployment_id));
  return { data, nextCursor: rows.length > q.limit ? (data[data.length - 1]?.id ?? null) : null };
}
