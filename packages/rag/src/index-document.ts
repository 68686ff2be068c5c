import type { Database } from "@switchyard/db";
import { sql, type Kysely } from "kysely";
import { chunkId, chunkText, type ChunkOptions } from "./chunker";
import type { DocumentKey } from "./documents";
import { normalize, type Embedder } from "./embedder";
import { embeddingStorage, embeddingValue } from "./embedding-storage";
import { redactPII } from "@switchyard/telemetry";

/** Options of {@link indexDocument}. */
export interface IndexDocumentOptions extends ChunkOptions {
  /** Texts per `embedder.embed` call. Default 64. */
  embedBatchSize?: number;
  /** Rows per insert statement. Default 200. */
  insertBatchSize?: number;
  signal?: AbortSignal;
}

/** What {@link indexDocument} did. */
export type IndexDocumentResult =
  | { status: "indexed"; chunks: number; model: string }
  /** The document changed while it was being embedded; the newer version's own indexing job does the work. */
  | { status: "stale" }
  /** No such document (deleted meanwhile). */
  | { status: "missing" };

/**
 * Builds a document's chunks: reads it, marks it `indexing`, chunks its text, embeds each chunk
 * together with the document's title, then in ONE transaction locks the document, checks that its content is still the
 * one embedded, deletes the old chunks, inserts the new ones and marks it `indexed`. A reader
 * sees either every old chunk or every new one, never a mix. A failure while embedding marks
 * the document `failed` (with the error) and is re-thrown, so the caller's retry policy applies.
 * Safe to run twice at once for the same document (the row lock orders them).
 */
export async function indexDocument(db: Kysely<Database>, key: DocumentKey, embedder: Embedder, opts: IndexDocumentOptions = {}): Promise<IndexDocumentResult> {
  const doc = await db
    .updateTable("documents")
    .set({ status: "indexing", error: null, updated_at: sql`now()` })
    .where("tenant_id", "=", key.tenantId)
    .where("collection", "=", key.collection)
    .where("id", "=", key.documentId)
    .returning(["title", "text", "source_url", "source_domain", "content_hash"])
    .executeTakeFirst();
  if (!doc) return { status: "missing" };

  let rows: Array<{ id: string; ordinal: number; text: string; tokens: number; vector: number[] }>;
  try {
    const chunks = chunkText(doc.text, opts);
    // Every chunk is embedded with its document's title, as full-text search indexes it with the title.
    const title = doc.title.trim();
    const vectors = await embedAll(
      embedder,
      chunks.map((c) => (title === "" ? c.text : `${title}\n\n${c.text}`)),
      opts.embedBatchSize ?? 64,
      opts.signal,
    );
    rows = chunks.map((c, i) => ({ id: chunkId(key, c.ordinal, c.text), ordinal: c.ordinal, text: c.text, tokens: c.tokens, vector: normalize(vectors[i]!) }));
  } catch (err) {
    await markFailed(db, key, doc.content_hash, err);
    throw err;
  }

  const storage = await embeddingStorage(db);
  const insertBatch = opts.insertBatchSize ?? 200;
  return db.transaction().execute(async (trx) => {
    const locked = await trx
      .selectFrom("documents")
      .select("content_hash")
      .where("tenant_id", "=", key.tenantId)
      .where("collection", "=", key.collection)
      .where("id", "=", key.documentId)
      .forUpdate()
      .executeTakeFirst();
    if (!locked) return { status: "missing" } as const;
    if (locked.content_hash !== doc.content_hash) return { status: "stale" } as const;
    await trx
      .deleteFrom("chunks")
      .where("tenant_id", "=", key.tenantId)
      .where("collection", "=", key.collection)
      .where("document_id", "=", key.documentId)
      .execute();
    for (let i = 0; i < rows.length; i += insertBatch) {
      await trx
        .insertInto("chunks")
        .values(
          rows.slice(i, i + insertBatch).map((r) => ({
            id: r.id,
            tenant_id: key.tenantId,
            collection: key.collection,
            document_id: key.documentId,
            ordinal: r.ordinal,
            title: doc.title,
            source_url: doc.source_url,
            source_domain: doc.source_domain,
            text: r.text,
            tokens: r.tokens,
            embedding_model: embedder.model,
            embedding: embeddingValue(storage, r.vector),
          })),
        )
        .execute();
    }
    await trx
      .updateTable("documents")
      .set({ status: "indexed", error: null, indexed_at: sql`now()`, updated_at: sql`now()` })
      .where("tenant_id", "=", key.tenantId)
      .where("collection", "=", key.collection)
      .where("id", "=", key.documentId)
      .execute();
    return { status: "indexed", chunks: rows.length, model: embedder.model } as const;
  });
}

async function embedAll(embedder: Embedder, texts: string[], batchSize: number, signal: AbortSignal | undefined): Promise<number[][]> {
  const out: number[][] = [];
  for (let i = 0; i < texts.length; i += batchSize) {
    const batch = texts.slice(i, i + batchSize);
    const vectors = await embedder.embed(batch, { signal });
    if (vectors.length !== batch.length) throw new Error(`${embedder.model}: ${vectors.length} embeddings for ${batch.length} texts`);
    for (const v of vectors) {
      if (v.length !== embedder.dimensions) throw new Error(`${embedder.model}: expected ${embedder.dimensions} dimensions, got ${v.length}`);
      out.push(v);
    }
  }
  return out;
}

/** Marks the document failed unless its content changed meanwhile (then the newer version's job owns the status). */
async function markFailed(db: Kysely<Database>, key: DocumentKey, hash: string, err: unknown): Promise<void> {
  const message = redactPII(err instanceof Error ? `${err.name}: ${err.message}` : String(err)).text.slice(0, 1000);
  await db
    .updateTable("documents")
    .set({ status: "failed", error: message, updated_at: sql`now()` })
    .where("tenant_id", "=", key.tenantId)
    .where("collection", "=", key.collection)
    .where("id", "=", key.documentId)
    .where("content_hash", "=", hash)
    .execute();
}
