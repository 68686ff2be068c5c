import { z } from "zod";

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const CollectionName = z.string().regex(ID, "collection must be 1-128 letters, digits, '.', '_' or '-'");
export const DocumentId = z.string().regex(ID, "id must be 1-128 letters, digits, '.', '_' or '-'");

/** Body of `POST /v1/collections/{c}/documents`. */
export const CreateDocumentRequest = z.strictObject({
  id: DocumentId.optional(),
  title: z.string().trim().min(1).max(500),
  text: z.string().min(1, "text must not be empty").max(2_000_000),
  source_url: z.string().url().max(2000).optional(),
  metadata: z.record(z.string().max(64), z.union([z.string().max(1000), z.number(), z.boolean(), z.null()])).optional(),
});
export type CreateDocumentRequest = z.infer<typeof CreateDocumentRequest>;

/** Body of `POST /v1/collections/{c}/search`. */
export const SearchRequest = z.strictObject({
  query: z.string().trim().min(1).max(4000),
  top_k: z.number().int().min(1).max(50).default(5),
  mode: z.enum(["hybrid", "fulltext", "vector"]).default("hybrid"),
});
export type SearchRequest = z.infer<typeof SearchRequest>;

export const RetrievedChunk = z.object({
  chunk_id: z.string(),
  document_id: z.string(),
  title: z.string().nullable(),
  source_url: z.string().nullable(),
  text: z.string(),
  score: z.number(),
});
export type RetrievedChunk = z.infer<typeof RetrievedChunk>;

/** What a retrieval child job returns to its route job. */
export const RagResult = z.object({
  chunks: z.array(RetrievedChunk),
  no_sources: z.boolean(),
  redacted_query: z.string(),
  embedding_model: z.string(),
});
export type RagResult = z.infer<typeof RagResult>;
