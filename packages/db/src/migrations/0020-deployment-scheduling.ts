import { sql, type Kysely } from "kysely";

/**
 * A deployment's scheduling settings (issue 18, fair scheduling across tenants):
 * `queue_weight` its share in the weighted deficit round robin (1–100, default 1);
 * `max_concurrent_jobs` the most of its jobs running at once across all workers (null: unlimited);
 * `max_queue_ms` the longest a job of it may wait before a worker begins it (null: none; a
 * request's own `max_queue_ms` applies too, the lower wins). The CHECK constraints repeat the
 * bounds the admin API validates (contracts' deployments.ts), so a row written by hand cannot
 * hold a value the scheduler was never meant to see. Existing rows take the defaults.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE deployments ADD COLUMN IF NOT EXISTS queue_weight integer NOT NULL DEFAULT 1
      CONSTRAINT deployments_queue_weight_range CHECK (queue_weight BETWEEN 1 AND 100);
    ALTER TABLE deployments ADD COLUMN IF NOT EXISTS max_concurrent_jobs integer
      CONSTRAINT deployments_max_concurrent_jobs_range CHECK (max_concurrent_jobs BETWEEN 1 AND 100000);
    ALTER TABLE deployments ADD COLUMN IF NOT EXISTS max_queue_ms integer
      CONSTRAINT deployments_max_queue_ms_range CHECK (max_queue_ms BETWEEN 1 AND 86400000);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE deployments DROP COLUMN IF EXISTS max_queue_ms;
    ALTER TABLE deployments DROP COLUMN IF EXISTS max_concurrent_jobs;
    ALTER TABLE deployments DROP COLUMN IF EXISTS queue_weight;
  `.execute(db);
}
