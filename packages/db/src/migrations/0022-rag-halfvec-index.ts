import { sql, type Kysely } from "kysely";

/**
 * The built-in embedder's HNSW index, rebuilt over half-precision vectors with a bigger graph
 * (issue 15). Where `chunks.embedding` is pgvector's `vector`, 0011's index
 * (`embedding::vector(384)`, `vector_cosine_ops`, m 16, ef_construction 64) is replaced by one on
 * `embedding::halfvec(384)` (`halfvec_cosine_ops`, m 24, ef_construction 128) under the name
 * `vectorIndexName(model, "halfvec")` of @switchyard/rag gives. Half-precision elements make the graph
 * half the size (it fits `shared_buffers` at 100 000 chunks) and each distance cheaper, which pays
 * for the larger candidate list that recall needs; `retrieve` re-ranks what the index returns by
 * the full-precision distance. bench/retrieval.ts has the figures. Over many chunks the build
 * takes minutes (about 1.5 min per 100 000 chunks on 2 cores with pgvector on Postgres).
 * PGlite keeps 0011's graph: its WebAssembly build converts half floats in software, which made
 * inserts into a halfvec graph ~5× slower (see `VectorIndexKind` in @switchyard/rag).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const type = await sql<{ type: string }>`
    SELECT format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a
    WHERE a.attrelid = 'chunks'::regclass AND a.attname = 'embedding' AND NOT a.attisdropped
  `.execute(db);
  if (type.rows[0]?.type !== "vector" || (await isPglite(db))) return;
  await sql`
    DROP INDEX IF EXISTS chunks_hnsw_local_hash_384_v1_89a7549b;
    CREATE INDEX IF NOT EXISTS chunks_hvec_local_hash_384_v1_89a7549b ON chunks
    USING hnsw ((embedding::halfvec(384)) halfvec_cosine_ops) WITH (m = 24, ef_construction = 128)
    WHERE embedding_model = 'local-hash-384-v1'
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  const type = await sql<{ type: string }>`
    SELECT format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a
    WHERE a.attrelid = 'chunks'::regclass AND a.attname = 'embedding' AND NOT a.attisdropped
  `.execute(db);
  if (type.rows[0]?.type !== "vector" || (await isPglite(db))) return;
  await sql`
    DROP INDEX IF EXISTS chunks_hvec_local_hash_384_v1_89a7549b;
    CREATE INDEX IF NOT EXISTS chunks_hnsw_local_hash_384_v1_89a7549b ON chunks
    USING hnsw ((embedding::vector(384)) vector_cosine_ops) WITH (m = 16, ef_construction = 64)
    WHERE embedding_model = 'local-hash-384-v1'
  `.execute(db);
}

/** PGlite (Postgres compiled to WebAssembly), as `vectorIndexKind` in @switchyard/rag tells it. */
async function isPglite(db: Kysely<unknown>): Promise<boolean> {
  const r = await sql<{ v: string }>`SELECT version() AS v`.execute(db);
  return /wasm32|PGlite/i.test(r.rows[0]?.v ?? "");
}
