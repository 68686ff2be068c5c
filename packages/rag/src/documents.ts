import { createHash } from "node:crypto";
import type { Database, DocumentsTable } from "@switchyard/db";
import { sql, type Kysely, type Selectable } from "kysely";
import { z } from "zod";

/** A document row as stored. */
export type DocumentRow = Selectable<DocumentsTable>;

/** Which document: documents are keyed by tenant, collection and id. */
export interface DocumentKey {
  tenantId: string;
  collection: string;
  documentId: string;
}

/** What {@link upsertDocument} accepts. Strict: unknown fields are refused. */
export const UpsertDocumentInput = z.strictObject({
  tenantId: z.string().min(1).max(128),
  collection: z.string().min(1).max(128),
  documentId: z.string().min(1).max(256),
  title: z.string().max(1000).default(""),
  text: z.string().min(1).max(5_000_000),
  /** http(s) only: the host becomes the document's source domain for allow-lists. */
  sourceUrl: z
    .string()
    .max(2048)
    .url()
    .refine((u) => /^https?:/i.test(u), "source_url must be http(s)")
    .nullable()
    .default(null),
  metadata: z.record(z.string().max(64), z.unknown()).default({}),
});
export type UpsertDocumentInput = z.input<typeof UpsertDocumentInput>;

/** What {@link upsertDocument} did. */
export interface UpsertDocumentResult {
  document: DocumentRow;
  /** True when the document is new or its indexed content changed (or the last indexing failed): enqueue indexing. */
  needsIndexing: boolean;
}

/** Lower-cased host of an http(s) URL, without a trailing dot; null without a URL. */
export function sourceDomain(url: string | null): string | null {
  if (url === null) return null;
  return new URL(url).hostname.toLowerCase().replace(/\.$/, "");
}

/** sha256 over what the chunks are made from: title, text and source URL (metadata is not in chunks). */
export function contentHash(doc: { title: string; text: string; sourceUrl: string | null }): string {
  return createHash("sha256")
    .update(JSON.stringify([doc.title, doc.text, doc.sourceUrl]))
    .digest("hex");
}

/**
 * Inserts or updates a document. New, changed (title, text or source URL) or previously failed
 * content gets status `pending` and `needsIndexing`; unchanged content keeps its status and its
 * chunks (a metadata-only change needs no re-indexing). One statement, so concurrent upserts of
 * the same document cannot lose the pending mark.
 */
export async function upsertDocument(db: Kysely<Database>, input: UpsertDocumentInput): Promise<UpsertDocumentResult> {
  const d = UpsertDocumentInput.parse(input);
  const hash = contentHash(d);
  const row = await db
    .insertInto("documents")
    .values({
      tenant_id: d.tenantId,
      collection: d.collection,
      id: d.documentId,
      title: d.title,
      source_url: d.sourceUrl,
      source_domain: sourceDomain(d.sourceUrl),
      metadata: JSON.stringify(d.metadata),
      text: d.text,
      status: "pending",
      content_hash: hash,
    })
    .onConflict((oc) =>
      oc.columns(["tenant_id", "collection", "id"]).doUpdateSet({
        title: (eb) => eb.ref("excluded.title"),
        source_url: (eb) => eb.ref("excluded.source_url"),
        source_domain: (eb) => eb.ref("excluded.source_domain"),
        metadata: (eb) => eb.ref("excluded.metadata"),
        text: (eb) => eb.ref("excluded.text"),
        content_hash: (eb) => eb.ref("excluded.content_hash"),
        status: sql`CASE WHEN documents.content_hash = excluded.content_hash AND documents.status <> 'failed' THEN documents.status ELSE 'pending' END`,
        error: sql`CASE WHEN documents.content_hash = excluded.content_hash AND documents.status <> 'failed' THEN documents.error ELSE NULL END`,
        updated_at: sql`now()`,
      }),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
  return { document: row, needsIndexing: row.status === "pending" };
}

/** A document of a tenant's collection, or undefined. */
export async function getDocument(db: Kysely<Database>, key: DocumentKey): Promise<DocumentRow | undefined> {
  return db
    .selectFrom("documents")
    .selectAll()
    .where("tenant_id", "=", key.tenantId)
    .where("collection", "=", key.collection)
    .where("id", "=", key.documentId)
    .executeTakeFirst();
}

/** Deletes a document and (by cascade, in the same statement) its chunks. True when it existed. */
export async function deleteDocument(db: Kysely<Database>, key: DocumentKey): Promise<boolean> {
  const r = await db
    .deleteFrom("documents")
    .where("tenant_id", "=", key.tenantId)
    .where("collection", "=", key.collection)
    .where("id", "=", key.documentId)
    .executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/** Chunk counts of a document (for GET views and tests). */
export async function countChunks(db: Kysely<Database>, key: DocumentKey): Promise<number> {
  const r = await db
    .selectFrom("chunks")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("tenant_id", "=", key.tenantId)
    .where("collection", "=", key.collection)
    .where("document_id", "=", key.documentId)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}
