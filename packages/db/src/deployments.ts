import {
  FEATURE_NAMES,
  newId,
  resolveRateLimits,
  StoredDeploymentSettings,
  TenantView,
  type Budget,
  type DeploymentType,
  type DeploymentView,
  type FeatureName,
  type RateLimits,
} from "@switchyard/contracts";
import { sql, type Kysely, type Selectable, type Updateable } from "kysely";
import { writeAudit, type AuditActor } from "./audit";
import { parseRow } from "./parse-row";
import type { Database, DeploymentsTable } from "./schema";

/** A deployment row with its JSON columns parsed (StoredDeploymentSettings), as every function here returns it. */
export type DeploymentRow = Omit<Selectable<DeploymentsTable>, keyof StoredDeploymentSettings> & StoredDeploymentSettings;

/**
 * A row as read, its JSON columns parsed once (a row that does not parse throws CorruptRowError
 * naming the deployment and column).
 */
export function toDeploymentRow(r: Selectable<DeploymentsTable>): DeploymentRow {
  return { ...r, ...parseRow(StoredDeploymentSettings, r, { table: "deployments", key: r.id }) };
}

/** Every setting of a deployment, as validated by the admin API. */
export interface DeploymentSettingsInput {
  name: string;
  type: DeploymentType;
  /** The full feature set (every name in FEATURE_NAMES). */
  features: Record<string, boolean>;
  /** As set; unset limits fall back to the type's defaults when read. */
  rate_limits: RateLimits;
  budget: Budget | null;
  model_preference: string | null;
  allowed_models: string[] | null;
  allowed_origins: string[];
  allowed_source_domains: string[];
  /** Share in the weighted round robin across tenants, 1–100 (default 1 when left out on create). */
  queue_weight?: number;
  /** Most of its jobs running at once; null is unlimited (the default). */
  max_concurrent_jobs?: number | null;
  /** Longest a job may wait before a worker begins it; null sets none (the default). */
  max_queue_ms?: number | null;
}

/** A deployment as the admin API shows it: the full feature set, limits as set and as in effect. */
export function deploymentView(d: DeploymentRow): DeploymentView {
  const rateLimits: RateLimits = d.rate_limits;
  return {
    id: d.id,
    object: "deployment" as const,
    tenant_id: d.tenant_id,
    name: d.name,
    type: d.type,
    is_default: d.is_default,
    features: Object.fromEntries(FEATURE_NAMES.map((f) => [f, d.features[f] ?? false])) as Record<FeatureName, boolean>,
    rate_limits: rateLimits,
    effective_rate_limits: resolveRateLimits(d.type, rateLimits),
    budget: d.budget,
    model_preference: d.model_preference,
    allowed_models: d.allowed_models ?? null,
    allowed_origins: d.allowed_origins,
    allowed_source_domains: d.allowed_source_domains,
    queue_weight: d.queue_weight,
    max_concurrent_jobs: d.max_concurrent_jobs,
    max_queue_ms: d.max_queue_ms,
    created_at: d.created_at.toISOString(),
    updated_at: d.updated_at.toISOString(),
  };
}
export type { DeploymentView };

function columns(v: Partial<DeploymentSettingsInput>): Updateable<DeploymentsTable> {
  const c: Updateable<DeploymentsTable> = {};
  if (v.name !== undefined) c.name = v.name;
  if (v.type !== undefined) c.type = v.type;
  if (v.features !== undefined) c.features = JSON.stringify(v.features);
  if (v.rate_limits !== undefined) c.rate_limits = JSON.stringify(v.rate_limits);
  if (v.budget !== undefined) c.budget = JSON.stringify(v.budget);
  if (v.model_preference !== undefined) c.model_preference = v.model_preference;
  if (v.allowed_models !== undefined) c.allowed_models = JSON.stringify(v.allowed_models);
  if (v.allowed_origins !== undefined) c.allowed_origins = JSON.stringify(v.allowed_origins);
  if (v.allowed_source_domains !== undefined) c.allowed_source_domains = JSON.stringify(v.allowed_source_domains);
  if (v.queue_weight !== undefined) c.queue_weight = v.queue_weight;
  if (v.max_concurrent_jobs !== undefined) c.max_concurrent_jobs = v.max_concurrent_jobs;
  if (v.max_queue_ms !== undefined) c.max_queue_ms = v.max_queue_ms;
  return c;
}

/** A new (non-default) deployment of a tenant, audited in the same transaction. */
export async function createDeployment(db: Kysely<Database>, tenantId: string, v: DeploymentSettingsInput, actor: AuditActor): Promise<DeploymentRow> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .insertInto("deployments")
      .values({
        id: newId("dep"),
        tenant_id: tenantId,
        name: v.name,
        type: v.type,
        is_default: false,
        features: JSON.stringify(v.features),
        rate_limits: JSON.stringify(v.rate_limits),
        budget: JSON.stringify(v.budget),
        model_preference: v.model_preference,
        allowed_models: JSON.stringify(v.allowed_models),
        allowed_origins: JSON.stringify(v.allowed_origins),
        allowed_source_domains: JSON.stringify(v.allowed_source_domains),
        queue_weight: v.queue_weight,
        max_concurrent_jobs: v.max_concurrent_jobs,
        max_queue_ms: v.max_queue_ms,
      })
      .returningAll()
      .executeTakeFirstOrThrow()
      .then(toDeploymentRow);
    await writeAudit(trx, actor, {
      tenant_id: tenantId,
      action: "deployment.create",
      target_type: "deployment",
      target_id: row.id,
      before: null,
      after: deploymentView(row),
    });
    return row;
  });
}

export async function findDeployment(db: Kysely<Database>, id: string): Promise<DeploymentRow | undefined> {
  const row = await db.selectFrom("deployments").selectAll().where("id", "=", id).executeTakeFirst();
  return row && toDeploymentRow(row);
}

/** A tenant's deployments, the default first, then oldest first. */
export async function listDeployments(db: Kysely<Database>, tenantId: string): Promise<DeploymentRow[]> {
  const rows = await db
    .selectFrom("deployments")
    .selectAll()
    .where("tenant_id", "=", tenantId)
    .orderBy("is_default", "desc")
    .orderBy("created_at")
    .orderBy("id")
    .execute();
  return rows.map(toDeploymentRow);
}

const TenantBudget = TenantView.shape.budget;

/** What admission needs of a deployment's tenant, `budget` parsed. */
export interface DeploymentTenantSettings {
  timezone: string;
  billing_mode: "postpaid" | "prepaid";
  budget: Budget | null;
}

/**
 * A deployment and the settings of its tenant that admission needs, in one query, both parsed
 * (a row that does not parse throws CorruptRowError): what a per-request settings cache reads.
 */
export async function findDeploymentWithTenant(
  db: Kysely<Database>,
  id: string,
): Promise<{ deployment: DeploymentRow; tenant: DeploymentTenantSettings } | undefined> {
  const row = await db
    .selectFrom("deployments")
    .innerJoin("tenants", "tenants.id", "deployments.tenant_id")
    .selectAll("deployments")
    .select(["tenants.timezone", "tenants.billing_mode", "tenants.budget as tenant_budget"])
    .where("deployments.id", "=", id)
    .executeTakeFirst();
  if (!row) return undefined;
  const { timezone, billing_mode, tenant_budget, ...deployment } = row;
  return {
    deployment: toDeploymentRow(deployment),
    tenant: { timezone, billing_mode, budget: parseRow(TenantBudget, tenant_budget, { table: "tenants", key: deployment.tenant_id, column: "budget" }) },
  };
}

/**
 * Deployments across tenants by id, descending (generated ids begin with their creation time, so
 * newest first); `cursor` is the id of the last row of the previous page.
 */
export async function listAllDeployments(
  db: Kysely<Database>,
  q: { limit: number; cursor?: string; tenantId?: string; type?: DeploymentType },
): Promise<{ data: DeploymentRow[]; nextCursor: string | null }> {
  let query = db
    .selectFrom("deployments")
    .selectAll()
    .orderBy("id", "desc")
    .limit(q.limit + 1);
  if (q.cursor !== undefined) query = query.where("id", "<", q.cursor);
  if (q.tenantId !== undefined) query = query.where("tenant_id", "=", q.tenantId);
  if (q.type !== undefined) query = query.where("type", "=", q.type);
  const rows = await query.execute();
  const data = rows.slice(0, q.limit).map(toDeploymentRow);
  return { data, nextCursor: rows.length > q.limit ? (data[data.length - 1]?.id ?? null) : null };
}

/**
 * Change a deployment: `change` sees the row locked (so merges such as `features` never lose a
 * concurrent update) and returns the fields to set; it may throw to reject the change. Audited
 * as `action` in the same transaction. `undefined` when there is no such deployment.
 */
export async function updateDeployment(
  db: Kysely<Database>,
  id: string,
  change: (before: DeploymentRow) => Partial<DeploymentSettingsInput>,
  actor: AuditActor,
  action: string,
): Promise<DeploymentRow | undefined> {
  return db.transaction().execute(async (trx) => {
    const locked = await trx.selectFrom("deployments").selectAll().where("id", "=", id).forUpdate().executeTakeFirst();
    if (!locked) return undefined;
    const before = toDeploymentRow(locked);
    const after = await trx
      .updateTable("deployments")
      .set({ ...columns(change(before)), updated_at: sql<Date>`now()` })
      .where("id", "=", id)
      .returningAll()
      .executeTakeFirstOrThrow()
      .then(toDeploymentRow);
    await writeAudit(trx, actor, {
      tenant_id: before.tenant_id,
      action,
      target_type: "deployment",
      target_id: id,
      before: deploymentView(before),
      after: deploymentView(after),
    });
    return after;
  });
}

/** Every origin any deployment allows (what a CORS preflight, which carries no key, can be checked against). */
export async function allAllowedOrigins(db: Kysely<Database>): Promise<string[]> {
  const rows = await db
    .selectFrom("deployments")
    .select(sql<string>`jsonb_array_elements_text(allowed_origins)`.as("origin"))
    .distinct()
    .execute();
  return rows.map((r) => r.origin);
}
