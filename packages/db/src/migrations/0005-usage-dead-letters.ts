import { sql, type Kysely } from "kysely";

/**
 * Usage events the ledger could not store (a value Postgres refuses, a number past its column, a
 * payload that does not parse), set aside so they stop failing their batch and can be replayed.
 *
 * `event` is the queue payload exactly as received, as JSON text (`JSON.stringify`). That text is
 * always storable: JSON escapes U+0000 and every other control character (`\u0000`) and lone
 * surrogates, so nothing is lost, whereas a `jsonb` column would refuse the `\u0000` that made the
 * event poison in the first place. One row per (job, attempt): a re-delivered poison event finds
 * its row and changes nothing.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE usage_dead_letters (
      id bigserial PRIMARY KEY,
      job_id text NOT NULL,
      attempt integer NOT NULL,
      tenant_id text,
      queue_job_id text,
      reason text NOT NULL CHECK (reason IN ('data_error', 'invalid_payload')),
      event text NOT NULL,
      error text NOT NULL,
      sqlstate text,
      failures integer NOT NULL DEFAULT 1,
      created_at timestamptz NOT NULL DEFAULT now(),
      replayed_at timestamptz,
      UNIQUE (job_id, attempt)
    );
    CREATE INDEX usage_dead_letters_open ON usage_dead_letters (id) WHERE replayed_at IS NULL;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE usage_dead_letters`.execute(db);
}
