/**
 * The measurements of `bench/retrieval.ts` on one database: `retrieve()` timed over a query set,
 * the exact answers (the ground truth), recall@10 against them, and the plans of one query.
 */
import type { Database } from "@switchyard/db";
import type { Kysely } from "kysely";
import { retrieve, type RetrieveOptions } from "../../packages/rag/src";
import { COLLECTION, embedder, TOP_K, type Row } from "./retrieval-config";
import { percentile, round } from "./stats";

export type Options = Omit<RetrieveOptions, "query" | "embedder" | "collection">;

/** Times `opts` over the queries (after 5 warm-up ones), bounded by count and seconds. */
export async function timed(db: Kysely<Database>, label: string, backend: string, chunks: number, opts: Options, qs: string[], seconds: number): Promise<Row> {
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
export async function exactAnswers(
  db: Kysely<Database>,
  opts: Options,
  qs: string[],
  seconds: number,
): Promise<{ ids: string[][]; kth: number[]; times: number[] }> {
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
export async function recall(db: Kysely<Database>, opts: Options, qs: string[], exact: string[][]): Promise<number>;
export async function recall(db: Kysely<Database>, opts: Options, qs: string[], exact: string[][], kth: number[]): Promise<{ ids: number; distance: number }>;
export async function recall(
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

export async function planOf(db: Kysely<Database>, opts: Options, query: string): Promise<Record<string, string>> {
  const plans: Record<string, string> = {};
  await retrieve(db, { ...opts, collection: COLLECTION, query, embedder, topK: TOP_K, onPlan: (side, plan) => (plans[side] = plan) });
  return plans;
}
