import { DailyReport, daysBetween, isIsoDay, type DeploymentDailyReport, type TopFeature, type TopModel } from "@switchyard/contracts";
import { sql, type Kysely, type RawBuilder } from "kysely";
import { parseRow } from "./parse-row";
import type { Database } from "./schema";

// The report's shape is the HTTP contract's (`GET /v1/reports/daily` serves it as stored).
export type { DailyReport, DeploymentDailyReport, TopFeature, TopModel };

/** What `generateDailyReports` wrote. */
export interface GenerateReportsResult {
  date: string;
  /** Reports written (inserted or replaced). */
  reports: number;
  /** Of those, how many had any usage. */
  withUsage: number;
}

const TOP_N = 5;
const DAY_MS = 86_400_000;

// `isIsoDay` and `daysBetween` live in contracts (the HTTP queries use them); re-exported for the ledger's callers.
export { daysBetween, isIsoDay };

/** `YYYY-MM-DD` plus `n` days (UTC). */
export function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00.000Z`) + n * DAY_MS).toISOString().slice(0, 10);
}

function assertDay(date: string): void {
  if (!isIsoDay(date)) throw new RangeError(`date must be a calendar day YYYY-MM-DD, got ${JSON.stringify(date)}`);
}

const emptyReport = (date: string): DailyReport => ({
  date,
  deployments: [],
  totals: { total_requests: 0, total_tokens: 0, total_cost: 0, avg_error_rate: 0 },
});

/**
 * Every tenant's report for one UTC day, built from that day's usage rows in three queries
 * (figures per deployment with per-tenant totals, top models, top features). Only tenants with
 * usage appear; `tenantId` narrows to one.
 */
async function buildReports(db: Kysely<Database>, date: string, tenantId?: string): Promise<Map<string, DailyReport>> {
  assertDay(date);
  const start = new Date(`${date}T00:00:00.000Z`);
  const end = new Date(start.getTime() + DAY_MS);
  const inDay = sql`e.occurred_at >= ${start} AND e.occurred_at < ${end}${tenantId === undefined ? sql`` : sql` AND e.tenant_id = ${tenantId}`}`;

  // Totals come from the same rows through a grouping set, so total_cost is rounded once from
  // the exact numeric sum.
  const figures = await sql<{
    tenant_id: string;
    deployment_id: string | null;
    deployment_name: string | null;
    requests: number;
    tokens: string;
    cost: string;
    avg_latency: string;
    errors: number;
    error_rate: string;
    is_total: number;
  }>`
    SELECT e.tenant_id, e.deployment_id, max(d.name) AS deployment_name,
           count(*)::int AS requests,
           sum(e.input_tokens::bigint + e.output_tokens)::text AS tokens,
           round(sum(e.cost_usd), 6)::text AS cost,
           round(avg(e.latency_ms), 2)::text AS avg_latency,
           count(*) FILTER (WHERE e.status IN ('failed', 'incomplete'))::int AS errors,
           round(count(*) FILTER (WHERE e.status IN ('failed', 'incomplete'))::numeric / count(*), 4)::text AS error_rate,
           GROUPING(e.deployment_id) AS is_total
      FROM usage_events e LEFT JOIN deployments d ON d.id = e.deployment_id
     WHERE ${inDay}
     GROUP BY GROUPING SETS ((e.tenant_id, e.deployment_id), (e.tenant_id))`.execute(db);

  const top = (select: RawBuilder<unknown>) =>
    sql<{ tenant_id: string; deployment_id: string; name: string; usage: number }>`
    SELECT tenant_id, deployment_id, name, usage FROM (
      SELECT tenant_id, deployment_id, name, count(*)::int AS usage,
             row_number() OVER (PARTITION BY tenant_id, deployment_id ORDER BY count(*) DESC, name COLLATE "C") AS rank
        FROM (${select}) rows
       GROUP BY tenant_id, deployment_id, name) ranked
     WHERE rank <= ${TOP_N}
     ORDER BY tenant_id, deployment_id, rank`.execute(db);
  const models = await top(sql`SELECT e.tenant_id, e.deployment_id, e.served_model AS name FROM usage_events e WHERE ${inDay}`);
  // A feature counts once per request, however often the request's array repeats it.
  const features = await top(sql`
    SELECT DISTINCT e.tenant_id, e.deployment_id, e.job_id, e.attempt, f.name
      FROM usage_events e
      CROSS JOIN LATERAL jsonb_array_elements_text(CASE WHEN jsonb_typeof(e.features) = 'array' THEN e.features ELSE '[]'::jsonb END) AS f(name)
     WHERE ${inDay}`);

  const keyOf = (t: string, d: string) => `${t}\u0000${d}`;
  const topModels = new Map<string, TopModel[]>();
  for (const m of models.rows)
    topModels.set(keyOf(m.tenant_id, m.deployment_id), [...(topModels.get(keyOf(m.tenant_id, m.deployment_id)) ?? []), { model: m.name, usage: m.usage }]);
  const topFeatures = new Map<string, TopFeature[]>();
  for (const f of features.rows)
    topFeatures.set(keyOf(f.tenant_id, f.deployment_id), [
      ...(topFeatures.get(keyOf(f.tenant_id, f.deployment_id)) ?? []),
      { feature: f.name, usage: f.usage },
    ]);

  const reports = new Map<string, DailyReport>();
  const reportOf = (t: string) => reports.get(t) ?? reports.set(t, emptyReport(date)).get(t)!;
  for (const r of figures.rows) {
    const report = reportOf(r.tenant_id);
    if (r.is_total === 1 || r.deployment_id === null) {
      report.totals = { total_requests: r.requests, total_tokens: Number(r.tokens), total_cost: Number(r.cost), avg_error_rate: Number(r.error_rate) };
      continue;
    }
    report.deployments.push({
      deployment_id: r.deployment_id,
      deployment_name: r.deployment_name,
      requests: r.requests,
      tokens_used: Number(r.tokens),
      cost_estimate: Number(r.cost),
      avg_latency_ms: Number(r.avg_latency),
      error_rate: Number(r.error_rate),
      top_models: topModels.get(keyOf(r.tenant_id, r.deployment_id)) ?? [],
      top_features: topFeatures.get(keyOf(r.tenant_id, r.deployment_id)) ?? [],
    });
  }
  for (const report of reports.values()) {
    report.deployments.sort((a, b) => b.requests - a.requests || (a.deployment_id < b.deployment_id ? -1 : a.deployment_id > b.deployment_id ? 1 : 0));
  }
  return reports;
}

/**
 * One tenant's daily summary for the UTC day `date` (`YYYY-MM-DD`), computed from that day's
 * usage rows; a day without usage gives a report with no deployments and zero totals.
 */
export async function buildDailyReport(db: Kysely<Database>, tenantId: string, date: string): Promise<DailyReport> {
  return (await buildReports(db, date, tenantId)).get(tenantId) ?? emptyReport(date);
}

/**
 * Compute and store (upsert, so re-running is harmless and picks up late usage) the reports of the
 * UTC day `date`. Every tenant that existed by the end of that day gets one, an empty report when
 * it had no usage (so a missing report means "not generated", never "no usage"), and so does any
 * tenant id that has usage rows that day. With `tenantId`, only that tenant, which must exist or
 * have usage that day.
 */
export async function generateDailyReports(db: Kysely<Database>, date: string, opts: { tenantId?: string } = {}): Promise<GenerateReportsResult> {
  const built = await buildReports(db, date, opts.tenantId);
  const endOfDay = new Date(Date.parse(`${date}T00:00:00.000Z`) + DAY_MS);
  let tenants = db.selectFrom("tenants").select("id");
  tenants = opts.tenantId === undefined ? tenants.where("created_at", "<", endOfDay) : tenants.where("id", "=", opts.tenantId);
  const ids = new Set([...(await tenants.execute()).map((t) => t.id), ...built.keys()]);
  if (opts.tenantId !== undefined && ids.size === 0) throw new Error(`no tenant ${opts.tenantId} (and no usage for it on ${date})`);

  const rows = [...ids].sort().map((id) => ({ tenant_id: id, date, report: JSON.stringify(built.get(id) ?? emptyReport(date)), generated_at: new Date() }));
  for (let i = 0; i < rows.length; i += 500) {
    await db
      .insertInto("daily_reports")
      .values(rows.slice(i, i + 500))
      .onConflict((oc) =>
        oc.columns(["tenant_id", "date"]).doUpdateSet((eb) => ({ report: eb.ref("excluded.report"), generated_at: eb.ref("excluded.generated_at") })),
      )
      .execute();
  }
  return { date, reports: rows.length, withUsage: [...ids].filter((id) => built.has(id)).length };
}

/** A stored report and when it was generated. */
export interface StoredDailyReport {
  report: DailyReport;
  generatedAt: Date;
}

/** The stored report of one tenant and UTC day, or undefined when none was generated. */
export async function getDailyReport(db: Kysely<Database>, tenantId: string, date: string): Promise<StoredDailyReport | undefined> {
  assertDay(date);
  const row = await db
    .selectFrom("daily_reports")
    .select(["report", "generated_at"])
    .where("tenant_id", "=", tenantId)
    .where("date", "=", date)
    .executeTakeFirst();
  if (!row) return undefined;
  return { report: parseRow(DailyReport, row.report, { table: "daily_reports", key: `${tenantId}/${date}`, column: "report" }), generatedAt: row.generated_at };
}

/** The CSV columns, in order. */
export const DAILY_REPORT_CSV_COLUMNS = [
  "deployment_id",
  "deployment_name",
  "requests",
  "tokens_used",
  "cost_estimate",
  "avg_latency_ms",
  "error_rate",
  "top_models",
  "top_features",
] as const;

/** RFC 4180: a field with a comma, quote, CR or LF is quoted, its quotes doubled. */
function csvField(v: string | number | null): string {
  const s = v === null ? "" : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/**
 * The report as CSV (RFC 4180, CRLF line ends): a header row, then one row per deployment. Top
 * lists are `name:usage` pairs joined by `;`; an unknown deployment name is an empty field.
 */
export function reportToCsv(report: DailyReport): string {
  const lines = [DAILY_REPORT_CSV_COLUMNS.join(",")];
  for (const d of report.deployments) {
    lines.push(
      [
        d.deployment_id,
        d.deployment_name,
        d.requests,
        d.tokens_used,
        d.cost_estimate,
        d.avg_latency_ms,
        d.error_rate,
        d.top_models.map((m) => `${m.model}:${m.usage}`).join(";"),
        d.top_features.map((f) => `${f.feature}:${f.usage}`).join(";"),
      ]
        .map(csvField)
        .join(","),
    );
  }
  return `${lines.join("\r\n")}\r\n`;
}
