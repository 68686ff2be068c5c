import { createLocalEmbedder, createProviderEmbedder, type Embedder, type EmbeddingProviderLike } from "./embedder";

export interface EmbedderSettings {
  /** `local` (built in, no network) or `openai` (any OpenAI-compatible /v1/embeddings). Default local. */
  provider: "local" | "openai";
  /** Upstream embedding model (openai). */
  model?: string;
  /** Vector length the model returns (openai). */
  dimensions?: number;
}

/**
 * The embedder the system is configured with. Indexing and querying must agree, so the gateway
 * (search) and the rag-worker (indexing, retrieval) both build theirs here from the same settings.
 */
export function selectEmbedder(s: EmbedderSettings, openai: () => EmbeddingProviderLike): Embedder {
  if (s.provider === "local") return createLocalEmbedder();
  if (!s.model || !s.dimensions) throw new Error("EMBEDDINGS_MODEL and EMBEDDINGS_DIMENSIONS are needed with EMBEDDINGS_PROVIDER=openai");
  return createProviderEmbedder(openai(), s.model, s.dimensions);
}
