import { z } from "zod";
import type { EmbeddingModelEntry } from "./model-catalog";

/** OpenAI's limit on inputs in one `POST /v1/embeddings` request. */
export const MAX_EMBEDDING_INPUTS = 2048;

/**
 * OpenAI's embeddings request, whole (an unknown field is a 400, as OpenAI answers). `input` may
 * be token arrays, as tiktoken-based clients send them: the gateway reads them as cl100k_base ids
 * (OpenAI's embedding models' tokenizer) and decodes them to text, so any provider can embed them.
 */
export const OpenAIEmbeddingRequest = z.strictObject({
  model: z.string().min(1, "model must not be empty"),
  input: z.union([z.string(), z.array(z.string()), z.array(z.number()), z.array(z.array(z.number()))], { error: "must be a string or an array of strings" }),
  dimensions: z.number().int().min(1).optional(),
  encoding_format: z.enum(["float", "base64"]).optional(),
  user: z.string().max(256).optional(),
});
export type OpenAIEmbeddingRequest = z.infer<typeof OpenAIEmbeddingRequest>;

/** One vector: numbers, or with `encoding_format: "base64"` the little-endian float32 bytes in base64. */
export const OpenAIEmbedding = z.object({
  object: z.literal("embedding"),
  index: z.number().int().nonnegative(),
  embedding: z.union([z.array(z.number()), z.string()]),
});
export type OpenAIEmbedding = z.infer<typeof OpenAIEmbedding>;

/** OpenAI's embeddings response: vectors in input order, `model` the catalog id that served them. */
export const OpenAIEmbeddingResponse = z.object({
  object: z.literal("list"),
  data: z.array(OpenAIEmbedding),
  model: z.string(),
  usage: z.object({ prompt_tokens: z.number().int().nonnegative(), total_tokens: z.number().int().nonnegative() }),
});
export type OpenAIEmbeddingResponse = z.infer<typeof OpenAIEmbeddingResponse>;

/** OpenAI's model object, as `GET /v1/models` and `GET /v1/models/{id}` serve it (chat and embedding models alike). */
export const OpenAIModel = z.object({
  id: z.string(),
  object: z.literal("model"),
  /** Unix seconds. */
  created: z.number().int(),
  owned_by: z.string(),
});
export type OpenAIModel = z.infer<typeof OpenAIModel>;

/** Cost in USD of embedding `inputTokens` tokens with a catalog embedding model. */
export function priceEmbedding(entry: Pick<EmbeddingModelEntry, "pricing">, inputTokens: number): number {
  return Math.round(((inputTokens * entry.pricing.input) / 1_000_000) * 1e9) / 1e9;
}
