/**
 * Retrieval at 10 000 and 100 000 chunks in one tenant's collection (`retrieve()` of
 * @switchyard/rag: redaction, query embedding, SQL, fusion), on the two storages the product has:
 *
 *   - pglite: in-process PGlite with pgvector (the embedded default). Vectors go through the
 *     model's HNSW index over `vector` (migration 0011 / prepareVectorSearch; VectorIndexKind in
 *     @switchyard/rag says why not halfvec there); the exact scan (`exact: true`,
 *     what the baseline ran) is measured on the recall queries as ground truth and baseline.
 *   - postgres: a fresh database on the machine's Postgres without pgvector (migrated by a role
 *     that may not enable it, so also where the server has it). The default mode is full text
 *     only (hybrid marked degraded); the old SQL dot-product scan (`sqlVectorFallback`) is
 *     measured for a bounded time as the baseline.
 *   - postgres+pgvector: a fresh database on the same server with pgvector enabled, measured like
 *     PGlite (HNSW over `halfvec`, migration 0022, re-ranked at full precision; exact scan as
 *     ground truth). Only where the server has the extension (the
 *     compose stack's image; not CI): otherwise the run says it is skipped.
 *
 * Printed per backend and size: bulk load chunks/s (multi-row inserts, no HNSW), HNSW build time
 * and `hnsw.ef_search`, indexing throughput through `indexDocument` (chunk, embed, insert with
 * every index maintained), per-mode p50/p95 (top_k 10, one query at a time, after 5 warm-up
 * queries), recall@10 of the HNSW vector and hybrid answers against the exact ones (ids), the
 * same for a small tenant (1 % of the chunks, in the same index), and EXPLAIN ANALYZE of both
 * statements of one hybrid query. Writes bench/out/retrieval.json.
 *
 * Chunks are ~70 words: 12 from the vocabulary of their document's topic (61 topic documents of
 * the test corpus, documents take them in turn) and 58 filler words, embedded by the built-in
 * 384-dimensional embedder. BENCH_CORPUS=random draws the 12 words from every topic instead
 * (no document is about anything: the worst case for any ANN index).
 *
 *   npx tsx bench/retrieval.ts
 *   BENCH_SIZES=10000,100000 BENCH_PGLITE_SIZES=10000,100000 BENCH_PGVECTOR_SIZES=10000,100000 BENCH_QUERIES=200 BENCH_RECALL_QUERIES=50
 *   BENCH_MODE_SECONDS=30 BENCH_SCAN_SECONDS=15 BENCH_EF_SEARCH=400 BENCH_EF_SWEEP=100,200,400,600 BENCH_TIMEOUT_SECONDS=2400
 *   BENCH_PGLITE_DIR=/tmp/pglite-bench (keep PGlite's data and reuse it) BENCH_RECALL_SECONDS=180
 *   BENCH_HNSW_M=24 BENCH_HNSW_EF_CONSTRUCTION=128 (the graph built for the measurement; defaults: the app's for the kind, HNSW_GRAPH)
 *   (an empty list skips a backend)
 * Needs Postgres (TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { btree_gin } from "@electric-sql/pglite/contrib/btree_gin";
import { vector } from "@electric-sql/pglite-pgvector";
import { migrateToLatest } from "@switchyard/db";
import { PGVECTOR, postgresBackend, postgresPgvectorBackend } from "../packages/rag/src/__tests__/backends";
import { pgliteKysely } from "../packages/rag/src/__tests__/pglite-dialect";
import {
  CORPUS,
  MODE_SECONDS,
  PGLITE_DIR,
  PGLITE_SIZES,
  PGVECTOR_SIZES,
  QUERIES,
  RECALL_QUERIES,
  SIZES,
  TIMEOUT_SECONDS,
  TOP_K,
  type Row,
  type SizeFacts,
} from "./lib/retrieval-config";
import { run } from "./lib/retrieval-run";
import { table } from "./lib/stats";

async function main(): Promise<void> {
  const started = Date.now();
  const rows: Row[] = [];
  const facts: SizeFacts[] = [];
  console.log(`corpus: ${CORPUS}; top_k ${TOP_K}; ${QUERIES} queries per mode (at most ${MODE_SECONDS} s), recall over ${RECALL_QUERIES}`);
  if (PGLITE_SIZES.length > 0) {
    const db = pgliteKysely(await PGlite.create({ dataDir: PGLITE_DIR, extensions: { vector, btree_gin } }));
    try {
      await migrateToLatest(db);
      await run(db, "pglite", PGLITE_SIZES, rows, facts);
    } finally {
      await db.destroy();
    }
  }
  if (SIZES.length > 0) {
    const pg = await postgresBackend();
    try {
      await run(pg.db, "postgres", SIZES, rows, facts);
    } finally {
      await pg.close();
    }
  }
  if (PGVECTOR_SIZES.length > 0 && !PGVECTOR.available) console.log(`postgres+pgvector: skipped (${PGVECTOR.reason})`);
  else if (PGVECTOR_SIZES.length > 0) {
    const pg = await postgresPgvectorBackend();
    try {
      console.log(`postgres+pgvector: ${PGVECTOR.reason}`);
      await run(pg.db, pg.name, PGVECTOR_SIZES, rows, facts);
    } finally {
      await pg.close();
    }
  }
  console.log(`\nretrieval latency, top_k ${TOP_K}, one query at a time, corpus ${CORPUS} (${((Date.now() - started) / 1000).toFixed(0)} s in all)`);
  console.log(
    table(
      ["backend", "chunks", "mode", "queries", "p50 ms", "p95 ms", "recall@10", "distance recall@10"],
      rows.map((r) => [r.backend, r.chunks, r.mode, r.queries, r.p50_ms, r.p95_ms, r.recall_at_10 ?? "", r.distance_recall_at_10 ?? ""]),
    ),
  );
  console.log("");
  console.log(
    table(
      ["backend", "chunks", "bulk chunks/s", "HNSW", "HNSW build s", "ef_search", "indexDocument chunks/s", "small-tenant recall@10"],
      facts.map((f) => [
        f.backend,
        f.chunks,
        f.bulk_chunks_per_s,
        f.hnsw ?? "",
        f.hnsw_build_s ?? "",
        f.ef_search ?? "",
        f.index_document_chunks_per_s,
        f.small_tenant_recall_at_10 ?? "",
      ]),
    ),
  );
  for (const f of facts.filter((x) => x.chunks === Math.max(...facts.filter((y) => y.backend === x.backend).map((y) => y.chunks)))) {
    for (const [side, plan] of Object.entries(f.plans ?? {}))
      console.log(`\nEXPLAIN ANALYZE, ${f.backend} ${f.chunks}, hybrid "sourdough", ${side} side:\n${plan.replace(/'\[[^\]]*\]'/g, "'[…]'")}`);
  }
  const outDir = path.join(__dirname, "out");
  mkdirSync(outDir, { recursive: true });
  writeFileSync(
    path.join(outDir, "retrieval.json"),
    JSON.stringify({ corpus: CORPUS, top_k: TOP_K, queries_per_mode: QUERIES, mode_seconds: MODE_SECONDS, rows, facts }, null, 2),
  );
}

const timer = setTimeout(() => {
  console.error(`bench/retrieval: gave up after ${TIMEOUT_SECONDS} s`);
  process.exit(2);
}, TIMEOUT_SECONDS * 1000);
timer.unref();

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(err);
    process.exit(1);
  },
);
