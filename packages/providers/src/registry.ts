import type { EmbeddingModelEntry, ModelEntry, ProviderName } from "@switchyard/contracts";
import { createAnthropicProvider, type AnthropicProviderOptions } from "./anthropic";
import { createGeminiProvider, type GeminiProviderOptions } from "./gemini";
import { createOpenAIProvider, type OpenAIProviderOptions } from "./openai";
import { createSimulatedEmbedder, createSimulatedProvider } from "./simulated";
import type { ChatProvider, EmbeddingModelProvider } from "./types";

/** Options of {@link createProviderRegistry}. A provider without options is served by `simulated`. */
export interface ProviderRegistryOptions {
  /** OpenAI or any OpenAI-compatible API; needs a non-empty `apiKey` to be used. */
  openai?: OpenAIProviderOptions;
  /** Anthropic Messages API; needs a non-empty `apiKey` to be used. */
  anthropic?: AnthropicProviderOptions;
  /** Google Gemini API; needs a non-empty `apiKey` to be used. */
  gemini?: GeminiProviderOptions;
  /** Randomness for the simulated providers' failure injection. Default `Math.random`. */
  simulatedRandom?: () => number;
}

/** The provider that serves one catalog entry; `simulated` is true when no real API is configured for it. */
export interface ResolvedProvider {
  provider: ChatProvider;
  simulated: boolean;
}

/** The embedder that serves one catalog embedding model; `simulated` is true when no real API is configured for it. */
export interface ResolvedEmbedder {
  provider: EmbeddingModelProvider;
  simulated: boolean;
}

export interface ProviderRegistry {
  /** The provider for a catalog entry: the real one when configured, else the simulated one. */
  forModel(entry: ModelEntry): ResolvedProvider;
  /** The embedder for a catalog embedding model: the real API when configured, else the simulated embedder (with the model's `dimensions`). */
  forEmbeddingModel(entry: EmbeddingModelEntry): ResolvedEmbedder;
  /** Closes every connection pool the registry opened. */
  close(): Promise<void>;
}

interface RealProvider extends ChatProvider {
  close?(): Promise<void>;
  createEmbeddings?: EmbeddingModelProvider["createEmbeddings"];
}

type Factory = (opts: ProviderRegistryOptions) => RealProvider | null;

const hasKey = (o: { apiKey: string } | undefined): boolean => o !== undefined && o.apiKey.trim() !== "";

// One explicit entry per provider name; `null` means "not configured here → simulated".
const factories: Record<ProviderName, Factory> = {
  simulated: () => null,
  openai: (opts) => (opts.openai && hasKey(opts.openai) ? createOpenAIProvider(opts.openai) : null),
  anthropic: (opts) => (opts.anthropic && hasKey(opts.anthropic) ? createAnthropicProvider(opts.anthropic) : null),
  gemini: (opts) => (opts.gemini && hasKey(opts.gemini) ? createGeminiProvider(opts.gemini) : null),
};

/**
 * Maps catalog entries to providers. Each real provider (and its connection pool) is created
 * once, on first use; simulated providers are cached per behaviour and output cap. With no
 * keys at all every entry is simulated, so the gateway still answers.
 */
export function createProviderRegistry(opts: ProviderRegistryOptions = {}): ProviderRegistry {
  const real = new Map<ProviderName, RealProvider | null>();
  const simulated = new Map<string, ChatProvider>();
  const simulatedEmbedders = new Map<number, EmbeddingModelProvider>();

  function realFor(name: ProviderName): RealProvider | null {
    if (!real.has(name)) real.set(name, factories[name](opts));
    return real.get(name) ?? null;
  }

  // Catalog entries are loaded once and never mutated: remember each one's provider, so admission
  // (which asks for every allowed model on every request) does not serialise its behaviour each time.
  const byEntry = new WeakMap<ModelEntry, ChatProvider>();
  function simulatedFor(entry: ModelEntry): ChatProvider {
    const known = byEntry.get(entry);
    if (known) return known;
    const behaviour = entry.simulated ?? {};
    // The entry's output cap bounds the answers too, so entries that differ only in it need their own provider.
    const key = JSON.stringify([behaviour, entry.max_output_tokens]);
    let provider = simulated.get(key);
    if (!provider) {
      provider = createSimulatedProvider(behaviour, { random: opts.simulatedRandom, maxOutputTokens: entry.max_output_tokens });
      simulated.set(key, provider);
    }
    byEntry.set(entry, provider);
    return provider;
  }

  return {
    forModel(entry) {
      const provider = entry.provider === "simulated" ? null : realFor(entry.provider);
      return provider ? { provider, simulated: false } : { provider: simulatedFor(entry), simulated: true };
    },
    forEmbeddingModel(entry) {
      const real = entry.provider === "simulated" ? null : realFor(entry.provider);
      if (real?.createEmbeddings) return { provider: { name: real.name, createEmbeddings: real.createEmbeddings }, simulated: false };
      let provider = simulatedEmbedders.get(entry.dimensions);
      if (!provider) {
        provider = createSimulatedEmbedder({ dimensions: entry.dimensions });
        simulatedEmbedders.set(entry.dimensions, provider);
      }
      return { provider, simulated: true };
    },
    async close() {
      const open = [...real.values()];
      real.clear();
      await Promise.all(open.map(async (p) => p?.close?.()));
    },
  };
}
