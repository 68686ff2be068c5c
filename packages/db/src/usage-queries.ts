import { OPS_USAGE_GROUP_BY, USAGE_GROUP_BY, type UsageSummaryRow } from "@switchyard/contracts";
import { sql, type Kysely, type RawBuilder } from "kysely";
import { isIsoDay } from "./reports";
import type { Database } from "./schema";

// The groupings are the API's (contracts), re-exported for the callers that take them from here.
export { OPS_USAGE_GROUP_BY, USAGE_GROUP_BY, type UsageSummaryRow };
/** How `usageSummary` groups the rollups. */
export type UsageGroupBy = (typeof USAGE_GROUP_BY)[number];

export interface UsageSummaryOptions {
  /** First UTC day, `YYYY-MM-DD`, inclusive. */
  from: string;
  /** Last UTC day, `YYYY-MM-DD`, inclusive. */
  to: string;
  groupBy: UsageGroupBy;
}

// Fixed fragments chosen by a validated enum: nothing from the caller is spliced into the SQL.
const KEY_SQL: Record<Exclude<UsageGroupBy, "end_user">, string> = {
  day: "to_char(day, 'YYYY-MM-DD')",
  model: "model",
  deployment: "deployment_id",
};

/**
 * A tenant's usage between two UTC days (inclusive) from the `usage_daily` rollups (per end user:
 * see `byEndUser`), one row per group that had usage (groups without usage are absent, not zero
 * rows), sorted by key in code-point order, the null key (no end user) last.
 */
export async function usageSummary(db: Kysely<Database>, tenantId: string, opts: UsageSummaryOptions): Promise<UsageSummaryRow[]> {
  if (!isIsoDay(opts.from) || !isIsoDay(opts.to)) throw new RangeError(`from and to must be calendar days YYYY-MM-DD, got ${opts.from}..${opts.to}`);
  if (!(USAGE_GROUP_BY as readonly string[]).includes(opts.groupBy)) throw new RangeError(`groupBy must be one of ${USAGE_GROUP_BY.join(", ")}`);
  const inRange = sql`tenant_id = ${tenantId} AND day >= ${opts.from}::date AND day <= ${opts.to}::date`;
  const r = await (
    opts.groupBy === "end_user"
      ? byEndUser(inRange, sql`NULL`)
      : sql<SummedRow>`
    SELECT ${sql.raw(KEY_SQL[opts.groupBy])} AS key, NULL AS tenant_id, ${SUMS}
      FROM usage_daily
     WHERE ${inRange}
     GROUP BY 1`
  ).execute(db);
  return r.rows.map(summed).sort((a, b) => byKey(a.key, b.key));
}

/** A group's sums as Postgres returns them (bigint and numeric as text). */
type SummedRow = {
  key: string | null;
  tenant_id: string | null;
  requests: string;
  errors: string;
  input_tokens: string;
  output_tokens: string;
  cost_usd: string;
};

const SUMS = sql`sum(requests)::text AS requests, sum(errors)::text AS errors, sum(input_tokens)::text AS input_tokens, sum(output_tokens)::text AS output_tokens, sum(cost_usd)::text AS cost_usd`;

function summed(row: SummedRow): UsageSummaryRow {
  return {
    key: row.key,
    requests: Number(row.requests),
    errors: Number(row.errors),
    input_tokens: Number(row.input_tokens),
    output_tokens: Number(row.output_tokens),
    cost_usd: Number(row.cost_usd),
  };
}

/** Keys in code-point order; the null key (usage without an end user) last. */
function byKey(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a < b ? -1 : 1;
}

/**
 * Usage per end user in `where` (a condition on tenant and day, true of both rollup tables), per
 * `tenant` (`NULL`, or `tenant_id` to keep tenants apart): the `usage_daily_end_users` rows, and per
 * tenant one row with key null for what `usage_daily` holds beyond them (events that named no end
 * user, or were stored before end users were recorded), when there is any.
 */
function byEndUser(where: RawBuilder<unknown>, tenant: RawBuilder<unknown>) {
  return sql<SummedRow>`
    WITH named AS (
      SELECT end_user AS key, ${tenant} AS tenant_id, sum(requests) AS requests, sum(errors) AS errors, sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens, sum(cost_usd) AS cost_usd
        FROM usage_daily_end_users WHERE ${where} GROUP BY 1, 2
    ), named_total AS (
      SELECT tenant_id, sum(requests) AS requests, sum(errors) AS errors, sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens, sum(cost_usd) AS cost_usd
        FROM named GROUP BY 1
    ), total AS (
      SELECT ${tenant} AS tenant_id, sum(requests) AS requests, sum(errors) AS errors, sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens, sum(cost_usd) AS cost_usd
        FROM usage_daily WHERE ${where} GROUP BY 1
    )
    SELECT key, tenant_id, requests::text, errors::text, input_tokens::text, output_tokens::text, cost_usd::text FROM named
    UNION ALL
    SELECT NULL, t.tenant_id, (t.requests - coalesce(n.requests, 0))::text, (t.errors - coalesce(n.errors, 0))::text,
           (t.input_tokens - coalesce(n.input_tokens, 0))::text, (t.output_tokens - coalesce(n.output_tokens, 0))::text, (t.cost_usd - coalesce(n.cost_usd, 0))::text
      FROM total t LEFT JOIN named_total n ON n.tenant_id IS NOT DISTINCT FROM t.tenant_id
     WHERE t.requests > coalesce(n.requests, 0)`;
}

/** How ops group usage across tenants (`GET /admin/v1/usage`). */
export type OpsUsageGroupBy = (typeof OPS_USAGE_GROUP_BY)[number];

const OPS_KEY_SQL: Record<Exclude<OpsUsageGroupBy, "end_user">, string> = { ...KEY_SQL, tenant: "tenant_id" };

/**
 * Usage across every tenant (or one, `tenantId`) between two UTC days (inclusive), from the
 * `usage_daily` rollups, grouped for ops: per tenant, deployment, model, day or end user (see
 * `byEndUser`). Rows also carry the tenant for deployment and end-user groups. Sorted by cost,
 * highest first, then key (null last).
 */
export async function usageAcrossTenants(
  db: Kysely<Database>,
  opts: Omit<UsageSummaryOptions, "groupBy"> & { groupBy: OpsUsageGroupBy; tenantId?: string },
): Promise<Array<UsageSummaryRow & { tenant_id?: string }>> {
  if (!isIsoDay(opts.from) || !isIsoDay(opts.to)) throw new RangeError(`from and to must be calendar days YYYY-MM-DD, got ${opts.from}..${opts.to}`);
  if (!(OPS_USAGE_GROUP_BY as readonly string[]).includes(opts.groupBy)) throw new RangeError(`groupBy must be one of ${OPS_USAGE_GROUP_BY.join(", ")}`);
  const inRange = sql`day >= ${opts.from}::date AND day <= ${opts.to}::date ${opts.tenantId === undefined ? sql`` : sql`AND tenant_id = ${opts.tenantId}`}`;
  // Deployment and end-user groups carry their tenant (an end user's id means something only within it).
  const withTenant = opts.groupBy === "deployment" || opts.groupBy === "end_user";
  const r = await (
    opts.groupBy === "end_user"
      ? byEndUser(inRange, sql`tenant_id`)
      : sql<SummedRow>`
    SELECT ${sql.raw(OPS_KEY_SQL[opts.groupBy])} AS key, ${withTenant ? sql`min(tenant_id)` : sql`NULL`} AS tenant_id, ${SUMS}
      FROM usage_daily
     WHERE ${inRange}
     GROUP BY 1`
  ).execute(db);
  return r.rows
    .map((row) => ({ ...summed(row), ...(withTenant && row.tenant_id !== null ? { tenant_id: row.tenant_id } : {}) }))
    .sort((a, b) => b.cost_usd - a.cost_usd || byKey(a.key, b.key) || byKey(a.tenant_id ?? null, b.tenant_id ?? null));
}
