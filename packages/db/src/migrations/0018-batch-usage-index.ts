import { sql, type Kysely } from "kysely";

/**
 * A batch's usage (`usage` on the batch object, issue 18) is the sum of its lines' ledger rows
 * (`usage_events.batch_id`, migration 0017): a partial index holds only batch rows, so the read
 * costs nothing for the interactive rows that make up most of the ledger. Created on the
 * partitioned parent, it reaches every partition, and the ones created later.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX IF NOT EXISTS usage_events_batch ON usage_events (batch_id) WHERE batch_id IS NOT NULL`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS usage_events_batch`.execute(db);
}
