import type { UsageEvent } from "@switchyard/contracts";
import { sql, type Kysely } from "kysely";
import { usageDebitCtes } from "./credits";
import type { Database } from "./schema";
import type { Transaction } from "kysely";

const UTC_DAY = "(occurred_at AT TIME ZONE 'UTC')::date";

/**
 * A rollup's upsert from the rows the ingest statement inserted (`ins`), per `keys` (the rollup's
 * primary key columns and what fills each), optionally only the rows matching `where`: requests,
 * errors (`failed`, `incomplete`), tokens and cost added. Grouped first (ON CONFLICT DO UPDATE
 * cannot touch one row twice in a statement) and sorted, so concurrent batches lock rollup rows in
 * the same order. Built from fixed strings only: nothing from events is spliced in.
 */
function rollupFromInserted(table: "usage_daily" | "usage_daily_end_users", keys: ReadonlyArray<readonly [column: string, value: string]>, where?: string) {
  const cols = keys.map(([c]) => c).join(", ");
  const positions = keys.map((_, i) => i + 1).join(", ");
  return sql.raw(`INSERT INTO ${table} AS r (${cols}, requests, errors, input_tokens, output_tokens, cost_usd)
      SELECT ${keys.map(([, v]) => v).join(", ")}, count(*),
        count(*) FILTER (WHERE status IN ('failed', 'incomplete')), sum(input_tokens), sum(output_tokens), sum(cost_usd)
      FROM ins${where ? ` WHERE ${where}` : ""}
      GROUP BY ${positions}
      ORDER BY ${positions}
      ON CONFLICT (${cols}) DO UPDATE SET
        requests = r.requests + excluded.requests,
        errors = r.errors + excluded.errors,
        input_tokens = r.input_tokens + excluded.input_tokens,
        output_tokens = r.output_tokens + excluded.output_tokens,
        cost_usd = r.cost_usd + excluded.cost_usd`);
}

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
 * (`usageDebitCtes`) — so a re-delivered event changes nothing. The rollups are grouped per their
 * key and sorted first (`rollupFromInserted`: no row touched twice, no deadlocks).
 *
 * One statement is atomic on its own, so without `inTransaction` no BEGIN/COMMIT is sent; with it,
 * the statement and the callback's writes (given the events actually inserted) share a transaction.
 */
export async function ingestUsageEvents(
  db: Kysely<Database>,
  events: UsageEvent[],
  opts: { inTransaction?: (trx: Transaction<Database>, inserted: UsageEvent[]) => Promise<void> } = {},
): Promise<IngestResult> {
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
        ${col((e) => e.credits_tenant_id)}::text[], ${col((e) => e.end_user)}::text[], ${col((e) => e.batch_id ?? null)}::text[]
      ) AS t(job_id, attempt, tenant_id, deployment_id, api_key_id, requested_model, served_model, provider, status,
        input_tokens, output_tokens, cached_tokens, cost_usd, provenance, ttft_ms, latency_ms, fallbacks, features, rag, occurred_at,
        credits_tenant_id, end_user, batch_id)
    ), ins AS (
      INSERT INTO usage_events (job_id, attempt, tenant_id, deployment_id, api_key_id, requested_model, served_model, provider, status,
        input_tokens, output_tokens, cached_tokens, cost_usd, provenance, ttft_ms, latency_ms, fallbacks, features, rag, occurred_at, end_user, batch_id)
      SELECT job_id, attempt, tenant_id, deployment_id, api_key_id, requested_model, served_model, provider, status,
        input_tokens, output_tokens, cached_tokens, cost_usd, provenance, ttft_ms, latency_ms, fallbacks, features::jsonb, rag::jsonb, occurred_at, end_user, batch_id
      FROM input
      ON CONFLICT (job_id, attempt, occurred_at) DO NOTHING
      RETURNING job_id, attempt, tenant_id, deployment_id, served_model, status, input_tokens, output_tokens, cost_usd, occurred_at, end_user
    ), rollup AS (
      ${rollupFromInserted("usage_daily", [
        ["tenant_id", "tenant_id"],
        ["deployment_id", "deployment_id"],
        ["model", "served_model"],
        ["day", UTC_DAY],
      ])}
    ), end_user_rollup AS (
      ${rollupFromInserted(
        "usage_daily_end_users",
        [
          ["tenant_id", "tenant_id"],
          ["end_user", "end_user"],
          ["day", UTC_DAY],
          ["deployment_id", "deployment_id"],
        ],
        "end_user IS NOT NULL",
      )}
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
    await inTransaction(
      trx,
      unique.filter((e) => inserted.has(`${e.job_id}#${e.attempt}`)),
    );
    return result(rows);
  });
}
