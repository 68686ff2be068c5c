import { createHash } from "node:crypto";
import type { Database } from "@switchyard/db";
import { sql, type Kysely } from "kysely";
import type { Embedder } from "./embedder";
import { embeddingStorage, type EmbeddingStorage } from "./embedding-storage";

/**
 * What the HNSW graph of a model is built over, chosen per database server:
 * - "halfvec": half-precision copies of the vectors (`embedding::halfvec(dims)`,
 *   `halfvec_cosine_ops`), on PostgreSQL. The graph is half the size (at 100 000 chunks of 384
 *   dimensions it fits 128 MB of `shared_buffers`) and each distance is cheaper, which pays for the
 *   bigger graph and candidate list that recall needs; `retrieve` re-ranks what the graph returns by
 *   the full-precision distance.
 * - "vector": the vectors themselves (`embedding::vector(dims)`, `vector_cosine_ops`), where
 *   pgvector is older than 0.7.0 (no `halfvec`) and on PGlite, whose WebAssembly build converts
 *   half floats in software: there an insert of a 384-dimension
 *   vector into a halfvec graph (m 16, ef_construction 64, 800 rows) took 17.6 ms against 3.6 ms
 *   into a vector one, and a query at `ef_search` 400 4.0 against 3.0 ms.
 */
export type VectorIndexKind = "halfvec" | "vector";

/**
 * The graph built per kind (`m`, `ef_construction`) and the most dimensions pgvector's HNSW takes.
 * bench/retrieval.ts, 100 000 chunks of 384 dimensions, Postgres 15 with pgvector 0.8.6 on 2
 * cores: vector recall@10 of exact search 0.61 / 0.76 / 0.91 at `ef_search` 40 / 100 / 400 with
 * the old graph (`vector`, m 16, ef_construction 64), 0.91 / 0.95 / 0.98 at 200 / 400 / 600 with
 * the halfvec one (m 24, ef_construction 128; p95 9 / 15 / 17 ms).
 */
export const HNSW_GRAPH: Record<VectorIndexKind, { m: number; efConstruction: number; maxDimensions: number }> = {
  halfvec: { m: 24, efConstruction: 128, maxDimensions: 4000 },
  vector: { m: 16, efConstruction: 64, maxDimensions: 2000 },
};
/**
 * Candidate list while searching (`hnsw.ef_search`; pgvector's default is 40); `retrieve` takes
 * at least its candidate count. See {@link HNSW_GRAPH} for the recall it buys.
 */
export const HNSW_EF_SEARCH = 400;
/** Without pgvector, the most chunks in scope `retrieve` compares exactly in SQL by default (~70 ms of dot products on 2 idle cores). */
export const SQL_VECTOR_SCAN_LIMIT = 2000;

const kinds = new WeakMap<object, Promise<VectorIndexKind>>();

/**
 * The graph kind for this database ({@link VectorIndexKind}): "vector" on PGlite (WebAssembly) and
 * where pgvector is older than 0.7.0 (no `halfvec`), "halfvec" elsewhere. Cached per kysely instance.
 */
export function vectorIndexKind(db: Kysely<Database>): Promise<VectorIndexKind> {
  let found = kinds.get(db);
  if (!found) {
    found = sql<{ v: string; ext: string | null }>`SELECT version() AS v, (SELECT extversion FROM pg_extension WHERE extname = 'vector') AS ext`
      .execute(db)
      .then((r) => graphKindFor(r.rows[0]?.v ?? "", r.rows[0]?.ext ?? null));
    found.catch(() => kinds.delete(db));
    kinds.set(db, found);
  }
  return found;
}

/** {@link vectorIndexKind} from the server's `version()` and pgvector's `extversion` (null: not installed). */
export function graphKindFor(serverVersion: string, pgvectorVersion: string | null): VectorIndexKind {
  const [major = 0, minor = 0] = (pgvectorVersion ?? "0.0").split(".").map(Number);
  // halfvec came with pgvector 0.7.0; older servers keep the graph over `vector`.
  return /wasm32|PGlite/i.test(serverVersion) || (major === 0 && minor < 7) ? "vector" : "halfvec";
}

/**
 * Name of the HNSW index over one embedding model's chunks: readable, unique per model (a hash
 * of the id) and per {@link VectorIndexKind}, within Postgres' 63 characters. Migrations 0011
 * ("vector") and 0022 ("halfvec") create the built-in model's under these same names, so
 * {@link prepareVectorSearch} finds it there.
 */
export function vectorIndexName(model: string, kind: VectorIndexKind): string {
  const readable = model
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_|_$/g, "")
    .slice(0, 36);
  return `${kind === "halfvec" ? "chunks_hvec_" : "chunks_hnsw_"}${readable}_${createHash("sha1").update(model).digest("hex").slice(0, 8)}`;
}

/** How vector search runs on this database for one embedding model; see {@link prepareVectorSearch}. */
export interface VectorSearchSupport {
  storage: EmbeddingStorage;
  /**
   * "hnsw": pgvector with the model's HNSW index (approximate, `hnsw.ef_search` = {@link HNSW_EF_SEARCH}, re-ranked at full precision).
   * "exact": pgvector without a usable index (model over {@link HNSW_GRAPH}'s `maxDimensions`): every chunk in scope is compared.
   * "fulltext-only": no pgvector; `retrieve` ranks by full text alone once a scope holds more than
   * `sqlVectorScanLimit` chunks (below, by an exact dot-product scan in SQL).
   */
  mode: "hnsw" | "exact" | "fulltext-only";
  /** The HNSW index, when there is one. */
  index?: string;
  /** What the graph is built over, when there is one. */
  kind?: VectorIndexKind;
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
  /** HNSW graph degree of an index built here. Default: {@link HNSW_GRAPH}'s for the kind. */
  m?: number;
  /** HNSW build candidate list of an index built here. Default: {@link HNSW_GRAPH}'s for the kind. */
  efConstruction?: number;
}

/**
 * Makes vector search for `embedder`'s model as fast as this database allows and says how it
 * will run. With pgvector: creates (if missing) a partial HNSW index over the model's chunks,
 * `((embedding::halfvec(dims)) halfvec_cosine_ops) WHERE embedding_model = '<model>'` on
 * PostgreSQL, `vector`/`vector_cosine_ops` on PGlite ({@link VectorIndexKind}) — the column has no
 * fixed dimension, so each model gets its own index, which `retrieve` uses by ordering by the same
 * expression. Once a halfvec graph is built, the model's graph over `vector` that earlier versions
 * built is dropped. Without pgvector: nothing to build, and a warning that retrieval is full text
 * only (an exact scan in SQL costs ~35 µs per chunk in scope: seconds at 100 000). Apps that serve
 * retrieval call it once at start and log the warning.
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
  const kind = await vectorIndexKind(db);
  const graph = HNSW_GRAPH[kind];
  if (!(dims >= 1 && dims <= graph.maxDimensions)) {
    return {
      storage,
      mode: "exact",
      warning: `${embedder.model}: ${dims} dimensions is more than pgvector's HNSW index takes (${graph.maxDimensions} as ${kind}); vector search compares every chunk in scope`,
    };
  }
  const name = vectorIndexName(embedder.model, kind);
  const concurrently = sql.raw(opts.concurrently === false ? "" : "CONCURRENTLY");
  const existing = await sql<{ valid: boolean }>`
    SELECT i.indisvalid AS valid FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid WHERE c.relname = ${name} AND c.relkind = 'i'
  `.execute(db);
  if (existing.rows[0]?.valid === true) return { storage, mode: "hnsw", index: name, kind, created: false };
  const m = Math.floor(opts.m ?? graph.m);
  const efConstruction = Math.floor(opts.efConstruction ?? graph.efConstruction);
  // pgvector's bounds; checked here because the values are spliced into the statement.
  if (!(m >= 2 && m <= 100)) throw new RangeError(`HNSW m must be 2-100, got ${opts.m}`);
  if (!(efConstruction >= 4 && efConstruction <= 1000 && efConstruction >= 2 * m))
    throw new RangeError(`HNSW ef_construction must be 4-1000 and at least 2 × m, got ${opts.efConstruction}`);
  // A build that was interrupted (CREATE INDEX CONCURRENTLY killed) leaves an index that no query
  // can use and that IF NOT EXISTS would keep: it is dropped and built again.
  if (existing.rows[0]) await sql`DROP INDEX ${concurrently} IF EXISTS ${sql.id(name)}`.execute(db);
  const t0 = performance.now();
  await db.connection().execute(async (conn) => {
    await sql`SELECT set_config('maintenance_work_mem', ${opts.maintenanceWorkMem ?? "512MB"}, false)`.execute(conn);
    try {
      await sql`
        CREATE INDEX ${concurrently} IF NOT EXISTS ${sql.id(name)} ON chunks
        USING hnsw ((embedding::${sql.raw(`${kind}(${dims})`)}) ${sql.raw(`${kind}_cosine_ops`)})
        WITH (m = ${sql.raw(String(m))}, ef_construction = ${sql.raw(String(efConstruction))})
        WHERE embedding_model = ${sql.lit(embedder.model)}
      `.execute(conn);
    } finally {
      await sql`RESET maintenance_work_mem`.execute(conn);
    }
  });
  const buildSeconds = (performance.now() - t0) / 1000;
  // The model's graph over `vector` from before migration 0022: no query uses it any more.
  if (kind === "halfvec") await sql`DROP INDEX ${concurrently} IF EXISTS ${sql.id(vectorIndexName(embedder.model, "vector"))}`.execute(db);
  return { storage, mode: "hnsw", index: name, kind, created: true, buildSeconds };
}
