import { sql, type Kysely } from "kysely";

/**
 * Batches (`/v1/batches`, issue 18). `batches`: one row per batch, its OpenAI status and times,
 * the key and deployment its lines are admitted as, and the runner's lease (`lease_owner`,
 * `lease_until`: one runner works a batch at a time; an expired lease is taken over). Its
 * `request_counts` are kept on the row, recounted from the lines at each step.
 * `batch_lines`: every line of the input file, written once when the batch is validated, with its
 * state (`pending` → `submitted` (its job's id kept) → `done` | `failed`; `invalid` from the start;
 * `canceled`, `expired`) and, once settled, the output or error line as it will be written (`result`).
 * A line is admitted under an idempotency key derived from (batch, custom_id), so a runner that
 * dies between admitting a line and recording its job admits it again only as a replay.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE batches (
      id text PRIMARY KEY,
      tenant_id text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
      deployment_id text NOT NULL,
      api_key_id text NOT NULL,
      endpoint text NOT NULL,
      input_file_id text NOT NULL,
      completion_window text NOT NULL,
      metadata jsonb,
      status text NOT NULL,
      errors jsonb,
      output_file_id text,
      error_file_id text,
      total integer NOT NULL DEFAULT 0,
      completed integer NOT NULL DEFAULT 0,
      failed integer NOT NULL DEFAULT 0,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      in_progress_at timestamptz,
      finalizing_at timestamptz,
      completed_at timestamptz,
      failed_at timestamptz,
      expired_at timestamptz,
      cancelling_at timestamptz,
      cancelled_at timestamptz,
      lease_owner text,
      lease_until timestamptz
    );
    CREATE INDEX batches_tenant_id ON batches (tenant_id, id);
    CREATE INDEX batches_active ON batches (created_at) WHERE status IN ('validating', 'in_progress', 'finalizing', 'cancelling');
    CREATE TABLE batch_lines (
      batch_id text NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
      line integer NOT NULL,
      custom_id text,
      request jsonb,
      state text NOT NULL,
      job_id text,
      result jsonb,
      PRIMARY KEY (batch_id, line)
    );
    CREATE INDEX batch_lines_state ON batch_lines (batch_id, state, line);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP TABLE IF EXISTS batch_lines;
    DROP TABLE IF EXISTS batches;
  `.execute(db);
}
