import { createOpenAIProvider, type OpenAIProvider } from "@switchyard/providers";
import { startFakeOpenAI, type FakeOpenAI } from "@switchyard/testkit";
import { upsertDocument } from "../documents";
import { createLocalEmbedder, createProviderEmbedder, EmbeddingDimensionError } from "../embedder";
import { indexDocument } from "../index-document";
import { retrieve } from "../retrieve";
import { addTenants, BACKENDS, type Backend } from "./backends";

const KEY = { tenantId: "ten_prov", collection: "kb", documentId: "p1" };
const TEXT = Array.from({ length: 12 }, (_, i) => `Step ${i}: feed the levain with rye flour and keep the jar warm.`).join("\n\n");

/** Embeddings through the providers package against a fake that speaks OpenAI's /v1/embeddings wire format. */
describe.each(BACKENDS)("provider embeddings on %s", (_name, open) => {
  let backend: Backend;
  let fake: FakeOpenAI;
  let provider: OpenAIProvider;
  beforeAll(async () => {
    backend = await open();
    await addTenants(backend.db, KEY.tenantId);
    fake = await startFakeOpenAI({ apiKey: "sk-test", embeddingDimensions: 16 });
    provider = createOpenAIProvider({ baseUrl: fake.url, apiKey: "sk-test" });
  });
  afterAll(async () => {
    await provider?.close();
    await fake?.close();
    await backend?.close();
  });

  it("indexes with the provider's model, in batches, and retrieves by the same model only", async () => {
    const embedder = createProviderEmbedder(provider, "text-embedding-3-small", 16, { batchSize: 4 });
    expect(embedder.model).toBe("openai/text-embedding-3-small");
    await upsertDocument(backend.db, { ...KEY, title: "Levain", text: TEXT });
    const r = await indexDocument(backend.db, KEY, embedder, { maxTokens: 20, overlapTokens: 0 });
    expect(r).toMatchObject({ status: "indexed", model: "openai/text-embedding-3-small" });
    const chunks = await backend.db.selectFrom("chunks").select(["id", "text", "embedding_model"]).orderBy("ordinal").execute();
    expect(chunks.every((c) => c.embedding_model === "openai/text-embedding-3-small")).toBe(true);
    const calls = fake.requests.filter((q) => q.path === "/v1/embeddings");
    expect(calls.length).toBe(Math.ceil(chunks.length / 4));

    // The fake's vectors are a hash of the input: the exact embedded text (title + chunk) is the nearest.
    const target = chunks[3]!;
    const res = await retrieve(backend.db, { ...KEY, query: `Levain\n\n${target.text}`, embedder, mode: "vector", topK: 3 });
    expect(res.results[0]).toMatchObject({ chunk_id: target.id, vector_rank: 1 });
    expect(res.results[0]!.score).toBeCloseTo(1, 5);

    // The local embedder's space holds none of these chunks.
    const local = await retrieve(backend.db, { ...KEY, query: "levain rye flour", embedder: createLocalEmbedder() });
    expect(local.results).toEqual([]);
  });

  it("a provider returning another length than configured fails the indexing as a configuration error", async () => {
    const wrong = createProviderEmbedder(provider, "text-embedding-3-small", 32);
    await upsertDocument(backend.db, { ...KEY, documentId: "p2", title: "Crumb", text: TEXT });
    await expect(indexDocument(backend.db, { ...KEY, documentId: "p2" }, wrong)).rejects.toBeInstanceOf(EmbeddingDimensionError);
    expect((await backend.db.selectFrom("documents").select(["status", "error"]).where("id", "=", "p2").executeTakeFirstOrThrow()).status).toBe("failed");
  });
});
