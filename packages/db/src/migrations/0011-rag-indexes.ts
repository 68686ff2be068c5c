import { sql, type Kysely } from "kysely";

/**
 * Indexes that keep retrieval sub-linear in the chunks of a collection (issue 15):
 *
 * - Full text: where the server has `btree_gin`, one GIN index over (tenant_id, collection, tsv)
 *   replaces the GIN over tsv alone, so the tenant and collection are conditions of the index
 *   scan itself, not a filter over every tenant's matches. Without `btree_gin` the old index stays.
 * - Vectors: where `chunks.embedding` is pgvector's `vector`, a partial HNSW index
 *   (`vector_cosine_ops`) over the built-in embedder's chunks. The column has no fixed dimension,
 *   so the index is on `embedding::vector(384)` for `embedding_model = 'local-hash-384-v1'`;
 *   other models get theirs from `prepareVectorSearch` in @switchyard/rag at start, under the
 *   name `vectorIndexName(model)` gives (the same name as here for the built-in model).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  if (await tryExtension(db, "btree_gin")) {
    await sql`
      CREATE INDEX chunks_scope_tsv ON chunks USING gin (tenant_id, collection, tsv);
      DROP INDEX chunks_tsv;
    `.execute(db);
  }
  const type = await sql<{ type: string }>`
    SELECT format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a
    WHERE a.attrelid = 'chunks'::regclass AND a.attname = 'embedding' AND NOT a.attisdropped
  `.execute(db);
  if (type.rows[0]?.type === "vector") {
    await sql`
      CREATE INDEX chunks_hnsw_local_hash_384_v1_89a7549b ON chunks
      USING hnsw ((embedding::vector(384)) vector_cosine_ops) WITH (m = 16, ef_construction = 64)
      WHERE embedding_model = 'local-hash-384-v1'
    `.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS chunks_hnsw_local_hash_384_v1_89a7549b`.execute(db);
  await sql`CREATE INDEX IF NOT EXISTS chunks_tsv ON chunks USING gin (tsv)`.execute(db);
  await sql`DROP INDEX IF EXISTS chunks_scope_tsv`.execute(db);
}

/** `CREATE EXTENSION IF NOT EXISTS <name>` in a savepoint, as 0004 does for vector: a refusal is rolled back to it. */
async function tryExtension(db: Kysely<unknown>, name: string): Promise<boolean> {
  const offered = await sql<{ ok: number }>`SELECT 1 AS ok FROM pg_available_extensions WHERE name = ${name}`.execute(db);
  if (offered.rows.length === 0) return false;
  const inTx = db.isTransaction;
  if (inTx) await sql`SAVEPOINT rag_extension`.execute(db);
  try {
    await sql`CREATE EXTENSION IF NOT EXISTS ${sql.id(name)}`.execute(db);
    if (inTx) await sql`RELEASE SAVEPOINT rag_extension`.execute(db);
    return true;
  } catch {
    if (inTx) await sql`ROLLBACK TO SAVEPOINT rag_extension`.execute(db);
    return false;
  }
}
