import { chunkId, chunkText } from "../chunker";
import { upsertDocument } from "../documents";
import { createLocalEmbedder } from "../embedder";
import { indexDocument } from "../index-document";
import { retrieve } from "../retrieve";
import { addTenants, postgresBackend, type Backend } from "./backends";

const KEY = { tenantId: "ten_atomic", collection: "kb", documentId: "big" };
const OPTS = { maxTokens: 30, overlapTokens: 5 };
const version = (v: number) =>
  Array.from({ length: 60 }, (_, i) => `Version ${v} section ${i} describes the levain schedule and the oven temperature.`).join("\n\n");
/** The chunk ids a version must have (chunk ids are deterministic). */
const idsOf = (v: number) => new Set(chunkText(version(v), OPTS).map((c) => chunkId(KEY, c.ordinal, c.text)));
const same = (a: Set<string>, b: Set<string>) => a.size === b.size && [...a].every((x) => b.has(x));

/**
 * Readers on other connections, running while a document is re-indexed again and again, only
 * ever see the complete chunk set of one version: never a mix, never an empty document. On the
 * real server (PGlite is one session, so it cannot interleave a reader at all).
 */
describe("re-indexing is atomic for concurrent readers", () => {
  let backend: Backend;
  const embedder = createLocalEmbedder();
  beforeAll(async () => {
    backend = await postgresBackend();
    await addTenants(backend.db, KEY.tenantId);
    await upsertDocument(backend.db, { ...KEY, title: "Schedule", text: version(0) });
    await indexDocument(backend.db, KEY, embedder, OPTS);
  });
  afterAll(() => backend?.close());

  it("readers see one whole version at a time", async () => {
    const versions = [0, 1, 2, 3, 4, 5, 6].map(idsOf);
    expect(versions[0]!.size).toBeGreaterThan(40);
    let writing = true;
    const seen = new Map<number, number>(); // version → times observed
    const bad: string[] = [];
    const reader = async () => {
      while (writing) {
        const rows = await backend.db
          .selectFrom("chunks")
          .select("id")
          .where("tenant_id", "=", KEY.tenantId)
          .where("collection", "=", KEY.collection)
          .where("document_id", "=", KEY.documentId)
          .execute();
        const ids = new Set(rows.map((r) => r.id));
        const v = versions.findIndex((set) => same(set, ids));
        if (v < 0) bad.push(`saw ${ids.size} chunks matching no single version`);
        else seen.set(v, (seen.get(v) ?? 0) + 1);
        // Retrieval reads in one statement per method too: every result of one call is from one version.
        const res = await retrieve(backend.db, { ...KEY, query: "levain schedule", topK: 50, embedder, mode: "fulltext" });
        const hits = new Set(res.results.map((r) => r.chunk_id));
        if (res.results.length === 0 || !versions.some((set) => [...hits].every((id) => set.has(id)))) bad.push("retrieval mixed versions or found nothing");
      }
    };
    const readers = [reader(), reader(), reader()];
    for (let v = 1; v < versions.length; v++) {
      await upsertDocument(backend.db, { ...KEY, title: "Schedule", text: version(v) });
      expect(await indexDocument(backend.db, KEY, embedder, OPTS)).toMatchObject({ status: "indexed" });
    }
    writing = false;
    await Promise.all(readers);
    expect(bad).toEqual([]);
    // The readers really did overlap the re-indexing: they saw several versions.
    expect(seen.size).toBeGreaterThanOrEqual(3);
  });
});
