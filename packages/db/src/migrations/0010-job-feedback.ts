import { sql, type Kysely } from "kysely";

/**
 * Feedback on jobs (`POST /v1/jobs/{id}/feedback`, the `feedbackEnabled` feature): one row per
 * job, the latest rating (1–5) and comment replacing the earlier one. Read by
 * `GET /v1/analytics` (acceptance: the share of rated jobs rated 4 or 5). No foreign key to `jobs`:
 * a finished job reaches that table a moment after it ends, and feedback may come first.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE job_feedback (
      job_id text PRIMARY KEY,
      tenant_id text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
      deployment_id text NOT NULL,
      api_key_id text,
      rating smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
      comment text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX job_feedback_tenant ON job_feedback (tenant_id, updated_at);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE job_feedback`.execute(db);
}
