import type { Database } from "@switchyard/db";
import { sql, type Kysely, type RawBuilder } from "kysely";
import { normalize, type Embedder } from "./embedder";
import { embeddingStorage, embeddingValue, type EmbeddingStorage } from "./embedding-storage";
import { reciprocalRankFusion, RRF_K } from "./rank-fusion";
import { redactPII, withoutFindings, type PiiKind } from "@switchyard/telemetry";
import { HNSW_EF_SEARCH, SQL_VECTOR_SCAN_LIMIT, vectorIndexKind } from "./vector-index";

/** Default of `fulltextMaxRanked`: full-text matches ranked per query. */
export const FULLTEXT_MAX_RANKED = 1000;

/** How {@link retrieve} ranks: full-text alone, vectors alone, or both fused by reciprocal rank. */
export type RetrievalMode = "hybrid" | "fulltext" | "vector";

/** Options of {@link retrieve}. */
export interface RetrieveOptions {
  tenantId: string;
  collection: string;
  /** The user's query; PII is redacted before it is used anywhere. */
  query: string;
  /** Results wanted. Default 5. */
  topK?: number;
  /** Embeds the query; only chunks embedded by the same `embedder.model` are searched. */
  embedder: Embedder;
  /**
   * Source-domain allow-list: chunks whose document came from another domain are not used. An
   * entry allows the domain and its subdomains ("example.com" allows "docs.example.com"). null,
   * undefined or [] = no restriction (deployments store "not set" as []).
   */
  allowedDomains?: readonly string[] | null;
  /** With an allow-list, whether documents without a source URL (uploaded text) are used. Default true. */
  includeUnsourced?: boolean;
  /** Default "hybrid". */
  mode?: RetrievalMode;
  /**
   * Without pgvector, whether to rank by vectors anyway with the dot product over `real[]` in
   * SQL, which reads every chunk in scope (~35 µs each on 2 cores: ~0.4 s at 10 000 chunks, ~4 s
   * at 100 000; see bench/retrieval.ts). true: always; false: never (hybrid answers from full
   * text alone and says so in `degraded`; vector mode returns nothing, also saying so). Default:
   * only while the scope holds at most `sqlVectorScanLimit` chunks, so no query silently scans
   * for seconds (apps log {@link prepareVectorSearch}'s warning at start).
   */
  sqlVectorFallback?: boolean;
  /** Most chunks in scope for the default SQL vector scan without pgvector. Default {@link SQL_VECTOR_SCAN_LIMIT}. */
  sqlVectorScanLimit?: number;
  /**
   * With pgvector, compare the query with every chunk in scope instead of walking the model's
   * HNSW index: the exact answer the index approximates (recall tests and bench/retrieval.ts use
   * it as ground truth). Slow over many chunks. Default false.
   */
  exact?: boolean;
  /** `hnsw.ef_search` for this query (at least the candidates). Default {@link HNSW_EF_SEARCH}. */
  efSearch?: number;
  /**
   * Full-text matches ranked at most (at least the candidates). `ts_rank_cd` reads each match's
   * row, so a word in 5 % of 100 000 chunks cost ~20 ms; past this many matches the ones ranked
   * are the first the index scan finds (a query that common says little by its words; the vector
   * side still ranks the whole scope). Default {@link FULLTEXT_MAX_RANKED}.
   */
  fulltextMaxRanked?: number;
  /** Candidates taken from each method before fusion (at least `topK`). Default 50. */
  candidates?: number;
  signal?: AbortSignal;
  /**
   * Diagnostics: each statement first runs under `EXPLAIN (ANALYZE, BUFFERS)` with the same
   * settings and its plan comes here (bench/retrieval.ts prints them). Doubles the work.
   */
  onPlan?: (side: "fulltext" | "vector", plan: string) => void;
}

/** One ranked chunk. */
export interface RetrievedChunk {
  chunk_id: string;
  document_id: string;
  title: string | null;
  source_url: string | null;
  text: string;
  /** hybrid: the RRF score; fulltext: ts_rank_cd; vector: cosine similarity. Higher is better. */
  score: number;
  /** 1-based rank in the full-text candidates, when the chunk is among them. */
  fulltext_rank?: number;
  /** 1-based rank in the vector candidates, when the chunk is among them. */
  vector_rank?: number;
}

/** What {@link retrieve} returns. */
export interface RetrieveResult {
  /** The query with PII replaced by placeholders (the search itself ran without those spans). */
  query: string;
  /** Kinds of PII removed from the query, in order. */
  redactions: PiiKind[];
  mode: RetrievalMode;
  model: string;
  storage: EmbeddingStorage;
  /** Set when vectors could not take part: the query could not be embedded (hybrid answers from full-text), or no pgvector and the SQL scan is off (`sqlVectorFallback`, `sqlVectorScanLimit`). */
  degraded?: { reason: "embedding_failed" | "no_pgvector"; message: string };
  results: RetrievedChunk[];
}

interface CandidateRow {
  id: string;
  document_id: string;
  title: string | null;
  source_url: string | null;
  text: string;
  score: number;
}

/** Allow-list entries as stored domains look: lower-case host, no scheme, no "*." or trailing dot. */
export function normalizeDomains(domains: readonly string[]): string[] {
  const out = new Set<string>();
  for (const raw of domains) {
    let d = raw.trim().toLowerCase();
    if (d.includes("://")) d = URL.canParse(d) ? new URL(d).hostname : "";
    d = d.replace(/^\*?\.+/, "").replace(/\.+$/, "");
    if (d !== "") out.add(d);
  }
  return [...out];
}

/**
 * Ranked chunks of one tenant's collection for a query. PII is taken out of the query
 * (`redactPII`) before anything else: the search runs on the query without those spans, and the
 * result reports the redacted query (with placeholders) for logs and display.
 *
 * Full-text: `websearch_to_tsquery('english', q)` against the chunks' tsvector, ranked by
 * `ts_rank_cd` (websearch syntax ANDs the words, so a long question rarely matches in full).
 * Vector: cosine distance with pgvector's `<=>` over the model's HNSW index where the column is
 * `vector`; without pgvector, the dot product over `real[]` computed in SQL while the scope is
 * small (`sqlVectorScanLimit`), else full text alone (marked `degraded`). Each SQL statement itself filters by tenant, collection, embedding
 * model and the domain allow-list; nothing is filtered afterwards. Hybrid fuses the two
 * candidate lists with reciprocal rank fusion (k = 60); both run concurrently.
 */
export async function retrieve(db: Kysely<Database>, opts: RetrieveOptions): Promise<RetrieveResult> {
  const mode = opts.mode ?? "hybrid";
  const topK = Math.max(1, Math.floor(opts.topK ?? 5));
  const limit = Math.max(topK, Math.floor(opts.candidates ?? 50));
  const { text: query, found } = redactPII(opts.query);
  // The placeholders are for people and logs; the search gets the query with the PII cut out.
  const searchText = withoutFindings(opts.query, found);
  const storage = await embeddingStorage(db);
  const base = { query, redactions: found.map((f) => f.kind), mode, model: opts.embedder.model, storage };
  const filter = scopeFilter(opts);

  const fulltext =
    mode === "vector"
      ? Promise.resolve([])
      : fulltextCandidates(db, searchText, filter, limit, Math.max(limit, Math.floor(opts.fulltextMaxRanked ?? FULLTEXT_MAX_RANKED)), opts.onPlan);
  if (mode !== "fulltext" && storage === "real[]") {
    const scanLimit = Math.max(0, Math.floor(opts.sqlVectorScanLimit ?? SQL_VECTOR_SCAN_LIMIT));
    const scan = opts.sqlVectorFallback ?? (await scopeAtMost(db, opts, filter, scanLimit));
    if (!scan) {
      const ft = await fulltext;
      const message =
        opts.sqlVectorFallback === false
          ? "the database has no pgvector and the SQL vector scan is disabled"
          : `the database has no pgvector and the scope holds more than ${scanLimit} chunks (sqlVectorScanLimit): ranked by full text only`;
      return { ...base, degraded: { reason: "no_pgvector", message }, results: ft.slice(0, topK).map((r, i) => view(r, r.score, i + 1, undefined)) };
    }
  }
  const vector = mode === "fulltext" ? Promise.resolve([]) : vectorCandidates(db, storage, opts, searchText, filter, limit);
  const [ft, vecSettled] = await Promise.all([
    fulltext,
    vector.then(
      (rows) => ({ rows }),
      (error: unknown) => ({ error }),
    ),
  ]);
  if ("error" in vecSettled) {
    if (mode === "vector") throw vecSettled.error;
    const message = vecSettled.error instanceof Error ? vecSettled.error.message : String(vecSettled.error);
    return { ...base, degraded: { reason: "embedding_failed", message }, results: ft.slice(0, topK).map((r, i) => view(r, r.score, i + 1, undefined)) };
  }
  const vec = vecSettled.rows;
  if (mode === "fulltext") return { ...base, results: ft.slice(0, topK).map((r, i) => view(r, r.score, i + 1, undefined)) };
  if (mode === "vector") return { ...base, results: vec.slice(0, topK).map((r, i) => view(r, r.score, undefined, i + 1)) };

  const rows = new Map<string, CandidateRow>([...vec, ...ft].map((r) => [r.id, r]));
  const fused = reciprocalRankFusion([ft.map((r) => r.id), vec.map((r) => r.id)], RRF_K);
  return { ...base, results: fused.slice(0, topK).map((f) => view(rows.get(f.id)!, f.score, f.ranks[0], f.ranks[1])) };
}

function view(r: CandidateRow, score: number, fulltextRank: number | undefined, vectorRank: number | undefined): RetrievedChunk {
  const out: RetrievedChunk = { chunk_id: r.id, document_id: r.document_id, title: r.title, source_url: r.source_url, text: r.text, score: Number(score) };
  if (fulltextRank !== undefined) out.fulltext_rank = fulltextRank;
  if (vectorRank !== undefined) out.vector_rank = vectorRank;
  return out;
}

/** The WHERE clause every retrieval statement carries: tenant, collection, model and allow-list. */
function scopeFilter(opts: RetrieveOptions): RawBuilder<unknown> {
  const scope = sql`c.tenant_id = ${opts.tenantId} AND c.collection = ${opts.collection} AND c.embedding_model = ${opts.embedder.model}`;
  const domains = normalizeDomains(opts.allowedDomains ?? []);
  if (domains.length === 0) return scope;
  const listed = sql`(c.source_domain = ANY(${domains}::text[]) OR EXISTS (SELECT 1 FROM unnest(${domains}::text[]) AS d(domain) WHERE right(c.source_domain, length(d.domain) + 1) = '.' || d.domain))`;
  return (opts.includeUnsourced ?? true) ? sql`${scope} AND (c.source_domain IS NULL OR ${listed})` : sql`${scope} AND ${listed}`;
}

/**
 * Full-text candidates: the scope and `tsv @@ q` are conditions of one GIN index scan (migration
 * 0011's (tenant_id, collection, tsv) where the server has btree_gin), at most `maxRanked`
 * matches are read, and those are ranked.
 */
async function fulltextCandidates(
  db: Kysely<Database>,
  query: string,
  filter: RawBuilder<unknown>,
  limit: number,
  maxRanked: number,
  onPlan: RetrieveOptions["onPlan"],
): Promise<CandidateRow[]> {
  return run(
    db,
    "fulltext",
    onPlan,
    sql<CandidateRow>`
    SELECT m.id, m.document_id, m.title, m.source_url, m.text, ts_rank_cd(m.tsv, m.q)::float8 AS score
    FROM (
      SELECT c.id, c.document_id, c.title, c.source_url, c.text, c.tsv, q.q
      FROM chunks c, websearch_to_tsquery('english', ${query}) AS q(q)
      WHERE ${filter} AND c.tsv @@ q.q
      LIMIT ${maxRanked}
    ) m
    ORDER BY score DESC, m.id
    LIMIT ${limit}
  `,
  );
}

const SCOPE_SIZE_TTL_MS = 60_000;
const scopeSizes = new WeakMap<object, Map<string, { small: boolean; at: number }>>();

/**
 * Whether the scope holds at most `max` chunks: reads at most max + 1 entries of the scope index,
 * and remembers the answer per database and scope for a minute (a count of 2 001 entries is a
 * few milliseconds that a large collection would otherwise pay on every query).
 */
async function scopeAtMost(db: Kysely<Database>, opts: RetrieveOptions, filter: RawBuilder<unknown>, max: number): Promise<boolean> {
  const key = JSON.stringify([opts.tenantId, opts.collection, opts.embedder.model, opts.allowedDomains ?? null, opts.includeUnsourced ?? true, max]);
  let sizes = scopeSizes.get(db);
  if (!sizes) scopeSizes.set(db, (sizes = new Map<string, { small: boolean; at: number }>()));
  const known = sizes.get(key);
  if (known && performance.now() - known.at < SCOPE_SIZE_TTL_MS) return known.small;
  const r = await sql<{
    n: number;
  }>`SELECT count(*)::int AS n FROM (SELECT 1 FROM chunks c WHERE ${filter} AND c.embedding IS NOT NULL LIMIT ${max + 1}) s`.execute(db);
  const small = Number(r.rows[0]?.n ?? 0) <= max;
  if (sizes.size > 10_000) sizes.clear();
  sizes.set(key, { small, at: performance.now() });
  return small;
}

/** Runs a statement (after its EXPLAIN ANALYZE when `onPlan` is set). */
async function run<R>(db: Kysely<Database>, side: "fulltext" | "vector", onPlan: RetrieveOptions["onPlan"], statement: RawBuilder<R>): Promise<R[]> {
  if (onPlan) {
    const plan = await sql<Record<string, string>>`EXPLAIN (ANALYZE, BUFFERS) ${statement}`.execute(db);
    onPlan(side, plan.rows.map((r) => Object.values(r)[0]).join("\n"));
  }
  return (await statement.execute(db)).rows;
}

async function vectorCandidates(
  db: Kysely<Database>,
  storage: EmbeddingStorage,
  opts: RetrieveOptions,
  query: string,
  filter: RawBuilder<unknown>,
  limit: number,
): Promise<CandidateRow[]> {
  const [raw] = await opts.embedder.embed([query], { signal: opts.signal });
  if (!raw || raw.length !== opts.embedder.dimensions)
    throw new Error(`${opts.embedder.model}: query embedding has ${raw?.length ?? 0} dimensions, expected ${opts.embedder.dimensions}`);
  const v = normalize(raw);
  // The zero vector (a query without a single word) is at no angle to anything.
  if (v.every((x) => x === 0)) return [];
  const q = embeddingValue(storage, v);
  const dims = opts.embedder.dimensions;
  const rows =
    storage === "vector"
      ? await pgvectorCandidates(db, q, dims, filter, limit, opts)
      : await run(
          db,
          "vector",
          opts.onPlan,
          sql<CandidateRow>`
          SELECT c.id, c.document_id, c.title, c.source_url, c.text, s.score
          FROM chunks c
          CROSS JOIN LATERAL (SELECT sum(a * b)::float8 AS score FROM unnest(c.embedding, ${q}) AS u(a, b)) s
          WHERE ${filter} AND c.embedding IS NOT NULL AND cardinality(c.embedding) = ${dims}
          ORDER BY s.score DESC NULLS LAST, c.id
          LIMIT ${limit}
        `,
        );
  // Zero-vector chunks have no direction: pgvector gives NaN, the dot product 0. Neither is a match.
  return rows.filter((row) => Number.isFinite(Number(row.score)) && Number(row.score) > 0);
}

/**
 * pgvector candidates. The ORDER BY is the expression of the model's partial HNSW index
 * (`embedding::halfvec(dims)`, or `::vector(dims)` on PGlite: see `prepareVectorSearch`), so the
 * planner walks the graph, and the rows it returns are ranked again by the full-precision
 * distance (the score); the
 * scope (tenant, collection, model, allow-list) is the index scan's own filter, and with
 * `hnsw.iterative_scan` the scan goes on past `ef_search` until `limit` rows of the scope are
 * found (up to pgvector's `hnsw.max_scan_tuples`), instead of returning fewer when the scope is a
 * small part of the index. A scope small enough is planned on the btree scope index and compared
 * exactly. Relaxed order and half precision can return rows slightly out of order, so they are
 * sorted again by the distance at full precision. No
 * `vector_dims` condition here (unlike the exact query): its guessed selectivity (0.5 %) made the
 * planner prefer a sequential scan; a model's vectors all have its dimensions (indexDocument checks).
 * `exact`: the column itself is ordered, which no index serves: the exact answer.
 */
async function pgvectorCandidates(
  db: Kysely<Database>,
  q: RawBuilder<string>,
  dims: number,
  filter: RawBuilder<unknown>,
  limit: number,
  opts: RetrieveOptions,
): Promise<CandidateRow[]> {
  if (opts.exact) {
    return run(
      db,
      "vector",
      opts.onPlan,
      sql<CandidateRow>`
      SELECT c.id, c.document_id, c.title, c.source_url, c.text, (1 - (c.embedding <=> ${q}))::float8 AS score
      FROM chunks c
      WHERE ${filter} AND c.embedding IS NOT NULL AND vector_dims(c.embedding) = ${dims}
      ORDER BY c.embedding <=> ${q}, c.id
      LIMIT ${limit}
    `,
    );
  }
  const typed = sql.raw(`${await vectorIndexKind(db)}(${Math.floor(dims)})`);
  const ef = Math.max(limit, Math.floor(opts.efSearch ?? HNSW_EF_SEARCH));
  return db.transaction().execute(async (trx) => {
    await sql`SELECT set_config('hnsw.ef_search', ${String(ef)}, true), set_config('hnsw.iterative_scan', 'relaxed_order', true)`.execute(trx);
    return run(
      trx,
      "vector",
      opts.onPlan,
      sql<CandidateRow>`
      SELECT n.id, n.document_id, n.title, n.source_url, n.text, (1 - n.distance)::float8 AS score
      FROM (
        SELECT c.id, c.document_id, c.title, c.source_url, c.text, c.embedding <=> ${q} AS distance
        FROM chunks c
        WHERE ${filter} AND c.embedding IS NOT NULL
        ORDER BY c.embedding::${typed} <=> (${q})::${typed}
        LIMIT ${limit}
      ) n
      ORDER BY n.distance, n.id
    `,
    );
  });
}
