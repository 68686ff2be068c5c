import { sql, type Kysely } from "kysely";
import { isIsoDay } from "./reports";
import type { Database } from "./schema";

/** How `usageSummary` groups the rollups. */
export const USAGE_GROUP_BY = ["day", "model", "deployment"] as const;
export type UsageGroupBy = (typeof USAGE_GROUP_BY)[number];

/** One group of usage: `key` is the day (`YYYY-MM-DD`), the served model, or the deployment id. */
export interface UsageSummaryRow {
  key: string;
  requests: number;
  /** Requests that ended `failed` or `incomplete`. */
  errors: number;
  input_tokens: number;
  output_tokens: number;
  /** Exact sum of the rollups (numeric(18,9)), as a number. */
  cost_usd: number;
}

export interface UsageSummaryOptions {
  /** First UTC day, `YYYY-MM-DD`, inclusive. */
  from: string;
  /** Last UTC day, `YYYY-MM-DD`, inclusive. */
  to: string;
  groupBy: UsageGroupBy;
}

// Fixed fragments chosen by a validated enum: nothing from the caller is spliced into the SQL.
const KEY_SQL: Record<UsageGroupBy, string> = {
  day: "to_char(day, 'YYYY-MM-DD')",
  model: "model",
  deployment: "deployment_id",
};

/**
 * A tenant's usage between two UTC days (inclusive) from the `usage_daily` rollups, one row per
 * group that had usage (groups without usage are absent, not zero rows), sorted by key in
 * code-point order.
 */
export async function usageSummary(db: Kysely<Database>, tenantId: string, opts: UsageSummaryOptions): Promise<UsageSummaryRow[]> {
  if (!isIsoDay(opts.from) || !isIsoDay(opts.to)) throw new RangeError(`from and to must be calendar days YYYY-MM-DD, got ${opts.from}..${opts.to}`);
  if (!(USAGE_GROUP_BY as readonly string[]).includes(opts.groupBy)) throw new RangeError(`groupBy must be one of ${USAGE_GROUP_BY.join(", ")}`);
  const key = sql.raw(KEY_SQL[opts.groupBy]);
  const r = await sql<{ key: string; requests: string; errors: string; input_tokens: string; output_tokens: string; cost_usd: string }>`
    SELECT ${key} AS key,
           sum(requests)::text AS requests, sum(errors)::text AS errors,
           sum(input_tokens)::text AS input_tokens, sum(output_tokens)::text AS output_tokens,
           sum(cost_usd)::text AS cost_usd
      FROM usage_daily
     WHERE tenant_id = ${tenantId} AND day >= ${opts.from}::date AND day <= ${opts.to}::date
     GROUP BY 1`.execute(db);
  return r.rows
    .map((row) => ({
      key: row.key,
      requests: Number(row.requests),
      errors: Number(row.errors),
      input_tokens: Number(row.input_tokens),
      output_tokens: Number(row.output_tokens),
      cost_usd: Number(row.cost_usd),
    }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** How ops group usage across tenants (`GET /admin/v1/usage`). */
export const OPS_USAGE_GROUP_BY = ["tenant", "deployment", "model", "day"] as const;
export type OpsUsageGroupBy = (typeof OPS_USAGE_GROUP_BY)[number];

const OPS_KEY_SQL: Record<OpsUsageGroupBy, string> = { ...KEY_SQL, tenant: "tenant_id" };

/**
 * Usage across every tenant (or one, `tenantId`) between two UTC days (inclusive), from the
 * `usage_daily` rollups, grouped for ops: per tenant, deployment, model or day. Rows also carry
 * the tenant for deployment groups. Sorted by cost, highest first, then key.
 */
export async function usageAcrossTenants(db: Kysely<Database>, opts: Omit<UsageSummaryOptions, "groupBy"> & { groupBy: OpsUsageGroupBy; tenantId?: string }): Promise<Array<UsageSummaryRow & { tenant_id?: string }>> {
  if (!isIsoDay(opts.from) || !isIsoDay(opts.to)) throw new RangeError(`from and to must be calendar days YYYY-MM-DD, got ${opts.from}..${opts.to}`);
  if (!(OPS_USAGE_GROUP_BY as readonly string[]).includes(opts.groupBy)) throw new RangeError(`groupBy must be one of ${OPS_USAGE_GROUP_BY.join(", ")}`);
  const key = sql.raw(OPS_KEY_SQL[opts.groupBy]);
  const withTenant = opts.groupBy === "deployment";
  const r = await sql<{ key: string; tenant_id: string | null; requests: string; errors: string; input_tokens: string; output_tokens: string; cost_usd: string }>`
    SELECT ${key} AS key, ${withTenant ? sql`min(tenant_id)` : sql`NULL`} AS tenant_id,
           sum(requests)::text AS requests, sum(errors)::text AS errors,
           sum(input_tokens)::text AS input_tokens, sum(output_tokens)::text AS output_tokens,
           sum(cost_usd)::text AS cost_usd
      FROM usage_daily
     WHERE day >= ${opts.from}::date AND day <= ${opts.to}::date
       ${opts.tenantId === undefined ? sql`` : sql`AND tenant_id = ${opts.tenantId}`}
     GROUP BY 1`.execute(db);
  return r.rows
    .map((row) => ({
      key: row.key,
      ...(withTenant && row.tenant_id !== null ? { tenant_id: row.tenant_id } : {}),
      requests: Number(row.requests),
      errors: Number(row.errors),
      input_tokens: Number(row.input_tokens),
      output_tokens: Number(row.output_tokens),
      cost_usd: Number(row.cost_usd),
    }))
    .sort((a, b) => b.cost_usd - a.cost_usd || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
