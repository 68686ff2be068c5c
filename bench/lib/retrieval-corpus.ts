/**
 * The generated corpus of `bench/retrieval.ts`: chunk texts drawn from the test corpus's topic
 * vocabulary and filler, bulk-loaded in multi-row inserts or indexed through the product's path,
 * and the queries (paraphrases and vocabulary words) run against them.
 */
import type { Database } from "@switchyard/db";
import type { Kysely } from "kysely";
import { chunkId, embeddingStorage, embeddingValue, indexDocument, localEmbedding, upsertDocument } from "../../packages/rag/src";
import { buildCorpus, rng } from "../../packages/rag/src/__tests__/corpus";
import { TOPICS } from "../../packages/rag/src/__tests__/corpus-topics";
import { BATCH, CHUNKS_PER_DOC, COLLECTION, CORPUS, embedder, TENANT } from "./retrieval-config";

const vocabulary = [...new Set(TOPICS.flatMap((t) => [...t.shared, ...t.docs.flatMap((d) => [...d.terms, ...d.title.toLowerCase().split(" ")])]))];
const topicWords = TOPICS.flatMap((t) => t.docs.map((d) => [...t.shared, ...d.terms, ...d.title.toLowerCase().split(" ")]));
const paraphrases = TOPICS.flatMap((t) => t.docs.map((d) => d.paraphrase));
const filler = buildCorpus(1).docs.flatMap((d) => d.text.split(/\s+/));

export function chunkTextFor(doc: number, r: () => number): string {
  const pool = CORPUS === "random" ? vocabulary : topicWords[doc % topicWords.length]!;
  const words = [
    ...Array.from({ length: 12 }, () => pool[Math.floor(r() * pool.length)]),
    ...Array.from({ length: 58 }, () => filler[Math.floor(r() * filler.length)]),
  ];
  return words.sort(() => r() - 0.5).join(" ");
}

/** Adds documents `fromDoc`..`toDoc`-1 of CHUNKS_PER_DOC chunks each to `tenant`, in multi-row inserts; returns seconds. */
export async function fill(db: Kysely<Database>, tenant: string, fromDoc: number, toDoc: number): Promise<number> {
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
export async function indexingThroughput(db: Kysely<Database>, size: number, seconds: number): Promise<number> {
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

export function queries(seed: number, n: number): string[] {
  const r = rng(seed);
  return Array.from({ length: n }, () =>
    r() < 0.3
      ? paraphrases[Math.floor(r() * paraphrases.length)]!
      : Array.from({ length: 1 + Math.floor(r() * 3) }, () => vocabulary[Math.floor(r() * vocabulary.length)]).join(" "),
  );
}
