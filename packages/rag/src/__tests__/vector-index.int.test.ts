import type { Database } from "@switchyard/db";
import { sql, type Kysely } from "kysely";
import { chunkId } from "../chunker";
import { createLocalEmbedder, localEmbedding } from "../embedder";
import { embeddingStorage, embeddingValue } from "../embedding-storage";
import { retrieve, type RetrieveOptions } from "../retrieve";
import { HNSW_GRAPH, prepareVectorSearch, vectorIndexKind, vectorIndexName, type VectorIndexKind } from "../vector-index";
import { addTenants, PGVECTOR, pgliteBackend, postgresBackend, postgresPgvectorBackend, type Backend } from "./backends";
import { buildCorpus, rng } from "./corpus";
import { TOPICS } from "./corpus-topics";

const embedder = createLocalEmbedder();
const topicWords = TOPICS.flatMap((t) => t.docs.map((d) => [...t.shared, ...d.terms]));
const vocabulary = [...new Set(topicWords.flat())];
const paraphrases = TOPICS.flatMap((t) => t.docs.map((d) => d.paraphrase));
const filler = buildCorpus(1).docs.flatMap((d) => d.text.split(/\s+/));

/** `docs` documents of 10 generated chunks (12 words of the document's topic, 48 filler), written directly. */
async function bulkChunks(db: Kysely<Database>, tenantId: string, docs: number, seed: number): Promise<void> {
  const storage = await embeddingStorage(db);
  const r = rng(seed);
  for (let start = 0; start < docs; start += 100) {
    const documents = [];
    const chunks = [];
    for (let d = start; d < Math.min(docs, start + 100); d++) {
      const key = { tenantId, collection: "kb", documentId: `doc${d}` };
      documents.push({
        tenant_id: tenantId,
        collection: "kb",
        id: key.documentId,
        title: `Document ${d}`,
        text: "(generated)",
        content_hash: String(d),
        status: "indexed" as const,
      });
      const pool = topicWords[(d + seed) % topicWords.length]!;
      for (let o = 0; o < 10; o++) {
        const text = [
          ...Array.from({ length: 12 }, () => pool[Math.floor(r() * pool.length)]),
          ...Array.from({ length: 48 }, () => filler[Math.floor(r() * filler.length)]),
        ]
          .sort(() => r() - 0.5)
          .join(" ");
        chunks.push({
          id: chunkId(key, o, text),
          tenant_id: tenantId,
          collection: "kb",
          document_id: key.documentId,
          ordinal: o,
          title: `Document ${d}`,
          source_url: null,
          source_domain: null,
          text,
          tokens: 80,
          embedding_model: embedder.model,
          embedding: embeddingValue(storage, localEmbedding(text)),
        });
      }
    }
    await db.insertInto("documents").values(documents).execute();
    await db.insertInto("chunks").values(chunks).execute();
  }
}

/** At a few thousand rows the planner reads the whole table rather than an index; these tests are about the index plan. */
function withoutSeqScan<T>(db: Kysely<Database>, fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
  return db.transaction().execute(async (trx) => {
    await sql`SET LOCAL enable_seqscan = off`.execute(trx);
    return fn(trx);
  });
}

function queries(seed: number, n: number): string[] {
  const r = rng(seed);
  return Array.from({ length: n }, () =>
    r() < 0.3
      ? paraphrases[Math.floor(r() * paraphrases.length)]!
      : Array.from({ length: 1 + Math.floor(r() * 3) }, () => vocabulary[Math.floor(r() * vocabulary.length)]).join(" "),
  );
}

/**
 * The pgvector path (HNSW per model, over halfvec on PostgreSQL and vector on PGlite, re-ranked
 * at full precision, scope filtered in the index scan), the
 * same suite on each backend that has pgvector: PGlite always, PostgreSQL where the server has
 * the extension (CI's has not: skipped there, saying so).
 */
function hnswSuite(open: () => Promise<Backend>, concurrently: boolean, kind: VectorIndexKind): void {
  let backend: Backend;
  const hnsw = vectorIndexName(embedder.model, kind);
  const base = (tenantId: string): RetrieveOptions => ({ tenantId, collection: "kb", query: "", embedder, topK: 10, mode: "vector" });

  beforeAll(async () => {
    backend = await open();
    await addTenants(backend.db, "ten_big", "ten_small");
    // 3 000 chunks for one tenant, 100 for another in the same index.
    await bulkChunks(backend.db, "ten_big", 300, 1);
    await bulkChunks(backend.db, "ten_small", 10, 2);
    await sql`VACUUM ANALYZE chunks`.execute(backend.db);
  }, 120_000);
  afterAll(() => backend?.close());

  /**
   * Runs `fn` on one session with sorting off: at this size the planner would rather sort every
   * chunk of the scope, which is exact and would test nothing here.
   */
  const pinned = <T>(fn: (db: Kysely<Database>) => Promise<T>): Promise<T> =>
    backend.db.connection().execute(async (conn) => {
      await sql`SET enable_sort = off`.execute(conn);
      try {
        return await fn(conn);
      } finally {
        await sql`RESET enable_sort`.execute(conn);
      }
    });

  it("has the built-in model's HNSW index from the migrations; another model gets its own once", async () => {
    expect(await vectorIndexKind(backend.db)).toBe(kind);
    expect(await prepareVectorSearch(backend.db, embedder)).toMatchObject({ storage: "vector", mode: "hnsw", index: hnsw, kind, created: false });
    const indexes = async () =>
      (await sql<{ name: string }>`SELECT indexname AS name FROM pg_indexes WHERE tablename = 'chunks'`.execute(backend.db)).rows.map((r) => r.name);
    // On PostgreSQL, migration 0022 replaced the built-in model's graph over `vector` with one over halfvec.
    if (kind === "halfvec") expect(await indexes()).not.toContain(vectorIndexName(embedder.model, "vector"));
    const other = { model: "test/other-8", dimensions: 8 };
    // An earlier version's graph over `vector` for this model: dropped once a halfvec one is built.
    const legacy = vectorIndexName(other.model, "vector");
    if (kind === "halfvec")
      await sql`CREATE INDEX ${sql.id(legacy)} ON chunks USING hnsw ((embedding::vector(8)) vector_cosine_ops) WHERE embedding_model = 'test/other-8'`.execute(
        backend.db,
      );
    expect(await prepareVectorSearch(backend.db, other, { concurrently })).toMatchObject({
      mode: "hnsw",
      index: vectorIndexName(other.model, kind),
      created: true,
    });
    expect(await prepareVectorSearch(backend.db, other)).toMatchObject({ created: false });
    // An interrupted concurrent build leaves the index invalid (unusable): built again, not kept.
    const valid = async () =>
      (await sql<{ v: boolean }>`SELECT indisvalid AS v FROM pg_index WHERE indexrelid = ${vectorIndexName(other.model, kind)}::regclass`.execute(backend.db))
        .rows[0]?.v;
    await sql`UPDATE pg_index SET indisvalid = false WHERE indexrelid = ${vectorIndexName(other.model, kind)}::regclass`.execute(backend.db);
    expect(await valid()).toBe(false);
    expect(await prepareVectorSearch(backend.db, other, { concurrently })).toMatchObject({ index: vectorIndexName(other.model, kind), created: true });
    expect(await valid()).toBe(true);
    // The graph's parameters are spliced into the statement: out of pgvector's bounds, refused by name.
    await expect(prepareVectorSearch(backend.db, { model: "test/bad-8", dimensions: 8 }, { m: 1 })).rejects.toThrow(/HNSW m must be 2-100/);
    await expect(prepareVectorSearch(backend.db, { model: "test/bad-8", dimensions: 8 }, { m: 24, efConstruction: 32 })).rejects.toThrow(
      /ef_construction must be 4-1000 and at least 2 × m/,
    );
    // More dimensions than the kind's graph takes: exact search, said so.
    const wide = { model: "test/wide", dimensions: HNSW_GRAPH[kind].maxDimensions + 1 };
    expect(await prepareVectorSearch(backend.db, wide)).toMatchObject({
      mode: "exact",
      warning: expect.stringMatching(/more than pgvector's HNSW index takes/),
    });
    const defs = await sql<{ indexdef: string }>`SELECT indexdef FROM pg_indexes WHERE indexname = ${vectorIndexName(other.model, kind)}`.execute(backend.db);
    const { m, efConstruction } = HNSW_GRAPH[kind];
    expect(defs.rows[0]?.indexdef).toContain(
      `USING hnsw (((embedding)::${kind}(8)) ${kind}_cosine_ops) WITH (m='${m}', ef_construction='${efConstruction}') WHERE (embedding_model = 'test/other-8'::text)`,
    );
    expect(await indexes()).not.toContain(kind === "halfvec" ? legacy : vectorIndexName(other.model, "halfvec"));
  });

  it("walks the HNSW index, with recall@10 ≥ 0.95 of the exact search, for a large and a small tenant", () =>
    pinned(async (db) => {
      for (const [tenantId, seed] of [
        ["ten_big", 5],
        ["ten_small", 6],
      ] as const) {
        let plan = "";
        await retrieve(db, { ...base(tenantId), query: "sourdough starter", onPlan: (_side, p) => (plan = p) });
        expect(plan).toContain(`Index Scan using ${hnsw}`);
        let hit = 0;
        let total = 0;
        for (const query of queries(seed, 40)) {
          const exact = await retrieve(db, { ...base(tenantId), query, exact: true });
          const approx = await retrieve(db, { ...base(tenantId), query });
          const got = new Set(approx.results.map((c) => c.chunk_id));
          hit += exact.results.filter((c) => got.has(c.chunk_id)).length;
          total += exact.results.length;
        }
        expect(total).toBeGreaterThan(300);
        expect({ tenantId, recall: hit / total >= 0.95 ? "≥ 0.95" : hit / total }).toEqual({ tenantId, recall: "≥ 0.95" });
      }
    }));

  it("never returns another tenant's chunks through the shared index", () =>
    pinned(async (db) => {
      const owner = new Map((await db.selectFrom("chunks").select(["id", "tenant_id"]).execute()).map((r) => [r.id, r.tenant_id]));
      for (const query of queries(8, 30)) {
        for (const mode of ["vector", "hybrid"] as const) {
          const res = await retrieve(db, { ...base("ten_small"), query, mode, topK: 20 });
          expect(res.results.length).toBeGreaterThan(0);
          expect(res.degraded).toBeUndefined();
          for (const c of res.results) expect(owner.get(c.chunk_id)).toBe("ten_small");
        }
      }
    }));
}

describe("HNSW vector search on PGlite (pgvector, graph over vector)", () => hnswSuite(pgliteBackend, false, "vector"));

// CI's PostgreSQL has no pgvector: this suite is skipped there, its title saying why.
(PGVECTOR.available ? describe : describe.skip)(
  `HNSW vector search on PostgreSQL with pgvector, graph over halfvec (${PGVECTOR.available ? PGVECTOR.reason : `skipped: ${PGVECTOR.reason}`})`,
  () => hnswSuite(postgresPgvectorBackend, true, "halfvec"),
);

describe("full text and the no-pgvector mode on PostgreSQL", () => {
  let backend: Backend;

  beforeAll(async () => {
    backend = await postgresBackend();
    await addTenants(backend.db, "ten_big", "ten_other");
    await bulkChunks(backend.db, "ten_big", 300, 1);
    await bulkChunks(backend.db, "ten_other", 50, 1);
    await sql`ANALYZE chunks`.execute(backend.db);
  }, 60_000);
  afterAll(() => backend?.close());

  it("warns that large collections are searched by full text only", async () => {
    const v = await prepareVectorSearch(backend.db, embedder);
    expect(v).toMatchObject({ storage: "real[]", mode: "fulltext-only" });
    expect(v.warning).toMatch(/no pgvector/);
  });

  it("scans vectors in SQL only while the scope is small; past the limit, full text only, marked", async () => {
    const opts: RetrieveOptions = { tenantId: "ten_big", collection: "kb", query: "sourdough", embedder, topK: 10, mode: "vector" };
    const small = await retrieve(backend.db, { ...opts, sqlVectorScanLimit: 3000 });
    expect(small.degraded).toBeUndefined();
    expect(small.results.length).toBe(10);
    const large = await retrieve(backend.db, { ...opts, sqlVectorScanLimit: 2999 });
    expect(large.degraded).toMatchObject({ reason: "no_pgvector" });
    expect(large.results).toEqual([]);
    const hybrid = await retrieve(backend.db, { ...opts, mode: "hybrid", sqlVectorScanLimit: 2999 });
    expect(hybrid.degraded).toMatchObject({ reason: "no_pgvector" });
    expect(hybrid.results.length).toBeGreaterThan(0);
    expect(hybrid.results.every((c) => c.fulltext_rank !== undefined && c.vector_rank === undefined)).toBe(true);
  });

  it("plans full text on indexes with tenant and collection as conditions of the index scan", async () => {
    const planOf = async (query: string) => {
      let plan = "";
      await withoutSeqScan(backend.db, (db) =>
        retrieve(db, { tenantId: "ten_big", collection: "kb", query, embedder, mode: "fulltext", onPlan: (_side, p) => (plan = p) }),
      );
      return plan;
    };
    // At this size the planner takes the scope btree and filters its rows by the tsquery, or the
    // GIN over (tenant_id, collection, tsv) (bench/retrieval.ts shows it at 100 000 chunks): either
    // way the tenant is a condition of the index scan, never a filter over other tenants' rows.
    for (const query of ["sourdough", "sourdough starter levain"]) {
      const plan = await planOf(query);
      expect(plan).toMatch(/Index Cond: \(\(tenant_id = 'ten_big'::text\) AND \(collection = 'kb'::text\)/);
      expect(plan).not.toMatch(/Filter: .*tenant_id/);
    }
  });

  it("ranks at most fulltextMaxRanked matches", async () => {
    const word = topicWords[1]![0]!;
    const heapRows = async (fulltextMaxRanked?: number) => {
      let plan = "";
      await withoutSeqScan(backend.db, (db) =>
        retrieve(db, {
          tenantId: "ten_big",
          collection: "kb",
          query: word,
          embedder,
          mode: "fulltext",
          topK: 5,
          candidates: 5,
          fulltextMaxRanked,
          onPlan: (_side, p) => (plan = p),
        }),
      );
      // The inner Limit: matches read before ranking.
      return Number(/-> {2}Limit .*actual time=[\d.]+\.\.[\d.]+ rows=(\d+)/.exec(plan)?.[1]);
    };
    expect(await heapRows()).toBeGreaterThan(20);
    expect(await heapRows(8)).toBe(8);
  });
});
