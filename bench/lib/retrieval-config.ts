/**
 * The settings of `bench/retrieval.ts`: its options as read from the environment (the list is in
 * that file's header), the tenants and collection it fills, the embedder, and the shapes of the
 * rows and per-size facts it prints and writes.
 */
import { createLocalEmbedder, HNSW_EF_SEARCH } from "../../packages/rag/src";

/** A comma-separated list of sizes; set but empty means none. */
const list = (v: string | undefined, d: number[]) =>
  v === undefined
    ? d
    : v
        .split(",")
        .map(Number)
        .filter((n) => n > 0);
export const SIZES = list(process.env.BENCH_SIZES, [10_000, 100_000]);
export const PGLITE_SIZES = list(process.env.BENCH_PGLITE_SIZES, [10_000, 100_000]);
export const PGVECTOR_SIZES = list(process.env.BENCH_PGVECTOR_SIZES, [10_000, 100_000]);
export const QUERIES = Number(process.env.BENCH_QUERIES ?? 200);
export const RECALL_QUERIES = Number(process.env.BENCH_RECALL_QUERIES ?? 50);
export const MODE_SECONDS = Number(process.env.BENCH_MODE_SECONDS ?? 30);
export const SCAN_SECONDS = Number(process.env.BENCH_SCAN_SECONDS ?? 15);
export const EF_SEARCH = Number(process.env.BENCH_EF_SEARCH ?? HNSW_EF_SEARCH);
/** The graph's m and ef_construction when set; unset: the app's for the database's kind (HNSW_GRAPH). */
const optional = (v: string | undefined) => (v === undefined || v === "" ? undefined : Number(v));
export const M = optional(process.env.BENCH_HNSW_M);
export const EF_CONSTRUCTION = optional(process.env.BENCH_HNSW_EF_CONSTRUCTION);
/** ef_search values measured (time and recall) for the vector and hybrid modes. */
export const EF_SWEEP = list(
  process.env.BENCH_EF_SWEEP,
  [...new Set([100, 200, EF_SEARCH, 600])].sort((a, b) => a - b),
);
export const TIMEOUT_SECONDS = Number(process.env.BENCH_TIMEOUT_SECONDS ?? 2400);
export const CORPUS = process.env.BENCH_CORPUS === "random" ? "random" : "topic";
/** PGlite's data directory, kept and reused when set (loading 100 000 chunks into WASM takes minutes); in memory when unset. */
export const PGLITE_DIR = process.env.BENCH_PGLITE_DIR;
export const RECALL_SECONDS = Number(process.env.BENCH_RECALL_SECONDS ?? 180);
export const TOP_K = 10;
export const TENANT = "ten_bench";
export const SMALL = "ten_small";
export const COLLECTION = "kb";
export const CHUNKS_PER_DOC = 10;
export const BATCH = 1000;
export const embedder = createLocalEmbedder();

export interface Row {
  backend: string;
  chunks: number;
  mode: string;
  queries: number;
  p50_ms: number;
  p95_ms: number;
  recall_at_10?: number;
  /** vector mode: answers at least as similar as the exact 10th (ties count). */
  distance_recall_at_10?: number;
  mean_results: number;
}
export interface SizeFacts {
  backend: string;
  chunks: number;
  bulk_chunks_per_s: number;
  hnsw_build_s?: number;
  hnsw?: string;
  ef_search?: number;
  index_document_chunks_per_s: number;
  small_tenant_recall_at_10?: number;
  small_tenant_plan?: string;
  plans?: Record<string, string>;
}
