/**
 * Retrieval at 10 000 and 100 000 chunks in one tenant's collection (`retrieve()` of
 * @switchyard/rag: redaction, query embedding, SQL, fusion), on the two storages the product has:
 *
 *   - pglite: in-process PGlite with pgvector (the embedded default). Vectors go through the
 *     model's HNSW index (migration 0011 / prepareVectorSearch); the exact scan (`exact: true`,
 *     what the baseline ran) is measured on the recall queries as ground truth and baseline.
 *   - postgres: a fresh database on the machine's Postgres without pgvector (migrated by a role
 *     that may not enable it, so also where the server has it). The default mode is full text
 *     only (hybrid marked degraded); the old SQL dot-product scan (`sqlVectorFallback`) is
 *     measured for a bounded time as the baseline.
 *   - postgres+pgvector: a fresh database on the same server with pgvector enabled, measured like
 *     PGlite (HNSW, exact scan as ground truth). Only where the server has the extension (the
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
 *   BENCH_MODE_SECONDS=30 BENCH_SCAN_SECONDS=15 BENCH_EF_SEARCH=100 BENCH_EF_SWEEP=40,100,200 BENCH_TIMEOUT_SECONDS=2400
 *   BENCH_PGLITE_DIR=/tmp/pglite-bench (keep PGlite's data and reuse it) BENCH_RECALL_SECONDS=180
 *   BENCH_HNSW_M=16 BENCH_HNSW_EF_CONSTRUCTION=64 (the graph built for the measurement; defaults: the app's)
 *   (an empty list skips a backend)
 * Needs Postgres (TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { btree_gin } from "@electric-sql/pglite/contrib/btree_gin";
import { vector } from "@electric-sql/pglite-pgvector";
import { migrateToLatest, type Database } from "@switchyard/db";
import { sql, type Kysely } from "kysely";
import {
  chunkId,
  createLocalEmbedder,
  embeddingStorage,
  embeddingValue,
  HNSW_EF_CONSTRUCTION,
  HNSW_EF_SEARCH,
  HNSW_M,
  indexDocument,
  localEmbedding,
  prepareVectorSearch,
  retrieve,
  upsertDocument,
  vectorIndexName,
  type RetrieveOptions,
} from "../packages/rag/src";
import { buildCorpus, rng } from "../packages/rag/src/__tests__/corpus";
import { TOPICS } from "../packages/rag/src/__tests__/corpus-topics";
import { PGVECTOR, postgresBackend, postgresPgvectorBackend } from "../packages/rag/src/__tests__/backends";
import { pgliteKysely } from "../packages/rag/src/__tests__/pglite-dialect";
import { percentile, round, table } from "./lib/stats";

/** A comma-separated list of sizes; set but empty means none. */
const list = (v: string | undefined, d: number[]) =>
  v === undefined
    ? d
    : v
        .split(",")
        .map(Number)
        .filter((n) => n > 0);
const SIZES = list(process.env.BENCH_SIZES, [10_000, 100_000]);
const PGLITE_SIZES = list(process.env.BENCH_PGLITE_SIZES, [10_000, 100_000]);
const PGVECTOR_SIZES = list(process.env.BENCH_PGVECTOR_SIZES, [10_000, 100_000]);
const QUERIES = Number(process.env.BENCH_QUERIES ?? 200);
const RECALL_QUERIES = Number(process.env.BENCH_RECALL_QUERIES ?? 50);
const MODE_SECONDS = Number(process.env.BENCH_MODE_SECONDS ?? 30);
const SCAN_SECONDS = Number(process.env.BENCH_SCAN_SECONDS ?? 15);
const EF_SEARCH = Number(process.env.BENCH_EF_SEARCH ?? HNSW_EF_SEARCH);
const M = Number(process.env.BENCH_HNSW_M ?? HNSW_M);
const EF_CONSTRUCTION = Number(process.env.BENCH_HNSW_EF_CONSTRUCTION ?? HNSW_EF_CONSTRUCTION);
/** ef_search values measured (time and recall) for the vector and hybrid modes. */
const EF_SWEEP = list(
  process.env.BENCH_EF_SWEEP,
  [...new Set([40, EF_SEARCH, 200])].sort((a, b) => a - b),
);
const TIMEOUT_SECONDS = Number(process.env.BENCH_TIMEOUT_SECONDS ?? 2400);
const CORPUS = process.env.BENCH_CORPUS === "random" ? "random" : "topic";
/** PGlite's data directory, kept and reused when set (loading 100 000 chunks into WASM takes minutes); in memory when unset. */
const PGLITE_DIR = process.env.BENCH_PGLITE_DIR;
const RECALL_SECONDS = Number(process.env.BENCH_RECALL_SECONDS ?? 180);
const TOP_K = 10;
const TENANT = "ten_bench";
const SMALL = "ten_small";
const COLLECTION = "kb";
const CHUNKS_PER_DOC = 10;
const BATCH = 1000;
const embedder = createLocalEmbedder();

interface Row {
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
interface SizeFacts {
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

const vocabulary = [...new Set(TOPICS.flatMap((t) => [...t.shared, ...t.docs.flatMap((d) => [...d.terms, ...d.title.toLowerCase().split(" ")])]))];
const topicWords = TOPICS.flatMap((t) => t.docs.map((d) => [...t.shared, ...d.terms, ...d.title.toLowerCase().split(" ")]));
const paraphrases = TOPICS.flatMap((t) => t.docs.map((d) => d.paraphrase));
const filler = buildCorpus(1).docs.flatMap((d) => d.text.split(/\s+/));

function chunkTextFor(doc: number, r: () => number): string {
  const pool = CORPUS === "random" ? vocabulary : topicWords[doc % topicWords.length]!;
  const words = [
    ...Array.from({ length: 12 }, () => pool[Math.floor(r() * pool.length)]),
    ...Array.from({ length: 58 }, () => filler[Math.floor(r() * filler.length)]),
  ];
  return words.sort(() => r() - 0.5).join(" ");
}

/** Adds documents `fromDoc`..`toDoc`-1 of CHUNKS_PER_DOC chunks each to `tenant`, in multi-row inserts; returns seconds. */
async function fill(db: Kysely<Database>, tenant: string, fromDoc: number, toDoc: number): Promise<number> {
  const storage = await embeddingStorage(db);
  const r = rng(fromDoc + tenant.length);
  const t0 = performance.now();
  const docsPerBatch = BATCH / CHUNKS_PER_DOC;
  for (let start = fromDoc; start < toDoc; start += docsPerBatch) {
    const end = Math.min(toDoc, start + docsPerBatch);
    const docs = [];
    const rows = [];
    for (let d = start; d < end; d++) {
      const docId = `doc${d}`;
      docs.push({
        tenant_id: tenant,
        collection: COLLECTION,
        id: docId,
        title: `Document ${d}`,
        text: "(generated)",
        content_hash: String(d),
        status: "indexed" as const,
      });
      for (let o = 0; o < CHUNKS_PER_DOC; o++) {
        const text = chunkTextFor(d, r);
        const key = { tenantId: tenant, collection: COLLECTION, documentId: docId };
        rows.push({
          id: chunkId(key, o, text),
          tenant_id: tenant,
          collection: COLLECTION,
          document_id: docId,
          ordinal: o,
          title: `Document ${d}`,
          source_url: null,
          source_domain: null,
          text,
          tokens: 90,
          embedding_model: embedder.model,
          embedding: embeddingValue(storage, localEmbedding(`Document ${d}\n\n${text}`)),
        });
      }
    }
    await db.insertInto("documents").values(docs).execute();
    await db.insertInto("chunks").values(rows).execute();
  }
  return (performance.now() - t0) / 1000;
}

/** Chunks/s through the product's indexing path (upsertDocument + indexDocument), for up to `seconds`. */
async function indexingThroughput(db: Kysely<Database>, size: number, seconds: number): Promise<number> {
  const r = rng(size);
  let chunks = 0;
  const t0 = performance.now();
  for (let d = 0; d < 200 && performance.now() - t0 < seconds * 1000; d++) {
    const text = Array.from({ length: 8 }, () => chunkTextFor(d, r) + ".").join("\n\n");
    const key = { tenantId: TENANT, collection: `ingest${size}`, documentId: `doc${d}` };
    await upsertDocument(db, { ...key, title: `Ingested ${d}`, text });
    const res = await indexDocument(db, key, embedder, { maxTokens: 120, overlapTokens: 20 });
    if (res.status === "indexed") chunks += res.chunks;
  }
  return chunks / ((performance.now() - t0) / 1000);
}

function queries(seed: number, n: number): string[] {
  const r = rng(seed);
  return Array.from({ length: n }, () =>
    r() < 0.3
      ? paraphrases[Math.floor(r() * paraphrases.length)]!
      : Array.from({ length: 1 + Math.floor(r() * 3) }, () => vocabulary[Math.floor(r() * vocabulary.length)]).join(" "),
  );
}

type Options = Omit<RetrieveOptions, "query" | "embedder" | "collection">;

/** Times `opts` over the queries (after 5 warm-up ones), bounded by count and seconds. */
async function timed(db: Kysely<Database>, label: string, backend: string, chunks: number, opts: Options, qs: string[], seconds: number): Promise<Row> {
  for (const q of qs.slice(0, 5)) await retrieve(db, { ...opts, collection: COLLECTION, query: q, embedder, topK: TOP_K });
  const times: number[] = [];
  let results = 0;
  const deadline = performance.now() + seconds * 1000;
  for (let i = 0; i < qs.length && performance.now() < deadline; i++) {
    const t0 = performance.now();
    const res = await retrieve(db, { ...opts, collection: COLLECTION, query: qs[i]!, embedder, topK: TOP_K });
    times.push(performance.now() - t0);
    results += res.results.length;
  }
  times.sort((a, b) => a - b);
  const row = {
    backend,
    chunks,
    mode: label,
    queries: times.length,
    p50_ms: round(percentile(times, 50)),
    p95_ms: round(percentile(times, 95)),
    mean_results: round(results / (times.length || 1)),
  };
  console.log(`  ${backend} ${chunks} ${label}: ${row.queries} queries, p50 ${row.p50_ms} ms, p95 ${row.p95_ms} ms`);
  return row;
}

/** The exact answers (`exact: true`) to the queries, timed, bounded by seconds. */
async function exactAnswers(db: Kysely<Database>, opts: Options, qs: string[], seconds: number): Promise<{ ids: string[][]; kth: number[]; times: number[] }> {
  const ids: string[][] = [];
  const kth: number[] = [];
  const times: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  for (const q of qs) {
    if (performance.now() > deadline) break;
    const t0 = performance.now();
    const exact = await retrieve(db, { ...opts, collection: COLLECTION, query: q, embedder, topK: TOP_K, exact: true });
    times.push(performance.now() - t0);
    ids.push(exact.results.map((c) => c.chunk_id));
    kth.push(exact.results.at(-1)?.score ?? Infinity);
  }
  return { ids, kth, times: times.sort((a, b) => a - b) };
}

/**
 * recall@10 of `opts` against the exact answers (by chunk id) of the first queries; with the
 * exact answers' 10th scores (vector mode: cosine similarity), also the share of answers at
 * least as similar as that 10th one (ann-benchmarks' way, which counts an equally near chunk
 * found instead of a tied one as a hit).
 */
async function recall(db: Kysely<Database>, opts: Options, qs: string[], exact: string[][]): Promise<number>;
async function recall(db: Kysely<Database>, opts: Options, qs: string[], exact: string[][], kth: number[]): Promise<{ ids: number; distance: number }>;
async function recall(
  db: Kysely<Database>,
  opts: Options,
  qs: string[],
  exact: string[][],
  kth?: number[],
): Promise<number | { ids: number; distance: number }> {
  let hit = 0;
  let near = 0;
  let total = 0;
  for (let i = 0; i < exact.length; i++) {
    const approx = await retrieve(db, { ...opts, collection: COLLECTION, query: qs[i]!, embedder, topK: TOP_K });
    const got = new Set(approx.results.map((c) => c.chunk_id));
    hit += exact[i]!.filter((id) => got.has(id)).length;
    if (kth) near += Math.min(exact[i]!.length, approx.results.filter((c) => c.score >= kth[i]! - 1e-6).length);
    total += exact[i]!.length;
  }
  const ids = total === 0 ? NaN : hit / total;
  return kth ? { ids, distance: total === 0 ? NaN : near / total } : ids;
}

async function planOf(db: Kysely<Database>, opts: Options, query: string): Promise<Record<string, string>> {
  const plans: Record<string, string> = {};
  await retrieve(db, { ...opts, collection: COLLECTION, query, embedder, topK: TOP_K, onPlan: (side, plan) => (plans[side] = plan) });
  return plans;
}

/** Grows one database through the sizes, measuring at each. */
async function run(db: Kysely<Database>, backend: string, sizes: number[], rows: Row[], facts: SizeFacts[]): Promise<void> {
  await db
    .insertInto("tenants")
    .values([TENANT, SMALL].map((id) => ({ id, name: id, timezone: "UTC", billing_mode: "postpaid" as const })))
    .onConflict((oc) => oc.doNothing())
    .execute();
  const storage = await embeddingStorage(db);
  const hnsw = vectorIndexName(embedder.model);
  // A kept PGlite directory may hold chunks already (BENCH_PGLITE_DIR): sizes up to them are not written again.
  let have = Number(
    (
      await db
        .selectFrom("chunks")
        .where("tenant_id", "=", TENANT)
        .where("collection", "=", COLLECTION)
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .executeTakeFirstOrThrow()
    ).n,
  );
  if (have > 0) console.log(`${backend}: ${have} chunks already there`);
  for (const size of [...sizes].sort((a, b) => a - b)) {
    if (size < have) continue;
    // Bulk load without the graph, then build it: how a large collection is best (re)loaded.
    if (storage === "vector") await sql`DROP INDEX IF EXISTS ${sql.id(hnsw)}`.execute(db);
    const docs = size / CHUNKS_PER_DOC;
    let s = await fill(db, TENANT, have / CHUNKS_PER_DOC, docs);
    // The small tenant: 1 % of the chunks, in the same table and index.
    s += await fill(db, SMALL, have / CHUNKS_PER_DOC / 100, docs / 100);
    const written = (size - have) * 1.01;
    const f: SizeFacts = { backend, chunks: size, bulk_chunks_per_s: written > 0 ? Math.round(written / s) : NaN, index_document_chunks_per_s: 0 };
    console.log(`${backend}: ${size} chunks (${Math.round(written)} written in ${s.toFixed(1)} s, ${f.bulk_chunks_per_s} chunks/s)`);
    if (storage === "vector") {
      const support = await prepareVectorSearch(db, embedder, { m: M, efConstruction: EF_CONSTRUCTION });
      f.hnsw_build_s = round(support.buildSeconds ?? NaN, 1);
      f.hnsw = `m ${M}, ef_construction ${EF_CONSTRUCTION}`;
      f.ef_search = EF_SEARCH;
      console.log(
        `  HNSW (m ${M}, ef_construction ${EF_CONSTRUCTION}, vector_cosine_ops, 384 dims) built in ${f.hnsw_build_s} s; hnsw.ef_search ${EF_SWEEP.join(", ")} measured, ${EF_SEARCH} the default`,
      );
    }
    // PGlite runs no autovacuum; on Postgres it would have run by now. Also flushes GIN's pending list.
    await sql`VACUUM ANALYZE chunks`.execute(db);
    have = size;

    const qs = queries(99, QUERIES);
    const scope: Options = { tenantId: TENANT, efSearch: EF_SEARCH };
    rows.push(await timed(db, "fulltext", backend, size, { ...scope, mode: "fulltext" }, qs, MODE_SECONDS));
    if (storage === "vector") {
      const rq = queries(7, RECALL_QUERIES);
      for (const mode of ["vector", "hybrid"] as const) {
        const exact = await exactAnswers(db, { ...scope, mode }, rq, RECALL_SECONDS);
        rows.push({
          backend,
          chunks: size,
          mode: `${mode} (exact, baseline)`,
          queries: exact.times.length,
          p50_ms: round(percentile(exact.times, 50)),
          p95_ms: round(percentile(exact.times, 95)),
          mean_results: NaN,
        });
        for (const ef of EF_SWEEP) {
          const row = await timed(db, `${mode} (hnsw, ef_search ${ef})`, backend, size, { ...scope, mode, efSearch: ef }, qs, MODE_SECONDS);
          let near = "";
          if (mode === "vector") {
            const r = await recall(db, { ...scope, mode, efSearch: ef }, rq, exact.ids, exact.kth);
            row.recall_at_10 = round(r.ids, 3);
            row.distance_recall_at_10 = round(r.distance, 3);
            near = `, ${row.distance_recall_at_10} counting equally near chunks`;
          } else row.recall_at_10 = round(await recall(db, { ...scope, mode, efSearch: ef }, rq, exact.ids), 3);
          console.log(
            `  ${mode} ef_search ${ef}: recall@10 vs exact ${row.recall_at_10}${near} over ${exact.ids.length} queries (exact p95 ${round(percentile(exact.times, 95))} ms)`,
          );
          rows.push(row);
        }
      }
      const smallQs = queries(11, RECALL_QUERIES);
      const smallExact = await exactAnswers(db, { tenantId: SMALL, mode: "vector" }, smallQs, RECALL_SECONDS);
      const small = { recall: await recall(db, { tenantId: SMALL, mode: "vector", efSearch: EF_SEARCH }, smallQs, smallExact.ids) };
      f.small_tenant_recall_at_10 = round(small.recall, 3);
      const smallPlan = (await planOf(db, { tenantId: SMALL, mode: "vector", efSearch: EF_SEARCH }, "sourdough starter")).vector ?? "";
      f.small_tenant_plan = smallPlan.includes(hnsw) ? "hnsw index scan, scope filtered in it (iterative scan)" : "scope btree index, exact";
      console.log(`  small tenant (${size / 100} chunks) vector recall@10: ${f.small_tenant_recall_at_10} (${f.small_tenant_plan})`);
    } else {
      rows.push(await timed(db, "hybrid (default: full text only)", backend, size, { ...scope, mode: "hybrid" }, qs, MODE_SECONDS));
      rows.push(
        await timed(db, "hybrid (sqlVectorFallback, baseline)", backend, size, { ...scope, mode: "hybrid", sqlVectorFallback: true }, qs, SCAN_SECONDS),
      );
    }
    f.plans = await planOf(db, { ...scope, mode: "hybrid" }, "sourdough");
    f.index_document_chunks_per_s = Math.round(await indexingThroughput(db, size, 15));
    console.log(`  indexDocument: ${f.index_document_chunks_per_s} chunks/s`);
    facts.push(f);
  }
}

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
