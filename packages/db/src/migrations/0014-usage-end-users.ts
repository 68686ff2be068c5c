import { sql, type Kysely } from "kysely";

/**
 * Per-end-user usage (issue 16): each usage event keeps the request's end user (`end_user`, the
 * request's `user`; null when it named none), and `usage_daily_end_users` rolls up the events
 * that name one per (tenant, end user, UTC day, deployment), bumped in the same statement as
 * `usage_daily` from the rows actually inserted. `group_by=end_user` reads it; usage without an
 * end user is the tenant's `usage_daily` total less these rows (so events stored before this
 * migration count there). A separate table, not a column of `usage_daily`: a chat deployment can
 * have many thousands of end users a day, which would multiply the rows every report and budget
 * reads.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE usage_events ADD COLUMN IF NOT EXISTS end_user text;
    CREATE TABLE IF NOT EXISTS usage_daily_end_users (
      tenant_id text NOT NULL,
      end_user text NOT NULL,
      day date NOT NULL,
      deployment_id text NOT NULL,
      requests bigint NOT NULL DEFAULT 0,
      errors bigint NOT NULL DEFAULT 0,
      input_tokens bigint NOT NULL DEFAULT 0,
      output_tokens bigint NOT NULL DEFAULT 0,
      cost_usd numeric(18,9) NOT NULL DEFAULT 0,
      PRIMARY KEY (tenant_id, end_user, day, deployment_id)
    );
    CREATE INDEX IF NOT EXISTS usage_daily_end_users_day ON usage_daily_end_users (day);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP TABLE IF EXISTS usage_daily_end_users;
    ALTER TABLE usage_events DROP COLUMN IF EXISTS end_user;
  `.execute(db);
}
