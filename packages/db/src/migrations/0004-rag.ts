import { sql, type Kysely } from "kysely";

/**
 * Documents and their chunks for retrieval (RAG). Full-text search always: a generated `tsvector`
 * column with a GIN index. Embeddings go into a pgvector `vector` column when the server has the
 * extension (no fixed dimension, so models of different sizes can share the table), else into
 * `real[]`; `@switchyard/rag` reads the column's type from the catalog to pick its query.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const vector = await tryEnableVector(db);
  await sql`
    CREATE TABLE documents (
      tenant_id text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
      collection text NOT NULL,
      id text NOT NULL,
      title text NOT NULL,
      source_url text,
      source_domain text,
      metadata jsonb NOT NULL DEFAULT '{}',
      text text NOT NULL,
      status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','indexing','indexed','failed')),
      error text,
      content_hash text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      indexed_at timestamptz,
      PRIMARY KEY (tenant_id, collection, id)
    );
    CREATE TABLE chunks (
      id text PRIMARY KEY,
      tenant_id text NOT NULL,
      collection text NOT NULL,
      document_id text NOT NULL,
      ordinal integer NOT NULL,
      title text,
      source_url text,
      source_domain text,
      text text NOT NULL,
      tokens integer NOT NULL,
      embedding_model text NOT NULL,
      embedding ${sql.raw(vector ? "vector" : "real[]")},
      tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', coalesce(title, '') || ' ' || text)) STORED,
      created_at timestamptz NOT NULL DEFAULT now(),
      FOREIGN KEY (tenant_id, collection, document_id) REFERENCES documents (tenant_id, collection, id) ON DELETE CASCADE
    );
    CREATE INDEX chunks_scope ON chunks (tenant_id, collection, embedding_model);
    CREATE INDEX chunks_document ON chunks (tenant_id, collection, document_id);
    CREATE INDEX chunks_tsv ON chunks USING gin (tsv);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  // The extension stays: other objects may use it, and dropping it needs more privileges.
  await sql`DROP TABLE chunks, documents`.execute(db);
}

/**
 * `CREATE EXTENSION IF NOT EXISTS vector` when the server offers it. Migrations run inside a
 * transaction, where a failed statement would abort everything after it, so the attempt sits in
 * a savepoint and a refusal (missing files, no privilege) is rolled back to it.
 */
async function tryEnableVector(db: Kysely<unknown>): Promise<boolean> {
  const offered = await sql<{ ok: number }>`SELECT 1 AS ok FROM pg_available_extensions WHERE name = 'vector'`.execute(db);
  if (offered.rows.length === 0) return false;
  const inTx = db.isTransaction;
  if (inTx) await sql`SAVEPOINT rag_vector`.execute(db);
  try {
    await sql`CREATE EXTENSION IF NOT EXISTS vector`.execute(db);
    if (inTx) await sql`RELEASE SAVEPOINT rag_vector`.execute(db);
    return true;
  } catch {
    if (inTx) await sql`ROLLBACK TO SAVEPOINT rag_vector`.execute(db);
    return false;
  }
}
