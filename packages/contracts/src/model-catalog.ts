import { z } from "zod";

export const ProviderName = z.enum(["simulated", "openai", "anthropic", "gemini"]);
export type ProviderName = z.infer<typeof ProviderName>;
export const ModelTier = z.enum(["lite", "flash", "pro"]);
export type ModelTier = z.infer<typeof ModelTier>;

/** Behaviour of the built-in `simulated` provider for one catalog entry. */
export const SimulatedBehaviour = z.strictObject({
  ttft_ms: z.number().int().min(0).default(50),
  tokens_per_second: z.number().positive().default(200),
  failure_rate: z.number().min(0).max(1).default(0),
});
export type SimulatedBehaviour = z.infer<typeof SimulatedBehaviour>;

/**
 * What a batch line pays for every token, USD per 1M; `cached_input` absent is the interactive
 * cached price times {@link DEFAULT_BATCH_DISCOUNT}.
 */
export const BatchPricing = z.strictObject({ input: z.number().min(0), output: z.number().min(0), cached_input: z.number().min(0).optional() });
export type BatchPricing = z.infer<typeof BatchPricing>;

/**
 * The share of the interactive price a batch line pays when its model names no batch price:
 * OpenAI's Batch API (and Anthropic's Message Batches, and Gemini's batch mode) bill batch
 * requests at 50 % of the interactive price, and Switchyard's batch lines run at the lowest
 * priority like theirs, so the same default.
 */
export const DEFAULT_BATCH_DISCOUNT = 0.5;

export const ModelEntry = z.strictObject({
  id: z.string().min(1),
  provider: ProviderName,
  upstream_model: z.string().min(1),
  tier: ModelTier,
  capabilities: z
    .strictObject({
      vision: z.boolean().default(false),
      long_context: z.boolean().default(false),
      /** Function tools (`tools`, `tool_choice`, tool calls in answers). Absent means false. */
      tools: z.boolean().optional(),
      /** `response_format` json_schema (structured output). Absent means false. */
      json_schema: z.boolean().optional(),
    })
    .default({ vision: false, long_context: false }),
  context_window: z.number().int().positive(),
  max_output_tokens: z.number().int().positive(),
  /**
   * USD per 1M tokens. `batch`: the Batch API's prices (a batch line's usage); absent, they are the
   * interactive prices times {@link DEFAULT_BATCH_DISCOUNT}.
   */
  pricing: z.strictObject({ input: z.number().min(0), output: z.number().min(0), cached_input: z.number().min(0).default(0), batch: BatchPricing.optional() }),
  simulated: SimulatedBehaviour.optional(),
});
export type ModelEntry = z.infer<typeof ModelEntry>;

/**
 * An embedding model, served by `POST /v1/embeddings` only (chat routing never sees it).
 * Anthropic has no embeddings API, so it is not a provider here.
 */
export const EmbeddingModelEntry = z.strictObject({
  id: z.string().min(1),
  provider: ProviderName.exclude(["anthropic"]),
  upstream_model: z.string().min(1),
  /** Length of the vectors the model returns by default (and the most `dimensions` may ask for). */
  dimensions: z.number().int().positive(),
  /** The model can return shorter vectors (OpenAI `dimensions`, Gemini `outputDimensionality`). Default false. */
  flexible_dimensions: z.boolean().default(false),
  /** Tokens one input may hold (OpenAI's models: 8192). */
  max_input_tokens: z.number().int().positive(),
  /** USD per 1M input tokens; `batch`: a batch line's (absent: `input` times {@link DEFAULT_BATCH_DISCOUNT}). */
  pricing: z.strictObject({ input: z.number().min(0), batch: z.strictObject({ input: z.number().min(0) }).optional() }),
});
export type EmbeddingModelEntry = z.infer<typeof EmbeddingModelEntry>;

export const ModelCatalog = z
  .strictObject({
    default_model: z.string().min(1),
    models: z.array(ModelEntry).min(1),
    /** Embedding models; absent means none (optional, so catalogs written before it keep their type). */
    embedding_models: z.array(EmbeddingModelEntry).optional(),
  })
  .superRefine((c, ctx) => {
    const ids = new Set<string>();
    for (const [i, m] of c.models.entries()) {
      if (ids.has(m.id)) ctx.addIssue({ code: "custom", path: ["models", i, "id"], message: `duplicate model id ${m.id}` });
      ids.add(m.id);
    }
    // One id space: `GET /v1/models/{id}` lists and finds chat and embedding models alike.
    for (const [i, m] of (c.embedding_models ?? []).entries()) {
      if (ids.has(m.id)) ctx.addIssue({ code: "custom", path: ["embedding_models", i, "id"], message: `duplicate model id ${m.id}` });
      ids.add(m.id);
    }
    if (!c.models.some((m) => m.id === c.default_model))
      ctx.addIssue({ code: "custom", path: ["default_model"], message: `default_model ${c.default_model} is not in models` });
  });
export type ModelCatalog = z.infer<typeof ModelCatalog>;

/** Cost in USD of an embeddings call of `tokens` input tokens; `batch`: a batch line's, at the model's batch price. */
export function priceEmbeddingUsage(entry: Pick<EmbeddingModelEntry, "pricing">, tokens: number, opts: { batch?: boolean } = {}): number {
  const perMillion = opts.batch ? (entry.pricing.batch?.input ?? entry.pricing.input * DEFAULT_BATCH_DISCOUNT) : entry.pricing.input;
  return Math.round(((tokens * perMillion) / 1_000_000) * 1e9) / 1e9;
}

/** A model's prices per 1M tokens for a batch line: its `pricing.batch`, else its interactive prices times {@link DEFAULT_BATCH_DISCOUNT}. */
export function batchPrices(entry: Pick<ModelEntry, "pricing">): { input: number; output: number; cached_input: number } {
  const p = entry.pricing;
  const d = DEFAULT_BATCH_DISCOUNT;
  if (p.batch) return { input: p.batch.input, output: p.batch.output, cached_input: p.batch.cached_input ?? p.cached_input * d };
  return { input: p.input * d, output: p.output * d, cached_input: p.cached_input * d };
}

/**
 * Cost in USD of a call, priced from the catalog entry of the model that served it; `batch`: a
 * batch line's call, at the model's batch prices ({@link batchPrices}).
 */
export function priceUsage(
  entry: Pick<ModelEntry, "pricing">,
  usage: { input_tokens: number; output_tokens: number; cached_tokens?: number },
  opts: { batch?: boolean } = {},
): number {
  const cached = Math.min(usage.cached_tokens ?? 0, usage.input_tokens);
  const price = opts.batch ? batchPrices(entry) : entry.pricing;
  const usd = ((usage.input_tokens - cached) * price.input + cached * price.cached_input + usage.output_tokens * price.output) / 1_000_000;
  return Math.round(usd * 1e9) / 1e9;
}
