import { upsertDocument } from "../documents";
import { createLocalEmbedder } from "../embedder";
import { indexDocument } from "../index-document";
import { retrieve, type RetrievalMode } from "../retrieve";
import { addTenants, BACKENDS, type Backend } from "./backends";
import { buildCorpus, rng } from "./corpus";
import { TOPICS } from "./corpus-topics";

const QUERIES = 1000;
const MODES: RetrievalMode[] = ["hybrid", "fulltext", "vector"];

/**
 * Two tenants hold the same document ids under the same collection name (with different text),
 * and tenant A has a second collection: 1 000 random queries, each for a random tenant,
 * collection, mode and top_k, must only ever return chunks of that tenant and collection.
 */
describe.each(BACKENDS)("tenant isolation on %s", (_name, open) => {
  let backend: Backend;
  const embedder = createLocalEmbedder();
  const scopes = [
    { tenantId: "ten_a", collection: "kb", seed: 1 },
    { tenantId: "ten_b", collection: "kb", seed: 2 },
    { tenantId: "ten_a", collection: "notes", seed: 3 },
  ];
  const owned = new Map<string, string>(); // chunk id → "tenant/collection"

  beforeAll(async () => {
    backend = await open();
    await addTenants(backend.db, "ten_a", "ten_b");
    for (const s of scopes) {
      // Every scope gets the same 24 document ids; the seed changes their text.
      for (const d of buildCorpus(s.seed).docs.slice(0, 24)) {
        await upsertDocument(backend.db, { tenantId: s.tenantId, collection: s.collection, documentId: d.id, title: d.title, text: d.text });
        await indexDocument(backend.db, { tenantId: s.tenantId, collection: s.collection, documentId: d.id }, embedder, { maxTokens: 80, overlapTokens: 10 });
      }
    }
    const rows = await backend.db.selectFrom("chunks").select(["id", "tenant_id", "collection"]).execute();
    for (const r of rows) owned.set(r.id, `${r.tenant_id}/${r.collection}`);
  });
  afterAll(() => backend?.close());

  it("never returns a chunk of another tenant or collection over 1 000 random queries", async () => {
    const r = rng(42);
    // Words of the 12 indexed topics, so that most queries do find something.
    const topics = TOPICS.slice(0, 12);
    const words = [...new Set(topics.flatMap((t) => [...t.shared, ...t.docs.flatMap((d) => d.terms)]))];
    const paraphrases = topics.flatMap((t) => t.docs.map((d) => d.paraphrase));
    let returned = 0;
    let nonEmpty = 0;
    for (let i = 0; i < QUERIES; i++) {
      const scope = scopes[Math.floor(r() * scopes.length)]!;
      const query =
        r() < 0.3
          ? paraphrases[Math.floor(r() * paraphrases.length)]!
          : Array.from({ length: 1 + Math.floor(r() * 3) }, () => words[Math.floor(r() * words.length)]).join(" ");
      const mode = MODES[i % MODES.length]!;
      const topK = 1 + Math.floor(r() * 20);
      const res = await retrieve(backend.db, { tenantId: scope.tenantId, collection: scope.collection, query, topK, embedder, mode });
      for (const c of res.results)
        expect({ chunk: c.chunk_id, scope: owned.get(c.chunk_id) }).toEqual({ chunk: c.chunk_id, scope: `${scope.tenantId}/${scope.collection}` });
      expect(res.results.length).toBeLessThanOrEqual(topK);
      returned += res.results.length;
      if (res.results.length > 0) nonEmpty++;
    }
    // The check is only worth something if queries do find things (full-text ANDs random words, so it often finds none).
    expect(nonEmpty).toBeGreaterThan(QUERIES * 0.6);
    expect(returned).toBeGreaterThan(QUERIES * 3);
  });

  it("a tenant without documents in the collection gets nothing", async () => {
    for (const mode of MODES) {
      const res = await retrieve(backend.db, { tenantId: "ten_b", collection: "notes", query: "sourdough starter", embedder, mode });
      expect(res.results).toEqual([]);
    }
  });
});
