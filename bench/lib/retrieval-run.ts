/**
 * One backend's run in `bench/retrieval.ts`: grows its database through the sizes and, at each,
 * measures bulk load, the HNSW build, every retrieval mode's latency and recall, the small
 * tenant, the plans of a hybrid query and indexing throughput.
 */
import type { Database } from "@switchyard/db";
import { sql, type Kysely } from "kysely";
import { embeddingStorage, HNSW_GRAPH, prepareVectorSearch, vectorIndexKind, vectorIndexName } from "../../packages/rag/src";
import { fill, indexingThroughput, queries } from "./retrieval-corpus";
import {
  CHUNKS_PER_DOC,
  COLLECTION,
  EF_CONSTRUCTION,
  EF_SEARCH,
  EF_SWEEP,
  embedder,
  M,
  MODE_SECONDS,
  QUERIES,
  RECALL_QUERIES,
  RECALL_SECONDS,
  SCAN_SECONDS,
  SMALL,
  TENANT,
  type Row,
  type SizeFacts,
} from "./retrieval-config";
import { exactAnswers, planOf, recall, timed, type Options } from "./retrieval-measure";
import { percentile, round } from "./stats";

/** Grows one database through the sizes, measuring at each. */
export async function run(db: Kysely<Database>, backend: string, sizes: number[], rows: Row[], facts: SizeFacts[]): Promise<void> {
  await db
    .insertInto("tenants")
    .values([TENANT, SMALL].map((id) => ({ id, name: id, timezone: "UTC", billing_mode: "postpaid" as const })))
    .onConflict((oc) => oc.doNothing())
    .execute();
  const storage = await embeddingStorage(db);
  const kind = await vectorIndexKind(db);
  const hnsw = vectorIndexName(embedder.model, kind);
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
    // Bulk load without the graph, then build it: how a large collection is best (re)loaded. A kept
    // directory already at this size keeps its graph too (BENCH_PGLITE_DIR: a 100 000-chunk build takes minutes).
    const kept = size === have;
    if (storage === "vector" && !kept) await sql`DROP INDEX IF EXISTS ${sql.id(hnsw)}`.execute(db);
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
      const graph = `over ${kind}, m ${M ?? HNSW_GRAPH[kind].m}, ef_construction ${EF_CONSTRUCTION ?? HNSW_GRAPH[kind].efConstruction}`;
      f.hnsw = support.created ? graph : `kept from an earlier run (over ${kind}, ${await graphOptions(db, hnsw)})`;
      f.ef_search = EF_SEARCH;
      console.log(
        `  HNSW (${f.hnsw}, ${kind}_cosine_ops, 384 dims) ${support.created ? `built in ${f.hnsw_build_s} s` : "kept"}; hnsw.ef_search ${EF_SWEEP.join(", ")} measured, ${EF_SEARCH} the default`,
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

/** The graph's build options as stored with a kept index ("m=16, ef_construction=64"). */
async function graphOptions(db: Kysely<Database>, index: string): Promise<string> {
  const r = await sql<{ opts: string[] | null }>`SELECT reloptions AS opts FROM pg_class WHERE relname = ${index}`.execute(db);
  return (r.rows[0]?.opts ?? []).join(", ") || "pgvector's defaults";
}
