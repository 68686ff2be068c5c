import type { EmbeddingModelProvider, EmbeddingRequest, EmbeddingResult } from "../types";

/** Options of {@link createSimulatedEmbedder}. */
export interface SimulatedEmbedderOptions {
  /** Name reported by the provider. Default `"simulated"`. */
  name?: string;
  /** Vector length when a request has no `dimensions`. Default 256. */
  dimensions?: number;
}

const WORD_WEIGHT = 1;
const BIGRAM_WEIGHT = 0.7;
const TRIGRAM_WEIGHT = 0.25;
const TEXT_WEIGHT = 0.1;

/**
 * A deterministic embedder that needs no network (the idea of the rag package's local embedder):
 * signed feature hashing (FNV-1a 32) of lower-cased words, word pairs and character trigrams, plus
 * the whole text, into `dimensions` slots, with sublinear term frequency and unit length. Same
 * text and length → same vector; texts sharing words are near each other. Reports no usage (the
 * gateway counts the tokens it bills).
 */
export function createSimulatedEmbedder(opts: SimulatedEmbedderOptions = {}): EmbeddingModelProvider {
  const name = opts.name ?? "simulated";
  const fallback = opts.dimensions ?? 256;
  return {
    name,
    createEmbeddings: async (req: EmbeddingRequest): Promise<EmbeddingResult> => {
      req.signal?.throwIfAborted();
      const dims = req.dimensions ?? fallback;
      return { vectors: req.input.map((text) => simulatedEmbedding(text, dims)), usage: null };
    },
  };
}

/** The simulated embedding of one text (see {@link createSimulatedEmbedder}); always unit length. */
export function simulatedEmbedding(text: string, dimensions: number): number[] {
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  const tf = new Map<string, number>();
  const add = (feature: string) => tf.set(feature, (tf.get(feature) ?? 0) + 1);
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    add(`w ${w}`);
    if (i > 0) add(`b ${words[i - 1]} ${w}`);
    const padded = `#${w}#`;
    for (let j = 0; j + 3 <= padded.length; j++) add(`c ${padded.slice(j, j + 3)}`);
  }
  // The whole text too, so text without a single word (punctuation, emoji) still has a direction.
  add(`t ${text}`);
  const v = new Float64Array(dimensions);
  for (const [feature, n] of tf) {
    const weight = feature[0] === "w" ? WORD_WEIGHT : feature[0] === "b" ? BIGRAM_WEIGHT : feature[0] === "c" ? TRIGRAM_WEIGHT : TEXT_WEIGHT;
    const h = fnv1a(feature);
    v[h % dimensions]! += (h & 0x80000000 ? -1 : 1) * weight * (1 + Math.log(n));
  }
  let sum = 0;
  for (const x of v) sum += x * x;
  // Features can cancel out exactly: fall back to a fixed unit vector rather than a zero one.
  if (sum === 0) v[fnv1a(text) % dimensions] = 1;
  const norm = Math.sqrt(sum) || 1;
  return Array.from(v, (x) => x / norm);
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
