import { upsertDocument } from "../documents";
import { createLocalEmbedder } from "../embedder";
import { embeddingStorage } from "../embedding-storage";
import { indexDocument } from "../index-document";
import type { RetrievalMode } from "../retrieve";
import { addTenants, BACKENDS, type Backend } from "./backends";
import { buildCorpus, measureRecall, type RecallReport } from "./corpus";

const MODES: RetrievalMode[] = ["fulltext", "vector", "hybrid"];

describe.each(BACKENDS)("retrieval quality on %s", (name, open) => {
  let backend: Backend;
  const embedder = createLocalEmbedder();
  const scope = { tenantId: "ten_q", collection: "kb", embedder };
  const corpus = buildCorpus();
  const reports = new Map<RetrievalMode, RecallReport>();

  beforeAll(async () => {
    backend = await open();
    await addTenants(backend.db, "ten_q");
    for (const d of corpus.docs) {
      await upsertDocument(backend.db, { tenantId: "ten_q", collection: "kb", documentId: d.id, title: d.title, text: d.text, sourceUrl: d.sourceUrl });
      await indexDocument(backend.db, { tenantId: "ten_q", collection: "kb", documentId: d.id }, embedder, { maxTokens: 60, overlapTokens: 10 });
    }
    for (const mode of MODES) reports.set(mode, await measureRecall(backend.db, scope, corpus.queries, mode));
  });
  afterAll(() => backend?.close());

  it("uses the storage this backend has", async () => {
    expect(await embeddingStorage(backend.db)).toBe(name === "postgres" ? "real[]" : "vector");
  });

  it("indexes a corpus of a few hundred chunks", async () => {
    const n = await backend.db
      .selectFrom("chunks")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .executeTakeFirstOrThrow();
    expect(Number(n.n)).toBeGreaterThanOrEqual(200);
    expect(Number(n.n)).toBeLessThanOrEqual(500);
    console.log(`[${name}] corpus: ${corpus.docs.length} documents, ${Number(n.n)} chunks, ${corpus.queries.length} queries`);
  });

  it("prints recall@5 per mode; hybrid is at least as good as either alone", () => {
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    const lines = MODES.map((m) => {
      const r = reports.get(m)!;
      return `  ${m.padEnd(8)} recall@5 ${pct(r.recall).padStart(6)}   keyword ${pct(r.byKind.keyword).padStart(6)}  paraphrase ${pct(r.byKind.paraphrase).padStart(6)}  identifier ${pct(r.byKind.identifier).padStart(6)}`;
    });
    console.log(`[${name}] recall@5 over ${corpus.queries.length} labelled queries\n${lines.join("\n")}`);
    const [ft, vec, hy] = MODES.map((m) => reports.get(m)!.recall) as [number, number, number];
    expect(hy).toBeGreaterThanOrEqual(ft);
    expect(hy).toBeGreaterThanOrEqual(vec);
    // Sane floors: each method works on what it is good at.
    expect(reports.get("fulltext")!.byKind.identifier).toBeGreaterThanOrEqual(0.95);
    expect(reports.get("fulltext")!.byKind.keyword).toBeGreaterThanOrEqual(0.8);
    expect(reports.get("vector")!.byKind.paraphrase).toBeGreaterThanOrEqual(0.6);
    expect(ft).toBeGreaterThanOrEqual(0.5);
    expect(vec).toBeGreaterThanOrEqual(0.6);
    expect(hy).toBeGreaterThanOrEqual(0.8);
  });
});
