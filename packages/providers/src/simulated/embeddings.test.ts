import type { EmbeddingModelEntry } from "@switchyard/contracts";
import { createProviderRegistry } from "../registry";
import { createSimulatedEmbedder, simulatedEmbedding } from "./embeddings";

const norm = (v: number[]) => Math.hypot(...v);
const dot = (a: number[], b: number[]) => a.reduce((acc, x, i) => acc + x * b[i]!, 0);

describe("simulated embedder", () => {
  it("is deterministic, unit length, and as long as asked", async () => {
    const e = createSimulatedEmbedder({ dimensions: 48 });
    const a = await e.createEmbeddings({ model: "x", input: ["The cat sat", "The cat sat", "!!!", "😀"] });
    expect(a.usage).toBeNull();
    expect(a.vectors).toHaveLength(4);
    expect(a.vectors[0]).toEqual(a.vectors[1]);
    for (const v of a.vectors) {
      expect(v).toHaveLength(48);
      expect(norm(v)).toBeCloseTo(1, 9);
    }
    const short = await e.createEmbeddings({ model: "x", input: ["The cat sat"], dimensions: 7 });
    expect(short.vectors[0]).toHaveLength(7);
    expect(norm(short.vectors[0]!)).toBeCloseTo(1, 9);
  });

  it("puts texts that share words nearer than texts that do not", () => {
    const [a, b, c] = ["the cat sat on the mat", "a cat sat on a mat", "quarterly revenue grew"].map((t) => simulatedEmbedding(t, 256)) as [
      number[],
      number[],
      number[],
    ];
    expect(dot(a, b)).toBeGreaterThan(0.5);
    expect(dot(a, b)).toBeGreaterThan(dot(a, c));
  });

  it("honours an aborted signal", async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(createSimulatedEmbedder().createEmbeddings({ model: "x", input: ["a"], signal: ac.signal })).rejects.toThrow();
  });
});

describe("registry.forEmbeddingModel", () => {
  const entry = (over: Partial<EmbeddingModelEntry>): EmbeddingModelEntry => ({
    id: "e",
    provider: "openai",
    upstream_model: "text-embedding-3-small",
    dimensions: 12,
    flexible_dimensions: true,
    max_input_tokens: 8192,
    pricing: { input: 0.02 },
    ...over,
  });

  it("simulates a model whose provider has no key, at the model's length", async () => {
    const reg = createProviderRegistry();
    for (const provider of ["simulated", "openai", "gemini"] as const) {
      const r = reg.forEmbeddingModel(entry({ provider }));
      expect(r.simulated).toBe(true);
      const out = await r.provider.createEmbeddings({ model: "m", input: ["hi"] });
      expect(out.vectors[0]).toHaveLength(12);
    }
    await reg.close();
  });

  it("uses the real provider when its key is set", async () => {
    const reg = createProviderRegistry({ openai: { baseUrl: "http://127.0.0.1:9/v1", apiKey: "sk-x" }, gemini: { apiKey: "g-x" } });
    expect(reg.forEmbeddingModel(entry({ provider: "openai" }))).toMatchObject({ simulated: false, provider: { name: "openai" } });
    expect(reg.forEmbeddingModel(entry({ provider: "gemini" }))).toMatchObject({ simulated: false, provider: { name: "gemini" } });
    expect(reg.forEmbeddingModel(entry({ provider: "simulated" })).simulated).toBe(true);
    await reg.close();
  });
});
