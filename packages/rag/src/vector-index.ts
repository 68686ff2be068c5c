import { createHash } from "node:crypto";
import type { Database } from "@switchyard/db";
import { sql, type Kysely } from "kysely";
import type { Embedder } from "./embedder";
import { embeddingStorage, type EmbeddingStorage } from "./embedding-storage";

/** HNSW graph degree (pgvector's default). */
export const HNSW_M = 16;
/** Candidate list while building the graph (pgvector's default). */
export const HNSW_EF_CONSTRUCTION = 64;
/**
 * Candidate list while searching (`hnsw.ef_search`; pgvector's default is 40); `retrieve` takes
 * at least its candidate count. bench/retrieval.ts prints recall and latency for 40, 100 and 200:
 * on its generated corpus (384 dimensions, 100 000 chunks on PGlite) recall@10 of exact search
 * was 0.66 / 0.74 / 0.84 for vector and 0.74 / 0.80 / 0.89 for hybrid — below the 0.95 aimed at.
 */
export const HNSW_EF_SEARCH = 100;
/** Without pgvector, the most chunks in scope `retrieve` compares exactly in SQL by default (~70 ms of dot products on 2 idle cores). */
export const SQL_VECTOR_SCAN_LIMIT = 2000;
/** pgvector indexes `vector` up to 2 000 dimensions. */
export const HNSW_MAX_DIMENSIONS = 2000;

/**
 * Name of the HNSW index over one embedding model's chunks: readable, unique per model (a hash
 * of the id), within Postgres' 63 characters. Migration 0011 creates the built-in model's under
 * this same name, so {@link ensureVectorIndex} finds it there.
 */
export function vectorIndexName(model: string): string {
  const readable = model
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_|_$/g, "")
    .slice(0, 36);
  return `chunks_hnsw_${readable}_${createHash("sha1").update(model).digest("hex").slice(0, 8)}`;
}

/** How vector search runs on this database for one embedding model; see {@link prepareVectorSearch}. */
export interface VectorSearchSupport {
  storage: EmbeddingStorage;
  /**
   * "hnsw": pgvector with the model's HNSW index (approximate, `hnsw.ef_search` = {@link HNSW_EF_SEARCH}).
   * "exact": pgvector without a usable index (model over {@link HNSW_MAX_DIMENSIONS} dimensions): every chunk in scope is compared.
   * "fulltext-only": no pgvector; `retrieve` ranks by full text alone once a scope holds more than
   * `sqlVectorScanLimit` chunks (below, by an exact dot-product scan in SQL).
   */
  mode: "hnsw" | "exact" | "fulltext-only";
  /** The HNSW index, when there is one. */
  index?: string;
  /** Whether this call built the index (it can take minutes over many chunks). */
  created?: boolean;
  /** Seconds the build took, when this call built it. */
  buildSeconds?: number;
  /** Set when retrieval is degraded: for the app's start-up log, once. */
  warning?: string;
}

/** Options of {@link prepareVectorSearch}. */
export interface PrepareVectorSearchOptions {
  /** Build with `CREATE INDEX CONCURRENTLY` (no write lock; not inside a transaction). Default true. */
  concurrently?: boolean;
  /** `maintenance_work_mem` for the build: a graph that fits builds much faster. Default "512MB". */
  maintenanceWorkMem?: string;
  /** HNSW graph degree of an index built here. Default {@link HNSW_M}. */
  m?: number;
  /** HNSW build candidate list of an index built here. Default {@link HNSW_EF_CONSTRUCTION}. */
  efConstruction?: number;
}

/**
 * Makes vector search for `embedder`'s model as fast as this database allows and says how it
 * will run. With pgvector: creates (if missing) a partial HNSW index over the model's chunks,
 * `((embedding::vector(dims)) vector_cosine_ops) WHERE embedding_model = '<model>'` — the column
 * has no fixed dimension, so each model gets its own index, which `retrieve` uses by ordering by
 * the same expression. Without pgvector: nothing to build, and a warning that retrieval is full
 * text only (an exact scan in SQL costs ~35 µs per chunk in scope: seconds at 100 000).
 * Apps that serve retrieval call it once at start and log the warning.
 */
export async function prepareVectorSearch(
  db: Kysely<Database>,
  embedder: Pick<Embedder, "model" | "dimensions">,
  opts: PrepareVectorSearchOptions = {},
): Promise<VectorSearchSupport> {
  const storage = await embeddingStorage(db);
  if (storage === "real[]") {
    return {
      storage,
      mode: "fulltext-only",
      warning:
        `PostgreSQL has no pgvector: a collection of more than ${SQL_VECTOR_SCAN_LIMIT} chunks is searched by full text only (hybrid answers marked degraded; smaller ones by an exact scan in SQL). ` +
        "Install pgvector before the migrations run (the compose stack's postgres image has it) for vector and hybrid search.",
    };
  }
  const dims = Math.floor(embedder.dimensions);
  if (!(dims >= 1 && dims <= HNSW_MAX_DIMENSIONS)) {
    return {
      storage,
      mode: "exact",
      warning: `${embedder.model}: ${dims} dimensions is more than pgvector's HNSW index takes (${HNSW_MAX_DIMENSIONS}); vector search compares every chunk in scope`,
    };
  }
  const name = vectorIndexName(embedder.model);
  const existing = await sql<{ ok: number }>`SELECT 1 AS ok FROM pg_class WHERE relname = ${name} AND relkind = 'i'`.execute(db);
  if (existing.rows.length > 0) return { storage, mode: "hnsw", index: name, created: false };
  const m = Math.floor(opts.m ?? HNSW_M);
  const efConstruction = Math.floor(opts.efConstruction ?? HNSW_EF_CONSTRUCTION);
  // pgvector's bounds; checked here because the values are spliced into the statement.
  if (!(m >= 2 && m <= 100)) throw new RangeError(`HNSW m must be 2-100, got ${opts.m}`);
  if (!(efConstruction >= 4 && efConstruction <= 1000 && efConstruction >= 2 * m))
    throw new RangeError(`HNSW ef_construction must be 4-1000 and at least 2 × m, got ${opts.efConstruction}`);
  const t0 = performance.now();
  await db.connection().execute(async (conn) => {
    await sql`SELECT set_config('maintenance_work_mem', ${opts.maintenanceWorkMem ?? "512MB"}, false)`.execute(conn);
    try {
      await sql`
        CREATE INDEX ${sql.raw(opts.concurrently === false ? "" : "CONCURRENTLY")} IF NOT EXISTS ${sql.id(name)} ON chunks
        USING hnsw ((embedding::vector(${sql.raw(String(dims))})) vector_cosine_ops)
        WITH (m = ${sql.raw(String(m))}, ef_construction = ${sql.raw(String(efConstruction))})
        WHERE embedding_model = ${sql.lit(embedder.model)}
      `.execute(conn);
    } finally {
      await sql`RESET maintenance_work_mem`.execute(conn);
    }
  });
  return { storage, mode: "hnsw", index: name, created: true, buildSeconds: (performance.now() - t0) / 1000 };
}
