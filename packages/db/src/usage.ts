import type { UsageEvent } from "@switchyard/contracts";
import { sql, type Kysely } from "kysely";
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
 * as one array per column through `unnest`, conflicts on (job_id, attempt) are ignored, and the
 * daily rollups are bumped from what that insert RETURNED (a data-modifying CTE) — so a
 * re-delivered event changes nothing. The rollups are grouped per (tenant, deployment, model, UTC
 * day) first, because ON CONFLICT DO UPDATE cannot touch one row twice in a statement, and sorted,
 * so concurrent batches lock rollup rows in the same order (no deadlocks).
 */
export async function ingestUsageEvents(db: Kysely<Database>, events: UsageEvent[], opts: { inTransaction?: (trx: Transaction<Database>, inserted: UsageEvent[]) => Promise<void> } = {}): Promise<IngestResult> {
  if (events.length === 0) return { inserted: 0, duplicates: 0, insertedKeys: [] };
  // The same (job, attempt) twice inside one batch would make ON CONFLICT fail; keep one.
  const unique = [...new Map(events.map((e) => [`${e.job_id}#${e.attempt}`, e])).values()];
  const col = <T>(f: (e: UsageEvent) => T): T[] => unique.map(f);
  return db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ job_id: string; attempt: number }>`
      WITH ins AS (
        INSERT INTO usage_events (job_id, attempt, tenant_id, deployment_id, api_key_id, requested_model, served_model, provider, status,
          input_tokens, output_tokens, cached_tokens, cost_usd, provenance, ttft_ms, latency_ms, fallbacks, features, rag, occurred_at)
        SELECT job_id, attempt, tenant_id, deployment_id, api_key_id, requested_model, served_model, provider, status,
          input_tokens, output_tokens, cached_tokens, cost_usd, provenance, ttft_ms, latency_ms, fallbacks, features::jsonb, rag::jsonb, occurred_at
        FROM unnest(
          ${col((e) => e.job_id)}::text[], ${col((e) => e.attempt)}::int[], ${col((e) => e.tenant_id)}::text[],
          ${col((e) => e.deployment_id)}::text[], ${col((e) => e.api_key_id)}::text[], ${col((e) => e.requested_model)}::text[],
          ${col((e) => e.served_model)}::text[], ${col((e) => e.provider)}::text[], ${col((e) => e.status)}::text[],
          ${col((e) => e.input_tokens)}::int[], ${col((e) => e.output_tokens)}::int[], ${col((e) => e.cached_tokens)}::int[],
          ${col((e) => e.cost_usd.toFixed(9))}::numeric[], ${col((e) => e.provenance)}::text[], ${col((e) => e.ttft_ms)}::int[],
          ${col((e) => e.latency_ms)}::int[], ${col((e) => e.fallbacks)}::int[], ${col((e) => JSON.stringify(e.features))}::text[],
          ${col((e) => (e.rag ? JSON.stringify(e.rag) : null))}::text[], ${col((e) => e.occurred_at)}::timestamptz[]
        ) AS t(job_id, attempt, tenant_id, deployment_id, api_key_id, requested_model, served_model, provider, status,
          input_tokens, output_tokens, cached_tokens, cost_usd, provenance, ttft_ms, latency_ms, fallbacks, features, rag, occurred_at)
        ON CONFLICT (job_id, attempt, occurred_at) DO NOTHING
        RETURNING job_id, attempt, tenant_id, deployment_id, served_model, status, input_tokens, output_tokens, cost_usd, occurred_at
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
      )
      SELECT job_id, attempt FROM ins
    `.execute(trx);
    const inserted = new Set(rows.map((r) => `${r.job_id}#${r.attempt}`));
    await opts.inTransaction?.(trx, unique.filter((e) => inserted.has(`${e.job_id}#${e.attempt}`)));
    return { inserted: rows.length, duplicates: events.length - rows.length, insertedKeys: rows.map((r) => ({ job_id: r.job_id, attempt: r.attempt })) };
  });
}
