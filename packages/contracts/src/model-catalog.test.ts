import { batchPrices, DEFAULT_BATCH_DISCOUNT, ModelCatalog, priceEmbeddingUsage, priceUsage } from "./model-catalog";

const entry = { pricing: { input: 3, output: 15, cached_input: 0.3 } };

test("cost is priced per 1M tokens, cached input at its own price", () => {
  expect(priceUsage(entry, { input_tokens: 1_000_000, output_tokens: 0 })).toBe(3);
  expect(priceUsage(entry, { input_tokens: 1000, output_tokens: 500 })).toBeCloseTo(0.003 + 0.0075, 9);
  expect(priceUsage(entry, { input_tokens: 1000, output_tokens: 0, cached_tokens: 1000 })).toBeCloseTo(0.0003, 9);
});

test("a batch line pays the model's batch price, or half the interactive price when it names none", () => {
  const usage = { input_tokens: 1000, output_tokens: 500, cached_tokens: 200 };
  const full = priceUsage(entry, usage);
  expect(priceUsage(entry, usage, { batch: true })).toBeCloseTo(full * DEFAULT_BATCH_DISCOUNT, 9);
  expect(priceUsage(entry, usage, { batch: false })).toBe(full);
  const priced = { pricing: { ...entry.pricing, batch: { input: 1, output: 5 } } };
  // Explicit prices win; cached input absent from them is the discounted interactive one.
  expect(priceUsage(priced, usage, { batch: true })).toBeCloseTo((800 * 1 + 200 * 0.3 * DEFAULT_BATCH_DISCOUNT + 500 * 5) / 1e6, 9);
  expect(batchPrices({ pricing: { ...entry.pricing, batch: { input: 1, output: 5, cached_input: 0.1 } } })).toEqual({ input: 1, output: 5, cached_input: 0.1 });
  // The catalog schema takes it, and refuses a negative price.
  const m = {
    id: "a",
    provider: "simulated",
    upstream_model: "a",
    tier: "lite",
    context_window: 1000,
    max_output_tokens: 100,
    pricing: { input: 1, output: 1, batch: { input: 0.4, output: 0.4 } },
  };
  expect(ModelCatalog.parse({ default_model: "a", models: [m] }).models[0]!.pricing.batch).toEqual({ input: 0.4, output: 0.4 });
  expect(
    ModelCatalog.safeParse({
      default_model: "a",
      models: [{ ...m, pricing: { input: 1, output: 1, batch: { input: -1, output: 1 } } }],
    }).error!.issues[0]!.path.join("."),
  ).toBe("models.0.pricing.batch.input");
});

test("an embeddings batch line pays the model's batch input price, or half its input price", () => {
  expect(priceEmbeddingUsage({ pricing: { input: 20 } }, 1000)).toBeCloseTo(0.02, 9);
  expect(priceEmbeddingUsage({ pricing: { input: 20 } }, 1000, { batch: true })).toBeCloseTo(0.02 * DEFAULT_BATCH_DISCOUNT, 9);
  expect(priceEmbeddingUsage({ pricing: { input: 20, batch: { input: 4 } } }, 1000, { batch: true })).toBeCloseTo(0.004, 9);
});

test("a catalog whose default model is missing, or with duplicate ids, is rejected with the path", () => {
  const m = {
    id: "a",
    provider: "simulated",
    upstream_model: "a",
    tier: "lite",
    context_window: 1000,
    max_output_tokens: 100,
    pricing: { input: 1, output: 1 },
  };
  const r = ModelCatalog.safeParse({ default_model: "b", models: [m, m] });
  expect(r.success).toBe(false);
  const paths = r.error!.issues.map((i) => i.path.join("."));
  expect(paths).toEqual(expect.arrayContaining(["models.1.id", "default_model"]));
});

test("embedding models are optional, share the id space with chat models, and cannot be the default or Anthropic's", () => {
  const m = {
    id: "a",
    provider: "simulated",
    upstream_model: "a",
    tier: "lite",
    context_window: 1000,
    max_output_tokens: 100,
    pricing: { input: 1, output: 1 },
  };
  const e = { id: "e", provider: "openai", upstream_model: "text-embedding-3-small", dimensions: 1536, max_input_tokens: 8192, pricing: { input: 0.02 } };
  expect(ModelCatalog.parse({ default_model: "a", models: [m] }).embedding_models).toBeUndefined();
  expect(ModelCatalog.parse({ default_model: "a", models: [m], embedding_models: [e] }).embedding_models).toEqual([{ ...e, flexible_dimensions: false }]);
  const clash = ModelCatalog.safeParse({ default_model: "e", models: [m], embedding_models: [e, { ...e, id: "a" }] });
  expect(clash.error!.issues.map((i) => i.path.join("."))).toEqual(expect.arrayContaining(["embedding_models.1.id", "default_model"]));
  const anthropic = ModelCatalog.safeParse({ default_model: "a", models: [m], embedding_models: [{ ...e, provider: "anthropic" }] });
  expect(anthropic.error!.issues.map((i) => i.path.join("."))).toEqual(["embedding_models.0.provider"]);
});
