import { createLocalEmbedder, createProviderEmbedder, EmbeddingDimensionError, LOCAL_EMBEDDING_MODEL, localEmbedding } from "./embedder";

const cos = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);

describe("createLocalEmbedder", () => {
  it("gives deterministic, normalised 384-d vectors under its model id", async () => {
    const e = createLocalEmbedder();
    expect(e.model).toBe(LOCAL_EMBEDDING_MODEL);
    const [a, b] = await e.embed(["Postgres full-text search ranks documents", "Postgres full-text search ranks documents"]);
    expect(a).toHaveLength(384);
    expect(a).toEqual(b);
    expect(Math.abs(cos(a!, a!) - 1)).toBeLessThan(1e-9);
  });

  it("puts texts sharing words and word forms closer than unrelated ones", () => {
    const q = localEmbedding("indexing documents in postgres");
    const near = localEmbedding("The document indexer writes indexed chunks to Postgres.");
    const far = localEmbedding("Sourdough bread needs a lively starter and patience.");
    expect(cos(q, near)).toBeGreaterThan(cos(q, far) + 0.2);
  });

  it("ignores stopwords unless nothing else is there, and gives zero for no words", () => {
    expect(localEmbedding("the cat")).toEqual(localEmbedding("cat"));
    expect(localEmbedding("the of and").some((x) => x !== 0)).toBe(true);
    expect(localEmbedding("?! ...").every((x) => x === 0)).toBe(true);
  });
});

describe("createProviderEmbedder", () => {
  it("batches calls, keeps order and names the model by provider", async () => {
    const calls: number[] = [];
    const provider = { name: "fake", embed: async (texts: string[]) => (calls.push(texts.length), texts.map((t) => [t.length, 1, 0])) };
    const e = createProviderEmbedder(provider, "emb-1", 3, { batchSize: 2 });
    expect(e.model).toBe("fake/emb-1");
    expect(await e.embed(["a", "bb", "ccc"])).toEqual([
      [1, 1, 0],
      [2, 1, 0],
      [3, 1, 0],
    ]);
    expect(calls).toEqual([2, 1]);
  });

  it("refuses vectors of another length", async () => {
    const e = createProviderEmbedder({ name: "fake", embed: async (t: string[]) => t.map(() => [1, 2]) }, "emb-1", 3);
    await expect(e.embed(["a"])).rejects.toBeInstanceOf(EmbeddingDimensionError);
  });
});
