import { sql, type Kysely } from "kysely";

/**
 * Responses (`/v1/responses`): one row per stored response, mapped 1:1 onto its job (`job_id`).
 * It keeps what the job does not: the request parameters a Response object echoes, the input
 * items (`input_items`, and what `previous_response_id` prepends) and, once the job ended, the
 * final Response object as first rendered, so every later read (after Redis retention too) is
 * the same object. Rows live as long as jobs do; `DELETE /v1/responses/{id}` removes the row.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE responses (
      id text PRIMARY KEY,
      job_id text NOT NULL UNIQUE,
      tenant_id text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
      api_key_id text,
      background boolean NOT NULL,
      store boolean NOT NULL,
      previous_response_id text,
      params jsonb NOT NULL,
      input_items jsonb NOT NULL,
      final jsonb,
      created_at timestamptz NOT NULL
    );
    CREATE INDEX responses_tenant ON responses (tenant_id, id);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE responses`.execute(db);
}
