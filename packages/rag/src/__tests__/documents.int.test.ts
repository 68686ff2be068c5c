import { countChunks, deleteDocument, getDocument, upsertDocument } from "../documents";
import { createLocalEmbedder, localEmbedding, type Embedder } from "../embedder";
import { indexDocument } from "../index-document";
import { retrieve } from "../retrieve";
import { addTenants, BACKENDS, type Backend } from "./backends";

const T = "ten_docs";
const key = (documentId: string, collection = "kb") => ({ tenantId: T, collection, documentId });
const text = (topic: string, n = 6) =>
  Array.from({ length: n }, (_, i) => `Paragraph ${i} explains the ${topic} in detail. It repeats the ${topic} for emphasis.`).join("\n\n");

/** An embedder that fails on demand (a provider outage). */
function flakyEmbedder(inner: Embedder): Embedder & { fail: boolean } {
  const e = {
    model: inner.model,
    dimensions: inner.dimensions,
    fail: false,
    embed: (t: string[]) => (e.fail ? Promise.reject(new Error("provider down for ops@example.com")) : inner.embed(t)),
  };
  return e;
}

describe.each(BACKENDS)("documents and indexing on %s", (name, open) => {
  let backend: Backend;
  const embedder = createLocalEmbedder();
  beforeAll(async () => {
    backend = await open();
    await addTenants(backend.db, T);
  });
  afterAll(() => backend?.close());

  it("upsert: new → pending; unchanged content → no re-index; changed text → pending again; metadata alone → no re-index", async () => {
    const db = backend.db;
    const first = await upsertDocument(db, { tenantId: T, collection: "kb", documentId: "d1", title: "Levain", text: text("levain"), metadata: { v: 1 } });
    expect(first).toMatchObject({ needsIndexing: true, document: { status: "pending", source_domain: null } });
    expect(await indexDocument(db, key("d1"), embedder, { maxTokens: 40 })).toMatchObject({ status: "indexed", model: embedder.model });
    const indexed = await getDocument(db, key("d1"));
    expect(indexed).toMatchObject({ status: "indexed", error: null });
    expect(indexed!.indexed_at).not.toBeNull();
    const n = await countChunks(db, key("d1"));
    expect(n).toBeGreaterThan(2);

    const same = await upsertDocument(db, { tenantId: T, collection: "kb", documentId: "d1", title: "Levain", text: text("levain"), metadata: { v: 2 } });
    expect(same).toMatchObject({ needsIndexing: false, document: { status: "indexed", metadata: { v: 2 } } });
    const changed = await upsertDocument(db, { tenantId: T, collection: "kb", documentId: "d1", title: "Levain", text: text("starter") });
    expect(changed).toMatchObject({ needsIndexing: true, document: { status: "pending" } });
    expect(changed.document.content_hash).not.toBe(indexed!.content_hash);
    // Until re-indexed, the old chunks stay searchable.
    expect(await countChunks(db, key("d1"))).toBe(n);
  });

  it("rejects bad input: non-http source URL, unknown fields, empty text", async () => {
    await expect(upsertDocument(backend.db, { tenantId: T, collection: "kb", documentId: "x", text: "t", sourceUrl: "file:///etc/passwd" })).rejects.toThrow();
    await expect(upsertDocument(backend.db, { tenantId: T, collection: "kb", documentId: "x", text: "" })).rejects.toThrow();
    await expect(upsertDocument(backend.db, { tenantId: T, collection: "kb", documentId: "x", text: "t", extra: 1 } as never)).rejects.toThrow();
  });

  it("re-indexing replaces every chunk; delete removes document and chunks", async () => {
    const db = backend.db;
    await upsertDocument(db, { tenantId: T, collection: "kb", documentId: "d2", title: "Crumb", text: text("crumb") });
    await indexDocument(db, key("d2"), embedder, { maxTokens: 40 });
    const before = await db.selectFrom("chunks").select("id").where("document_id", "=", "d2").execute();
    await upsertDocument(db, { tenantId: T, collection: "kb", documentId: "d2", title: "Crumb", text: text("banneton", 3) });
    await indexDocument(db, key("d2"), embedder, { maxTokens: 40 });
    const after = await db.selectFrom("chunks").select(["id", "text"]).where("document_id", "=", "d2").execute();
    expect(after.length).toBeGreaterThan(0);
    expect(after.some((c) => before.some((b) => b.id === c.id))).toBe(false);
    expect(after.every((c) => c.text.includes("banneton"))).toBe(true);

    expect(await deleteDocument(db, key("d2"))).toBe(true);
    expect(await deleteDocument(db, key("d2"))).toBe(false);
    expect(await getDocument(db, key("d2"))).toBeUndefined();
    expect(await countChunks(db, key("d2"))).toBe(0);
    expect(await indexDocument(db, key("d2"), embedder)).toEqual({ status: "missing" });
  });

  it("an embedding failure marks the document failed (error redacted) and keeps the old chunks; the same content can then be retried", async () => {
    const db = backend.db;
    const flaky = flakyEmbedder(embedder);
    await upsertDocument(db, { tenantId: T, collection: "kb", documentId: "d3", title: "Rye", text: text("rye") });
    await indexDocument(db, key("d3"), flaky, { maxTokens: 40 });
    const n = await countChunks(db, key("d3"));
    await upsertDocument(db, { tenantId: T, collection: "kb", documentId: "d3", title: "Rye", text: text("spelt") });
    flaky.fail = true;
    await expect(indexDocument(db, key("d3"), flaky)).rejects.toThrow("provider down");
    expect(await getDocument(db, key("d3"))).toMatchObject({ status: "failed", error: "Error: provider down for [EMAIL]" });
    expect(await countChunks(db, key("d3"))).toBe(n);
    // Same content again: a failed document still needs indexing.
    expect((await upsertDocument(db, { tenantId: T, collection: "kb", documentId: "d3", title: "Rye", text: text("spelt") })).needsIndexing).toBe(true);
    flaky.fail = false;
    expect(await indexDocument(db, key("d3"), flaky)).toMatchObject({ status: "indexed" });
  });

  it("a document changed while it was being embedded is not overwritten with stale chunks", async () => {
    const db = backend.db;
    await upsertDocument(db, { tenantId: T, collection: "kb", documentId: "d4", title: "Jar", text: text("jar") });
    const racing: Embedder = {
      model: embedder.model,
      dimensions: embedder.dimensions,
      embed: async (texts) => {
        // The user edits the document while the first version is being embedded.
        await upsertDocument(db, { tenantId: T, collection: "kb", documentId: "d4", title: "Jar", text: text("lid") });
        return texts.map(localEmbedding);
      },
    };
    expect(await indexDocument(db, key("d4"), racing)).toEqual({ status: "stale" });
    expect(await getDocument(db, key("d4"))).toMatchObject({ status: "pending" });
    expect(await countChunks(db, key("d4"))).toBe(0);
    expect(await indexDocument(db, key("d4"), embedder)).toMatchObject({ status: "indexed" });
    const texts = await db.selectFrom("chunks").select("text").where("document_id", "=", "d4").execute();
    expect(texts.every((c) => c.text.includes("lid"))).toBe(true);
  });

  it("chunks of another embedding model are never compared, in any mode", async () => {
    const db = backend.db;
    // Same vectors under another model id, and an 8-dimensional model: if either were compared,
    // the first would rank as well as the local chunks and the second would fail pgvector's dimension check.
    const twin: Embedder = { model: "twin-384", dimensions: 384, embed: async (t) => t.map(localEmbedding) };
    const small: Embedder = { model: "small-8", dimensions: 8, embed: async (t) => t.map(() => [1, 0, 0, 0, 0, 0, 0, 0]) };
    for (const [id, e] of [
      ["m-local", embedder],
      ["m-twin", twin],
      ["m-small", small],
    ] as const) {
      await upsertDocument(db, { tenantId: T, collection: "models", documentId: id, title: "Hydration", text: text("hydration") });
      await indexDocument(db, key(id, "models"), e);
    }
    for (const [e, only] of [
      [embedder, "m-local"],
      [twin, "m-twin"],
      [small, "m-small"],
    ] as const) {
      for (const mode of ["hybrid", "fulltext", "vector"] as const) {
        const res = await retrieve(db, { tenantId: T, collection: "models", query: "hydration", topK: 20, embedder: e, mode });
        expect(res.results.length).toBeGreaterThan(0);
        expect([...new Set(res.results.map((r) => r.document_id))]).toEqual([only]);
      }
    }
  });

  it("the source-domain allow-list is applied inside the query (subdomains allowed, look-alikes not)", async () => {
    const db = backend.db;
    const sources: Array<[string, string | null]> = [
      ["s-docs", "https://docs.example.com/a"],
      ["s-root", "https://EXAMPLE.com/b"],
      ["s-evil", "https://evilexample.com/c"],
      ["s-other", "https://blog.other.net/d"],
      ["s-none", null],
    ];
    for (const [id, url] of sources) {
      await upsertDocument(db, { tenantId: T, collection: "domains", documentId: id, title: "Scoring", text: text("scoring", 2), sourceUrl: url });
      await indexDocument(db, key(id, "domains"), embedder);
    }
    const docsFor = async (allowedDomains: string[] | null, includeUnsourced?: boolean) => {
      const out = new Set<string>();
      for (const mode of ["hybrid", "fulltext", "vector"] as const) {
        const res = await retrieve(db, { tenantId: T, collection: "domains", query: "scoring", topK: 50, embedder, mode, allowedDomains, includeUnsourced });
        for (const r of res.results) out.add(r.document_id);
      }
      return [...out].sort();
    };
    expect(await docsFor(null)).toEqual(["s-docs", "s-evil", "s-none", "s-other", "s-root"]);
    expect(await docsFor([])).toEqual(["s-docs", "s-evil", "s-none", "s-other", "s-root"]);
    expect(await docsFor(["example.com"])).toEqual(["s-docs", "s-none", "s-root"]);
    expect(await docsFor(["*.Example.COM."], false)).toEqual(["s-docs", "s-root"]);
    expect(await docsFor(["https://blog.other.net/x"], false)).toEqual(["s-other"]);
    expect(await docsFor(["nowhere.test"], false)).toEqual([]);
  });

  it("redacts PII from the query before searching and reports the redacted query", async () => {
    const db = backend.db;
    await upsertDocument(db, { tenantId: T, collection: "pii", documentId: "p1", title: "Contact", text: "Write to jane.doe@example.com about the invoice." });
    await upsertDocument(db, {
      tenantId: T,
      collection: "pii",
      documentId: "p2",
      title: "Email etiquette",
      text: "An email should have a clear subject line.",
    });
    for (const id of ["p1", "p2"]) await indexDocument(db, key(id, "pii"), embedder);
    const res = await retrieve(db, { tenantId: T, collection: "pii", query: "jane.doe@example.com", embedder, mode: "fulltext" });
    expect(res).toMatchObject({ query: "[EMAIL]", redactions: ["email"], results: [] });
    const mixed = await retrieve(db, {
      tenantId: T,
      collection: "pii",
      query: "invoice for jane.doe@example.com card 4111 1111 1111 1111",
      embedder,
      mode: "fulltext",
    });
    expect(mixed.query).toBe("invoice for [EMAIL] card [CREDIT_CARD]");
    expect(mixed.redactions).toEqual(["email", "credit_card"]);
  });

  it("hybrid degrades to full-text when the query cannot be embedded; vector mode fails", async () => {
    const flaky = flakyEmbedder(embedder);
    flaky.fail = true;
    const res = await retrieve(backend.db, { tenantId: T, collection: "models", query: "hydration", embedder: flaky });
    expect(res.degraded).toMatchObject({ reason: "embedding_failed" });
    expect(res.results.length).toBeGreaterThan(0);
    expect(res.results.every((r) => r.fulltext_rank !== undefined && r.vector_rank === undefined)).toBe(true);
    await expect(retrieve(backend.db, { tenantId: T, collection: "models", query: "hydration", embedder: flaky, mode: "vector" })).rejects.toThrow(
      "provider down",
    );
  });

  it("sqlVectorFallback: false keeps the real[] scan out (full-text only, marked); pgvector is used regardless", async () => {
    const opts = { tenantId: T, collection: "models", query: "hydration", embedder, sqlVectorFallback: false } as const;
    const hybrid = await retrieve(backend.db, opts);
    const vector = await retrieve(backend.db, { ...opts, mode: "vector" });
    if (name === "postgres") {
      expect(hybrid.degraded).toMatchObject({ reason: "no_pgvector" });
      expect(hybrid.results.length).toBeGreaterThan(0);
      expect(hybrid.results.every((r) => r.vector_rank === undefined)).toBe(true);
      expect(vector).toMatchObject({ degraded: { reason: "no_pgvector" }, results: [] });
    } else {
      expect(hybrid.degraded).toBeUndefined();
      expect(hybrid.results.some((r) => r.vector_rank !== undefined)).toBe(true);
      expect(vector.results.length).toBeGreaterThan(0);
    }
  });
});
