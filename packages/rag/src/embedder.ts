import { STOPWORDS } from "./stopwords";

/** Turns texts into vectors. `model` is recorded with every chunk; a query is only compared with chunks of the same model. */
export interface Embedder {
  /** Identifies the vector space, e.g. "local-hash-384-v1" or "openai/text-embedding-3-small". */
  readonly model: string;
  /** Length of every vector `embed` returns. */
  readonly dimensions: number;
  /** One vector per text, in input order. */
  embed(texts: string[], opts?: { signal?: AbortSignal }): Promise<number[][]>;
}

/**
 * The slice of `@switchyard/providers`' `EmbeddingProvider` this package needs (an OpenAI
 * provider satisfies it as it is).
 */
export interface EmbeddingProviderLike {
  readonly name: string;
  embed(texts: string[], model: string, opts?: { signal?: AbortSignal }): Promise<number[][]>;
}

/** The built-in embedder's model id. Changing the features or weights needs a new id, since stored vectors would no longer compare. */
export const LOCAL_EMBEDDING_MODEL = "local-hash-384-v1";
const DIMS = 384;
const WORD_WEIGHT = 1;
const BIGRAM_WEIGHT = 0.7;
const TRIGRAM_WEIGHT = 0.25;

/**
 * A deterministic embedder that needs no network and no model files: feature hashing (signed,
 * FNV-1a 32) of lower-cased word unigrams and bigrams (English stopwords left out) and of the
 * character trigrams of each word (padded, so "#ru", "run", "un#"), into 384 dimensions, with
 * sublinear term frequency (1 + ln tf) and L2 normalisation. It knows no synonyms: it matches
 * shared words, word pairs and word pieces (so "indexing" is near "indexed"), which is what
 * full-text search misses when a query's words are only partly in the text. A text without a
 * single word gives the zero vector.
 */
export function createLocalEmbedder(): Embedder {
  return {
    model: LOCAL_EMBEDDING_MODEL,
    dimensions: DIMS,
    embed: async (texts) => texts.map(localEmbedding),
  };
}

/** The local embedding of one text (see {@link createLocalEmbedder}). */
export function localEmbedding(text: string): number[] {
  const all = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  const content = all.filter((w) => !STOPWORDS.has(w));
  const words = content.length > 0 ? content : all;
  const tf = new Map<string, number>();
  const add = (feature: string) => tf.set(feature, (tf.get(feature) ?? 0) + 1);
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    add(`w ${w}`);
    if (i > 0) add(`b ${words[i - 1]} ${w}`);
    const padded = `#${w}#`;
    for (let j = 0; j + 3 <= padded.length; j++) add(`c ${padded.slice(j, j + 3)}`);
  }
  const v = new Float64Array(DIMS);
  for (const [feature, n] of tf) {
    const weight = feature[0] === "w" ? WORD_WEIGHT : feature[0] === "b" ? BIGRAM_WEIGHT : TRIGRAM_WEIGHT;
    const h = fnv1a(feature);
    v[h % DIMS]! += (h & 0x80000000 ? -1 : 1) * weight * (1 + Math.log(n));
  }
  return normalize(Array.from(v));
}

/** FNV-1a, 32 bit, over UTF-16 code units. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Scaled to length 1 (cosine = dot product); the zero vector stays zero. */
export function normalize(v: readonly number[]): number[] {
  let sum = 0;
  for (const x of v) sum += x * x;
  const norm = Math.sqrt(sum);
  return norm === 0 ? v.slice() : v.map((x) => x / norm);
}

/** Options of {@link createProviderEmbedder}. */
export interface ProviderEmbedderOptions {
  /** Texts per provider request. Default 64. */
  batchSize?: number;
}

/**
 * Embeddings from a configured provider (an OpenAI-compatible `/v1/embeddings`). The recorded
 * model is `<provider name>/<model>`, so the same model name served by two providers never
 * shares a vector space. A vector of the wrong length is an error (the provider's model does
 * not match the configured `dimensions`), thrown as {@link EmbeddingDimensionError}.
 */
export function createProviderEmbedder(provider: EmbeddingProviderLike, model: string, dimensions: number, opts: ProviderEmbedderOptions = {}): Embedder {
  const batchSize = opts.batchSize ?? 64;
  const id = `${provider.name}/${model}`;
  return {
    model: id,
    dimensions,
    async embed(texts, callOpts) {
      const out: number[][] = [];
      for (let i = 0; i < texts.length; i += batchSize) {
        const vectors = await provider.embed(texts.slice(i, i + batchSize), model, callOpts);
        for (const v of vectors) {
          if (v.length !== dimensions) throw new EmbeddingDimensionError(id, dimensions, v.length);
          out.push(v);
        }
      }
      return out;
    },
  };
}

/** The provider returned vectors of another length than configured: a configuration error, not worth retrying. */
export class EmbeddingDimensionError extends Error {
  override readonly name = "EmbeddingDimensionError";
  readonly code = "embedding_dimensions";
  readonly retryable = false;
  constructor(
    readonly model: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`${model}: expected ${expected}-dimensional embeddings, got ${actual}`);
  }
}
