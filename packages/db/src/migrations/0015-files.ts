import { sql, type Kysely } from "kysely";

/**
 * Files (`/v1/files`, issue 18): one `files` row per file, tenant-scoped, holding what OpenAI's
 * file object shows (`bytes`, `filename`, `purpose`, `status`, `created_at`) and where the bytes
 * live (`storage`). The embedded default keeps the bytes in Postgres, in `file_chunks` rows of at
 * most 1 MiB (bytea), written after the `files` row (status `uploaded`) and before the row turns
 * `processed`: a file is readable only once all its chunks are there, so an upload cut midway is
 * never served half. Another store (S3-compatible) keeps its bytes elsewhere and no chunks here.
 * Files are listed newest first by id (ids are time-sortable), hence the (tenant, id) index.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE files (
      id text PRIMARY KEY,
      tenant_id text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
      api_key_id text,
      purpose text NOT NULL,
      filename text NOT NULL,
      bytes bigint NOT NULL,
      line_count integer,
      status text NOT NULL,
      storage text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX files_tenant_id ON files (tenant_id, id);
    CREATE TABLE file_chunks (
      file_id text NOT NULL REFERENCES files(id) ON DELETE CASCADE,
      seq integer NOT NULL,
      data bytea NOT NULL,
      PRIMARY KEY (file_id, seq)
    );
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP TABLE IF EXISTS file_chunks;
    DROP TABLE IF EXISTS files;
  `.execute(db);
}
