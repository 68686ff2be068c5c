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
/** The built-in model's two graphs: 0011's over `vector`, this migration's over `halfvec`. */
const GRAPHS = {
  vector: {
    name: "chunks_hnsw_local_hash_384_v1_89a7549b",
    create: sql`CREATE INDEX IF NOT EXISTS chunks_hnsw_local_hash_384_v1_89a7549b ON chunks
      USING hnsw ((embedding::vector(384)) vector_cosine_ops) WITH (m = 16, ef_construction = 64)
      WHERE embedding_model = 'local-hash-384-v1'`,
  },
  halfvec: {
    name: "chunks_hvec_local_hash_384_v1_89a7549b",
    create: sql`CREATE INDEX IF NOT EXISTS chunks_hvec_local_hash_384_v1_89a7549b ON chunks
      USING hnsw ((embedding::halfvec(384)) halfvec_cosine_ops) WITH (m = 24, ef_construction = 128)
      WHERE embedding_model = 'local-hash-384-v1'`,
  },
};

export const up = (db: Kysely<unknown>) => replaceGraph(db, "vector", "halfvec");
export const down = (db: Kysely<unknown>) => replaceGraph(db, "halfvec", "vector");

/** Drops one graph of the built-in model and creates the other, where pgvector is on PostgreSQL. */
async function replaceGraph(db: Kysely<unknown>, from: keyof typeof GRAPHS, to: keyof typeof GRAPHS): Promise<void> {
  if (!(await pgvectorOnPostgres(db))) return;
  await sql`DROP INDEX IF EXISTS ${sql.id(GRAPHS[from].name)}`.execute(db);
  await GRAPHS[to].create.execute(db);
}

/**
 * Whether `chunks.embedding` is pgvector's `vector` (0004 enabled the extension), the extension
 * has `halfvec` (0.7.0 and later) and the server is not PGlite (Postgres compiled to WebAssembly):
 * the same test as `vectorIndexKind` in @switchyard/rag.
 */
async function pgvectorOnPostgres(db: Kysely<unknown>): Promise<boolean> {
  const r = await sql<{ type: string | null; version: string; ext: string | null }>`
    SELECT (SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
            WHERE a.attrelid = 'chunks'::regclass AND a.attname = 'embedding' AND NOT a.attisdropped) AS type,
           version() AS version,
           (SELECT extversion FROM pg_extension WHERE extname = 'vector') AS ext
  `.execute(db);
  const row = r.rows[0];
  const [major = 0, minor = 0] = (row?.ext ?? "0.0").split(".").map(Number);
  return row?.type === "vector" && !/wasm32|PGlite/i.test(row.version) && (major > 0 || minor >= 7);
}
