import type { UsageEvent } from "@switchyard/contracts";
import { sql, type Kysely } from "kysely";
import { usageDebitCtes } from "./credits";
import type { Database } from "./schema";
import type { Transaction } from "kysely";

export interface IngestResult {
  inserted: number;
  duplicates: number;
  /** (job_id, attempt) of the rows actually inserted. */
  insertedKeys: Array<{ job_id: string; attempt: number }>;
}

/**
 * Write a batch of usage events exactly once, in one statement (one round trip): the events go in
 * as one array per column through `unnest`, conflicts on (job_id, attempt) are ignored, and from
 * what that insert RETURNED (data-modifying CTEs) the daily rollups are bumped (`usage_daily`, and
 * `usage_daily_end_users` for events that name an end user) and prepaid tenants' credits debited
 * (`usageDebitCtes`) — so a re-delivered event changes nothing. The rollups are
 * grouped per (tenant, deployment, model, UTC day) first, because ON CONFLICT DO UPDATE cannot
 * touch one row twice in a statement, and sorted, so concurrent batches lock rollup rows in the
 * same order (no deadlocks).
 *
 * One statement is atomic on its own, so without `inTransaction` no BEGIN/COMMIT is sent; with it,
 * the statement and the callback's writes (given the events actually inserted) share a transaction.
 */
export async function ingestUsageEvents(db: Kysely<Database>, events: UsageEvent[], opts: { inTransaction?: (trx: Transaction<Database>, inserted: UsageEvent[]) => Promise<void> } = {}): Promise<IngestResult> {
  if (events.length === 0) return { inserted: 0, duplicates: 0, insertedKeys: [] };
  // The same (job, attempt) twice inside one batch would make ON CONFLICT fail; keep one. Sorted by
  // key, so concurrent batches (replicas, or batches in flight together) that share re-delivered
  // events wait for each other's key in one order, never in a cycle (no deadlock).
  const byKey = new Map(events.map((e) => [`${e.job_id}#${e.attempt}`, e]));
  const unique = [...byKey.keys()].sort().map((k) => byKey.get(k)!);
  const col = <T>(f: (e: UsageEvent) => T): T[] => unique.map(f);
  const statement = sql<{ job_id: string; attempt: number }>`
    WITH input AS (
      SELECT * FROM unnest(
        ${col((e) => e.job_id)}::text[], ${col((e) => e.attempt)}::int[], ${col((e) => e.tenant_id)}::text[],
        ${col((e) => e.deployment_id)}::text[], ${col((e) => e.api_key_id)}::text[], ${col((e) => e.requested_model)}::text[],
        ${col((e) => e.served_model)}::text[], ${col((e) => e.provider)}::text[], ${col((e) => e.status)}::text[],
        ${col((e) => e.input_tokens)}::int[], ${col((e) => e.output_tokens)}::int[], ${col((e) => e.cached_tokens)}::int[],
        ${col((e) => e.cost_usd.toFixed(9))}::numeric[], ${col((e) => e.provenance)}::text[], ${col((e) => e.ttft_ms)}::int[],
        ${col((e) => e.latency_ms)}::int[], ${col((e) => e.fallbacks)}::int[], ${col((e) => JSON.stringify(e.features))}::text[],
        ${col((e) => (e.rag ? JSON.stringify(e.rag) : null))}::text[], ${col((e) => e.occurred_at)}::timestamptz[],
        ${col((e) => e.credits_tenant_id)}::text[], ${col((e) => e.end_user)}::text[]
      ) AS t(job_id, attempt, tenant_id, deployment_id, api_key_id, requested_model, served_model, provider, status,
        input_tokens, output_tokens, cached_tokens, cost_usd, provenance, ttft_ms, latency_ms, fallbacks, features, rag, occurred_at,
        credits_tenant_id, end_user)
    ), ins AS (
      INSERT INTO usage_events (job_id, attempt, tenant_id, deployment_id, api_key_id, requested_model, served_model, provider, status,
        input_tokens, output_tokens, cached_tokens, cost_usd, provenance, ttft_ms, latency_ms, fallbacks, features, rag, occurred_at, end_user)
      SELECT job_id, attempt, tenant_id, deployment_id, api_key_id, requested_model, served_model, provider, status,
        input_tokens, output_tokens, cached_tokens, cost_usd, provenance, ttft_ms, latency_ms, fallbacks, features::jsonb, rag::jsonb, occurred_at, end_user
      FROM input
      ON CONFLICT (job_id, attempt, occurred_at) DO NOTHING
      RETURNING job_id, attempt, tenant_id, deployment_id, served_model, status, input_tokens, output_tokens, cost_usd, occurred_at, end_user
    ), rollup AS (
      INSERT INTO usage_daily AS d (tenant_id, deployment_id, model, day, requests, errors, input_tokens, output_tokens, cost_usd)
      SELECT tenant_id, deployment_id, served_model, (occurred_at AT TIME ZONE 'UTC')::date, count(*),
        count(*) FILTER (WHERE status IN ('failed', 'incomplete')), sum(input_tokens), sum(output_tokens), sum(cost_usd)
      FROM ins
      GROUP BY 1, 2, 3, 4
      ORDER BY 1, 2, 3, 4
      ON CONFLICT (tenant_id, deployment_id, model, day) DO UPDATE SET
        requests = d.requests + excluded.requests,
        errors = d.errors + excluded.errors,
        input_tokens = d.input_tokens + excluded.input_tokens,
        output_tokens = d.output_tokens + excluded.output_tokens,
        cost_usd = d.cost_usd + excluded.cost_usd
    ), end_user_rollup AS (
      INSERT INTO usage_daily_end_users AS u (tenant_id, end_user, day, deployment_id, requests, errors, input_tokens, output_tokens, cost_usd)
      SELECT tenant_id, end_user, (occurred_at AT TIME ZONE 'UTC')::date, deployment_id, count(*),
        count(*) FILTER (WHERE status IN ('failed', 'incomplete')), sum(input_tokens), sum(output_tokens), sum(cost_usd)
      FROM ins
      WHERE end_user IS NOT NULL
      GROUP BY 1, 2, 3, 4
      ORDER BY 1, 2, 3, 4
      ON CONFLICT (tenant_id, end_user, day, deployment_id) DO UPDATE SET
        requests = u.requests + excluded.requests,
        errors = u.errors + excluded.errors,
        input_tokens = u.input_tokens + excluded.input_tokens,
        output_tokens = u.output_tokens + excluded.output_tokens,
        cost_usd = u.cost_usd + excluded.cost_usd
    ), inserted_credits AS (
      -- (job, attempt) is unique in input (deduplicated above), so each inserted row joins once.
      SELECT input.credits_tenant_id, ins.job_id, ins.attempt, ins.cost_usd FROM ins JOIN input USING (job_id, attempt)
    )${usageDebitCtes("inserted_credits")}
    SELECT job_id, attempt FROM ins
  `;
  const result = (rows: Array<{ job_id: string; attempt: number }>): IngestResult => ({
    inserted: rows.length,
    duplicates: events.length - rows.length,
    insertedKeys: rows.map((r) => ({ job_id: r.job_id, attempt: r.attempt })),
  });
  const inTransaction = opts.inTransaction;
  if (!inTransaction) return result((await statement.execute(db)).rows);
  return db.transaction().execute(async (trx) => {
    const { rows } = await statement.execute(trx);
    const inserted = new Set(rows.map((r) => `${r.job_id}#${r.attempt}`));
    await inTransaction(trx, unique.filter((e) => inserted.has(`${e.job_id}#${e.attempt}`)));
    return result(rows);
  });
}
