import { ModelCatalog, priceUsage } from "./model-catalog";

const entry = { pricing: { input: 3, output: 15, cached_input: 0.3 } };

test("cost is priced per 1M tokens, cached input at its own price", () => {
  expect(priceUsage(entry, { input_tokens: 1_000_000, output_tokens: 0 })).toBe(3);
  expect(priceUsage(entry, { input_tokens: 1000, output_tokens: 500 })).toBeCloseTo(0.003 + 0.0075, 9);
  expect(priceUsage(entry, { input_tokens: 1000, output_tokens: 0, cached_tokens: 1000 })).toBeCloseTo(0.0003, 9);
});

test("a catalog whose default model is missing, or with duplicate ids, is rejected with the path", () => {
  const m = { id: "a", provider: "simulated", upstream_model: "a", tier: "lite", context_window: 1000, max_output_tokens: 100, pricing: { input: 1, output: 1 } };
  const r = ModelCatalog.safeParse({ default_model: "b", models: [m, m] });
  expect(r.success).toBe(false);
  const paths = r.error!.issues.map((i) => i.path.join("."));
  expect(paths).toEqual(expect.arrayContaining(["models.1.id", "default_model"]));
});

test("embedding models are optional, share the id space with chat models, and cannot be the default or Anthropic's", () => {
  const m = { id: "a", provider: "simulated", upstream_model: "a", tier: "lite", context_window: 1000, max_output_tokens: 100, pricing: { input: 1, output: 1 } };
  const e = { id: "e", provider: "openai", upstream_model: "text-embedding-3-small", dimensions: 1536, max_input_tokens: 8192, pricing: { input: 0.02 } };
  expect(ModelCatalog.parse({ default_model: "a", models: [m] }).embedding_models).toBeUndefined();
  expect(ModelCatalog.parse({ default_model: "a", models: [m], embedding_models: [e] }).embedding_models).toEqual([{ ...e, flexible_dimensions: false }]);
  const clash = ModelCatalog.safeParse({ default_model: "e", models: [m], embedding_models: [e, { ...e, id: "a" }] });
  expect(clash.error!.issues.map((i) => i.path.join("."))).toEqual(expect.arrayContaining(["embedding_models.1.id", "default_model"]));
  const anthropic = ModelCatalog.safeParse({ default_model: "a", models: [m], embedding_models: [{ ...e, provider: "anthropic" }] });
  expect(anthropic.error!.issues.map((i) => i.path.join("."))).toEqual(["embedding_models.0.provider"]);
});
