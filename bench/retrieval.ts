/**
 * Retrieval latency (`retrieve()` of @switchyard/rag: redaction, query embedding, SQL, fusion)
 * at 10 000 and 100 000 chunks in one tenant's collection, per mode (fulltext, vector, hybrid):
 *
 *   - postgres: a fresh database on the machine's Postgres. Without pgvector (Postgres 15 here)
 *     the vector search is the `real[]` dot product computed in SQL over every chunk in scope.
 *   - pglite: in-process PGlite with pgvector (`<=>`, exact scan, no ANN index), 10 000 chunks
 *     by default; it is single-threaded WASM, so 100 000 is opt-in.
 *
 * Chunks are generated text (~70 words from the test corpus vocabulary) with local embeddings,
 * written with multi-row inserts of 1000; sizes grow in place (10 000, then 90 000 more).
 * Queries run one at a time; each (backend, size, mode) stops at BENCH_QUERIES or after
 * BENCH_MODE_SECONDS, whichever comes first, and the count actually run is printed.
 * Prints a table and writes bench/out/retrieval.json.
 *
 *   npx tsx bench/retrieval.ts
 *   BENCH_SIZES=10000,100000 BENCH_PGLITE_SIZES=10000 BENCH_QUERIES=200 BENCH_MODE_SECONDS=30 BENCH_TIMEOUT_SECONDS=900
 *   (BENCH_PGLITE_SIZES= skips PGlite; the `real[]` vector scan costs ~35 µs per chunk in scope,
 *   so at 100 000 chunks its modes hit the time limit long before BENCH_QUERIES)
 * Needs Postgres (TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { vector } from "@electric-sql/pglite-pgvector";
import { migrateToLatest, type Database } from "@switchyard/db";
import { createTestDatabase } from "@switchyard/testkit";
import { sql, type Kysely } from "kysely";
import { chunkId, createLocalEmbedder, embeddingStorage, embeddingValue, localEmbedding, retrieve, type RetrievalMode } from "../packages/rag/src";
import { buildCorpus, rng } from "../packages/rag/src/__tests__/corpus";
import { TOPICS } from "../packages/rag/src/__tests__/corpus-topics";
import { pgliteKysely } from "../packages/rag/src/__tests__/pglite-dialect";
import { percentile, round, table } from "./lib/stats";

/** A comma-separated list of sizes; set but empty means none. */
const list = (v: string | undefined, d: number[]) => (v === undefined ? d : v.split(",").map(Number).filter((n) => n > 0));
const SIZES = list(process.env.BENCH_SIZES, [10_000, 100_000]);
const PGLITE_SIZES = list(process.env.BENCH_PGLITE_SIZES, [10_000]);
const QUERIES = Number(process.env.BENCH_QUERIES ?? 200);
const MODE_SECONDS = Number(process.env.BENCH_MODE_SECONDS ?? 30);
const TIMEOUT_SECONDS = Number(process.env.BENCH_TIMEOUT_SECONDS ?? 900);
const MODES: RetrievalMode[] = ["fulltext", "vector", "hybrid"];
const TENANT = "ten_bench";
const COLLECTION = "kb";
const CHUNKS_PER_DOC = 10;
const BATCH = 1000;

interface Row {
  backend: string;
  storage: string;
  chunks: number;
  mode: RetrievalMode;
  queries: number;
  p50_ms: number;
  p95_ms: number;
  mean_results: number;
}

const words = [...new Set(TOPICS.flatMap((t) => [...t.shared, ...t.docs.flatMap((d) => [...d.terms, ...d.title.toLowerCase().split(" ")])]))];
const paraphrases = TOPICS.flatMap((t) => t.docs.map((d) => d.paraphrase));
const filler = buildCorpus(1).docs.flatMap((d) => d.text.split(/\s+/));

/** Adds chunks `from`..`to`-1 (documents of CHUNKS_PER_DOC chunks each), in multi-row inserts. */
async function fill(db: Kysely<Database>, from: number, to: number): Promise<number> {
  const storage = await embeddingStorage(db);
  const embedder = createLocalEmbedder();
  const r = rng(from + 1);
  const t0 = performance.now();
  for (let start = from; start < to; start += BATCH) {
    const end = Math.min(to, start + BATCH);
    const docs: Array<{ tenant_id: string; collection: string; id: string; title: string; text: string; content_hash: string; status: "indexed" }> = [];
    for (let d = Math.ceil(start / CHUNKS_PER_DOC); d * CHUNKS_PER_DOC < end; d++) {
      docs.push({ tenant_id: TENANT, collection: COLLECTION, id: `doc${d}`, title: `Document ${d}`, text: "(generated)", content_hash: String(d), status: "indexed" });
    }
    if (docs.length) await db.insertInto("documents").values(docs).execute();
    const rows = [];
    for (let i = start; i < end; i++) {
      const docId = `doc${Math.floor(i / CHUNKS_PER_DOC)}`;
      const topicWords = Array.from({ length: 12 }, () => words[Math.floor(r() * words.length)]);
      const text = [...topicWords, ...Array.from({ length: 58 }, () => filler[Math.floor(r() * filler.length)])].sort(() => r() - 0.5).join(" ");
      const key = { tenantId: TENANT, collection: COLLECTION, documentId: docId };
      rows.push({ id: chunkId(key, i % CHUNKS_PER_DOC, text), tenant_id: TENANT, collection: COLLECTION, document_id: docId, ordinal: i % CHUNKS_PER_DOC, title: `Document ${docId}`, source_url: null, source_domain: null, text, tokens: 90, embedding_model: embedder.model, embedding: embeddingValue(storage, localEmbedding(`Document ${docId}\n\n${text}`)) });
    }
    await db.insertInto("chunks").values(rows).execute();
  }
  await sql`ANALYZE chunks`.execute(db);
  return (performance.now() - t0) / 1000;
}

async function measure(db: Kysely<Database>, backend: string, chunks: number): Promise<Row[]> {
  const storage = await embeddingStorage(db);
  const embedder = createLocalEmbedder();
  const out: Row[] = [];
  for (const mode of MODES) {
    const r = rng(99);
    const times: number[] = [];
    let results = 0;
    const deadline = performance.now() + MODE_SECONDS * 1000;
    for (let i = 0; i < QUERIES && performance.now() < deadline; i++) {
      const query = r() < 0.3 ? paraphrases[Math.floor(r() * paraphrases.length)]! : Array.from({ length: 1 + Math.floor(r() * 3) }, () => words[Math.floor(r() * words.length)]).join(" ");
      const t0 = performance.now();
      const res = await retrieve(db, { tenantId: TENANT, collection: COLLECTION, query, topK: 5, embedder, mode });
      times.push(performance.now() - t0);
      results += res.results.length;
    }
    times.sort((a, b) => a - b);
    out.push({ backend, storage, chunks, mode, queries: times.length, p50_ms: round(percentile(times, 50)), p95_ms: round(percentile(times, 95)), mean_results: round(results / (times.length || 1)) });
    console.log(`  ${backend} ${chunks} ${mode}: ${times.length} queries, p50 ${round(percentile(times, 50))} ms, p95 ${round(percentile(times, 95))} ms`);
  }
  return out;
}

/** Grows one database through the sizes, measuring at each. */
async function run(db: Kysely<Database>, backend: string, sizes: number[]): Promise<Row[]> {
  await db.insertInto("tenants").values({ id: TENANT, name: TENANT, timezone: "UTC", billing_mode: "postpaid" }).execute();
  const rows: Row[] = [];
  let have = 0;
  for (const size of [...sizes].sort((a, b) => a - b)) {
    const s = await fill(db, have, size);
    console.log(`${backend}: ${size} chunks (${size - have} written in ${s.toFixed(1)} s)`);
    have = size;
    rows.push(...(await measure(db, backend, size)));
  }
  return rows;
}

async function main(): Promise<void> {
  const started = Date.now();
  const rows: Row[] = [];
  const pgDb = await createTestDatabase();
  try {
    rows.push(...(await run(pgDb.db, "postgres", SIZES)));
  } finally {
    await pgDb.drop();
  }
  if (PGLITE_SIZES.length > 0) {
    const db = pgliteKysely(await PGlite.create({ extensions: { vector } }));
    try {
      await migrateToLatest(db);
      rows.push(...(await run(db, "pglite", PGLITE_SIZES)));
    } finally {
      await db.destroy();
    }
  }
  console.log(`\nretrieval latency, top_k 5, one query at a time (${((Date.now() - started) / 1000).toFixed(0)} s in all)`);
  console.log(table(["backend", "storage", "chunks", "mode", "queries", "p50 ms", "p95 ms", "results"], rows.map((r) => [r.backend, r.storage, r.chunks, r.mode, r.queries, r.p50_ms, r.p95_ms, r.mean_results])));
  const outDir = path.join(__dirname, "out");
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, "retrieval.json"), JSON.stringify({ queries_per_mode: QUERIES, mode_seconds: MODE_SECONDS, top_k: 5, rows }, null, 2));
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
