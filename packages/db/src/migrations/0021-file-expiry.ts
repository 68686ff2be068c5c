import { sql, type Kysely } from "kysely";

/**
 * File expiry and the batch's model (issue 18, OpenAI's objects as documented).
 * `files.expires_at`: when a file stops being served and is deleted by the batch runner's
 * housekeeping (null: never; `expires_after` on upload, 30 days by default for `purpose=batch`,
 * `output_expires_after` for a batch's output and error files); the partial index serves the sweep.
 * `batches.model`: the model of the batch's lines (the first valid line's `body.model`, set when
 * the batch is validated). `batches.output_expires_seconds`: the batch's `output_expires_after.seconds`.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE files ADD COLUMN IF NOT EXISTS expires_at timestamptz;
    CREATE INDEX IF NOT EXISTS files_expires_at ON files (expires_at) WHERE expires_at IS NOT NULL;
    ALTER TABLE batches ADD COLUMN IF NOT EXISTS model text;
    ALTER TABLE batches ADD COLUMN IF NOT EXISTS output_expires_seconds integer;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE batches DROP COLUMN IF EXISTS output_expires_seconds;
    ALTER TABLE batches DROP COLUMN IF EXISTS model;
    DROP INDEX IF EXISTS files_expires_at;
    ALTER TABLE files DROP COLUMN IF EXISTS expires_at;
  `.execute(db);
}
