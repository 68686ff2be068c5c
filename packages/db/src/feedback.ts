import { ANALYTICS_GROUP_BY, type AnalyticsRow } from "@switchyard/contracts";
import { sql, type Kysely } from "kysely";
import { isIsoDay } from "./reports";
import type { Database } from "./schema";

/** A rating of 4 or 5 counts as accepted in analytics. */
export const ACCEPTED_RATING = 4;

export interface JobFeedback {
  job_id: string;
  rating: number;
  comment: string | null;
  created_at: Date;
  updated_at: Date;
}

/** Store a job's feedback; a second one for the same job replaces the first (created_at kept). */
export async function saveFeedback(
  db: Kysely<Database>,
  f: { job_id: string; tenant_id: string; deployment_id: string; api_key_id: string | null; rating: number; comment: string | null },
): Promise<JobFeedback> {
  return db
    .insertInto("job_feedback")
    .values(f)
    .onConflict((oc) =>
      oc.column("job_id").doUpdateSet((eb) => ({
        rating: eb.ref("excluded.rating"),
        comment: eb.ref("excluded.comment"),
        api_key_id: eb.ref("excluded.api_key_id"),
        updated_at: sql`now()`,
      })),
    )
    .returning(["job_id", "rating", "comment", "created_at", "updated_at"])
    .executeTakeFirstOrThrow();
}

/** A job's feedback, if its tenant gave any. */
export async function findFeedback(db: Kysely<Database>, tenantId: string, jobId: string): Promise<JobFeedback | undefined> {
  return db
    .selectFrom("job_feedback")
    .select(["job_id", "rating", "comment", "created_at", "updated_at"])
    .where("tenant_id", "=", tenantId)
    .where("job_id", "=", jobId)
    .executeTakeFirst();
}

export { ANALYTICS_GROUP_BY };
export type AnalyticsGroupBy = (typeof ANALYTICS_GROUP_BY)[number];

/** Outcomes of one group of jobs (the HTTP contract's `AnalyticsRow`). */
export type { AnalyticsRow };

const KEY_SQL: Record<AnalyticsGroupBy, string> = {
  model: "served_model",
  deployment: "deployment_id",
  day: "to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
};

/**
 * A tenant's job outcomes between two UTC days (inclusive), from the usage ledger (one row per
 * attempt) and the feedback: per group, jobs, outcomes, acceptance, latency and time-to-first-token
 * percentiles, cost. Groups without usage are absent; sorted by key.
 */
export async function jobAnalytics(
  db: Kysely<Database>,
  tenantId: string,
  opts: { from: string; to: string; groupBy: AnalyticsGroupBy },
): Promise<AnalyticsRow[]> {
  if (!isIsoDay(opts.from) || !isIsoDay(opts.to)) throw new RangeError(`from and to must be calendar days YYYY-MM-DD, got ${opts.from}..${opts.to}`);
  if (!(ANALYTICS_GROUP_BY as readonly string[]).includes(opts.groupBy)) throw new RangeError(`groupBy must be one of ${ANALYTICS_GROUP_BY.join(", ")}`);
  const key = sql.raw(KEY_SQL[opts.groupBy]);
  const r = await sql<{
    key: string;
    jobs: string;
    succeeded: string;
    failed: string;
    rated: string;
    accepted: string;
    lat50: number | null;
    lat95: number | null;
    ttft50: number | null;
    ttft95: number | null;
    cost: string;
  }>`
    WITH ev AS (
      SELECT ${key} AS key, job_id, status, latency_ms, ttft_ms, cost_usd
        FROM usage_events
       WHERE tenant_id = ${tenantId}
         AND occurred_at >= (${opts.from}::date)::timestamp AT TIME ZONE 'UTC'
         AND occurred_at < ((${opts.to}::date + 1)::timestamp AT TIME ZONE 'UTC')
    ), per_job AS (
      SELECT key, job_id, bool_or(status = 'succeeded') AS ok, sum(cost_usd) AS cost
        FROM ev GROUP BY key, job_id
    )
    SELECT j.key,
           count(*)::text AS jobs,
           count(*) FILTER (WHERE j.ok)::text AS succeeded,
           count(*) FILTER (WHERE NOT j.ok)::text AS failed,
           count(f.job_id)::text AS rated,
           count(f.job_id) FILTER (WHERE f.rating >= ${ACCEPTED_RATING})::text AS accepted,
           (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) FROM ev WHERE ev.key = j.key AND status = 'succeeded') AS lat50,
           (SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) FROM ev WHERE ev.key = j.key AND status = 'succeeded') AS lat95,
           (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ttft_ms) FROM ev WHERE ev.key = j.key AND status = 'succeeded' AND ttft_ms IS NOT NULL) AS ttft50,
           (SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY ttft_ms) FROM ev WHERE ev.key = j.key AND status = 'succeeded' AND ttft_ms IS NOT NULL) AS ttft95,
           sum(j.cost)::text AS cost
      FROM per_job j
      LEFT JOIN job_feedback f ON f.job_id = j.job_id AND f.tenant_id = ${tenantId}
     GROUP BY j.key`.execute(db);
  const ms = (v: number | null) => (v === null ? null : Math.round(Number(v) * 10) / 10);
  return r.rows
    .map((row) => {
      const jobs = Number(row.jobs);
      const rated = Number(row.rated);
      const cost = Number(row.cost);
      return {
        key: row.key,
        jobs,
        succeeded: Number(row.succeeded),
        failed: Number(row.failed),
        rated,
        acceptance: rated === 0 ? null : Number(row.accepted) / rated,
        latency_ms: { p50: ms(row.lat50), p95: ms(row.lat95) },
        ttft_ms: { p50: ms(row.ttft50), p95: ms(row.ttft95) },
        cost_usd: cost,
        cost_per_job_usd: jobs === 0 ? 0 : cost / jobs,
      };
    })
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
