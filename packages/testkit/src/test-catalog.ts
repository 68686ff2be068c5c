import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ModelCatalog } from "@switchyard/contracts";

/**
 * Models for tests: a fast and a slow simulated one, a failing one, and an OpenAI-compatible one
 * (served by a fake server when OPENAI_BASE_URL/OPENAI_API_KEY point at it).
 */
export const TEST_CATALOG: ModelCatalog = {
  default_model: "sim-fast",
  models: [
    {
      id: "sim-fast",
      provider: "simulated",
      upstream_model: "sim-fast",
      tier: "flash",
      capabilities: { vision: false, long_context: false, tools: true, json_schema: true },
      context_window: 32000,
      max_output_tokens: 4096,
      pricing: { input: 1, output: 2, cached_input: 0 },
      simulated: { ttft_ms: 5, tokens_per_second: 2000, failure_rate: 0 },
    },
    {
      id: "sim-lite",
      provider: "simulated",
      upstream_model: "sim-lite",
      tier: "lite",
      capabilities: { vision: false, long_context: false, tools: true, json_schema: true },
      context_window: 32000,
      max_output_tokens: 4096,
      pricing: { input: 0.5, output: 1, cached_input: 0 },
      simulated: { ttft_ms: 5, tokens_per_second: 2000, failure_rate: 0 },
    },
    {
      id: "sim-slow",
      provider: "simulated",
      upstream_model: "sim-slow",
      tier: "pro",
      capabilities: { vision: false, long_context: false, tools: true, json_schema: true },
      context_window: 32000,
      max_output_tokens: 4096,
      pricing: { input: 3, output: 15, cached_input: 0 },
      simulated: { ttft_ms: 50, tokens_per_second: 20, failure_rate: 0 },
    },
    {
      id: "sim-crawl",
      provider: "simulated",
      upstream_model: "sim-crawl",
      tier: "lite",
      capabilities: { vision: false, long_context: false, tools: true, json_schema: true },
      context_window: 32000,
      max_output_tokens: 4096,
      pricing: { input: 0.1, output: 0.2, cached_input: 0 },
      simulated: { ttft_ms: 2500, tokens_per_second: 50, failure_rate: 0 },
    },
    {
      id: "sim-flaky",
      provider: "simulated",
      upstream_model: "sim-flaky",
      tier: "lite",
      capabilities: { vision: false, long_context: false, tools: true, json_schema: true },
      context_window: 32000,
      max_output_tokens: 4096,
      pricing: { input: 0.1, output: 0.2, cached_input: 0 },
      simulated: { ttft_ms: 5, tokens_per_second: 2000, failure_rate: 1 },
    },
    {
      id: "gpt-test",
      provider: "openai",
      upstream_model: "gpt-4o-mini",
      tier: "flash",
      capabilities: { vision: false, long_context: false, tools: true, json_schema: true },
      context_window: 128000,
      max_output_tokens: 16384,
      pricing: { input: 0.15, output: 0.6, cached_input: 0.075 },
    },
  ],
};

/**
 * Embedding models for tests (add them as `embedding_models`; TEST_CATALOG has none, so tests
 * that list its models are unchanged): simulated ones with and without `dimensions`, and one per
 * fake (8 dimensions, the fakes' default length).
 */
export const TEST_EMBEDDING_MODELS: NonNullable<ModelCatalog["embedding_models"]> = [
  { id: "emb-sim", provider: "simulated", upstream_model: "emb-sim", dimensions: 64, flexible_dimensions: true, max_input_tokens: 512, pricing: { input: 50 } },
  {
    id: "emb-sim-fixed",
    provider: "simulated",
    upstream_model: "emb-sim-fixed",
    dimensions: 32,
    flexible_dimensions: false,
    max_input_tokens: 512,
    pricing: { input: 50 },
  },
  {
    id: "emb-openai",
    provider: "openai",
    upstream_model: "text-embedding-3-small",
    dimensions: 8,
    flexible_dimensions: true,
    max_input_tokens: 8192,
    pricing: { input: 20 },
  },
  {
    id: "emb-gemini",
    provider: "gemini",
    upstream_model: "gemini-embedding-001",
    dimensions: 8,
    flexible_dimensions: true,
    max_input_tokens: 2048,
    pricing: { input: 15 },
  },
];

type CatalogModel = ModelCatalog["models"][number];
type Pricing = CatalogModel["pricing"];

/** One model on an OpenAI-compatible upstream (a FakeOpenAI): `id` is also its upstream model name. */
export function openAIModel(id: string, pricing: Pricing = { input: 1, output: 2, cached_input: 0 }): CatalogModel {
  return {
    id,
    provider: "openai",
    upstream_model: id,
    tier: "flash",
    capabilities: { vision: false, long_context: false },
    context_window: 128000,
    max_output_tokens: 4096,
    pricing,
  };
}

/** One simulated model (no upstream) answering at `simulated`'s pace. */
export function simulatedModel(id: string, pace: { ttft_ms: number; tokens_per_second: number }): CatalogModel {
  return {
    id,
    provider: "simulated",
    upstream_model: id,
    tier: "flash",
    capabilities: { vision: false, long_context: false },
    context_window: 32000,
    max_output_tokens: 4096,
    pricing: { input: 1, output: 2, cached_input: 0 },
    simulated: { ...pace, failure_rate: 0 },
  };
}

/** A catalog of one {@link openAIModel}, its default. */
export const oneOpenAIModelCatalog = (id: string, pricing?: Pricing): ModelCatalog => ({ default_model: id, models: [openAIModel(id, pricing)] });

/** Write a catalog to a temp file; returns its path (for MODEL_CATALOG_PATH). */
export function writeTestCatalog(catalog: ModelCatalog = TEST_CATALOG): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "sy-catalog-"));
  const file = path.join(dir, "models.json");
  writeFileSync(file, JSON.stringify(catalog, null, 2));
  return file;
}
