import { sql, type Kysely } from "kysely";

/**
 * `batch_lines.admissions`: how many times a line went back to pending because its job was
 * refused for budget after admission (a worker's re-run the budget could not cover: the job ends
 * `budget_exhausted`). A batch never fails a line for budget: the line waits, pending, with the
 * batch paused, and is admitted again as a new job, under an idempotency key that names the count
 * (0 keeps the key of migration 0016's lines).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE batch_lines ADD COLUMN IF NOT EXISTS admissions integer NOT NULL DEFAULT 0`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE batch_lines DROP COLUMN IF EXISTS admissions`.execute(db);
}
