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

const FAILED = new Set(["failed", "incomplete"]);

/**
 * Write a batch of usage events exactly once: one multi-row insert with conflicts on
 * (job_id, attempt) ignored, and the daily rollups bumped in the same transaction from the rows
 * the insert actually returned — so a re-delivered event changes nothing.
 */
export async function ingestUsageEvents(db: Kysely<Database>, events: UsageEvent[], opts: { inTransaction?: (trx: Transaction<Database>, inserted: UsageEvent[]) => Promise<void> } = {}): Promise<IngestResult> {
  if (events.length === 0) return { inserted: 0, duplicates: 0, insertedKeys: [] };
  // The same (job, attempt) twice inside one batch would make ON CONFLICT fail; keep the first.
  const unique = [...new Map(events.map((e) => [`${e.job_id}#${e.attempt}`, e])).values()];
  return db.transaction().execute(async (trx) => {
    const rows = await trx
      .insertInto("usage_events")
      .values(
        unique.map((e) => ({
          job_id: e.job_id,
          attempt: e.attempt,
          tenant_id: e.tenant_id,
          deployment_id: e.deployment_id,
          api_key_id: e.api_key_id,
          requested_model: e.requested_model,
          served_model: e.served_model,
          provider: e.provider,
          status: e.status,
          input_tokens: e.input_tokens,
          output_tokens: e.output_tokens,
          cached_tokens: e.cached_tokens,
          cost_usd: e.cost_usd.toFixed(9),
          provenance: e.provenance,
          ttft_ms: e.ttft_ms,
          latency_ms: e.latency_ms,
          fallbacks: e.fallbacks,
          features: JSON.stringify(e.features),
          rag: e.rag ? JSON.stringify(e.rag) : null,
          occurred_at: e.occurred_at,
        })),
      )
      .onConflict((oc) => oc.columns(["job_id", "attempt", "occurred_at"]).doNothing())
      .returning(["job_id", "attempt", "tenant_id", "deployment_id", "served_model", "status", "input_tokens", "output_tokens", "cost_usd", "occurred_at"])
      .execute();

    const rollups = new Map<string, { tenant_id: string; deployment_id: string; model: string; day: string; requests: number; errors: number; input_tokens: number; output_tokens: number; cost: number }>();
    for (const r of rows) {
      const day = r.occurred_at.toISOString().slice(0, 10);
      const k = `${r.tenant_id}|${r.deployment_id}|${r.served_model}|${day}`;
      const acc = rollups.get(k) ?? { tenant_id: r.tenant_id, deployment_id: r.deployment_id, model: r.served_model, day, requests: 0, errors: 0, input_tokens: 0, output_tokens: 0, cost: 0 };
      acc.requests += 1;
      acc.errors += FAILED.has(r.status) ? 1 : 0;
      acc.input_tokens += r.input_tokens;
      acc.output_tokens += r.output_tokens;
      acc.cost += Number(r.cost_usd);
      rollups.set(k, acc);
    }
    // Sorted so concurrent batches lock rollup rows in the same order (no deadlocks).
    for (const a of [...rollups.values()].sort((x, y) => `${x.tenant_id}|${x.deployment_id}|${x.model}|${x.day}`.localeCompare(`${y.tenant_id}|${y.deployment_id}|${y.model}|${y.day}`))) {
      await trx
        .insertInto("usage_daily")
        .values({ tenant_id: a.tenant_id, deployment_id: a.deployment_id, model: a.model, day: a.day, requests: a.requests, errors: a.errors, input_tokens: a.input_tokens, output_tokens: a.output_tokens, cost_usd: a.cost.toFixed(9) })
        .onConflict((oc) =>
          oc.columns(["tenant_id", "deployment_id", "model", "day"]).doUpdateSet({
            requests: sql`usage_daily.requests + excluded.requests`,
            errors: sql`usage_daily.errors + excluded.errors`,
            input_tokens: sql`usage_daily.input_tokens + excluded.input_tokens`,
            output_tokens: sql`usage_daily.output_tokens + excluded.output_tokens`,
            cost_usd: sql`usage_daily.cost_usd + excluded.cost_usd`,
          }),
        )
        .execute();
    }
    const inserted = new Set(rows.map((r) => `${r.job_id}#${r.attempt}`));
    await opts.inTransaction?.(trx, unique.filter((e) => inserted.has(`${e.job_id}#${e.attempt}`)));
    return { inserted: rows.length, duplicates: events.length - rows.length, insertedKeys: rows.map((r) => ({ job_id: r.job_id, attempt: r.attempt })) };
  });
}
