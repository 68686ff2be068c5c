import { sql, type Kysely } from "kysely";

/**
 * Batches and budgets (issue 18). `batches.paused_reason` / `paused_at`: a batch whose next line
 * the deployment's budget (or the tenant's prepaid credits) refused stays `in_progress` but
 * paused, with the reason (`budget_exhausted` | `credits_exhausted`), until a line is admitted
 * again (period rollover, top-up, budget raised); its lines are never failed for budget.
 * `usage_events.batch_id`: the batch whose line a usage row is (priced at the catalog's batch
 * price); null for every other job. `usage_events` is partitioned: a column added to the parent
 * reaches every partition (as 0014 did for `end_user`).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE batches ADD COLUMN IF NOT EXISTS paused_reason text;
    ALTER TABLE batches ADD COLUMN IF NOT EXISTS paused_at timestamptz;
    ALTER TABLE usage_events ADD COLUMN IF NOT EXISTS batch_id text;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE usage_events DROP COLUMN IF EXISTS batch_id;
    ALTER TABLE batches DROP COLUMN IF EXISTS paused_at;
    ALTER TABLE batches DROP COLUMN IF EXISTS paused_reason;
  `.execute(db);
}
