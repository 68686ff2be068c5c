import { countTokens } from "gpt-tokenizer/encoding/o200k_base";
import { chunkId, chunkText } from "./chunker";

const sentence = (i: number) => `Sentence number ${i} talks about topic ${i % 7} and carries a few more words for weight.`;
const paragraphs = (n: number, perParagraph: number) =>
  Array.from({ length: n }, (_, p) => Array.from({ length: perParagraph }, (_, s) => sentence(p * perParagraph + s)).join(" ")).join("\n\n");

describe("chunkText", () => {
  it("keeps a short text whole", () => {
    expect(chunkText("One short paragraph. Two sentences.")).toEqual([
      { ordinal: 0, text: "One short paragraph. Two sentences.", tokens: countTokens("One short paragraph. Two sentences.") },
    ]);
  });

  it("gives nothing for whitespace and never an empty chunk", () => {
    expect(chunkText(" \n\n\t \n")).toEqual([]);
    for (const c of chunkText(`\n\n${paragraphs(6, 5)}\n\n\n  \n`, { maxTokens: 50, overlapTokens: 10 })) expect(c.text.trim()).not.toBe("");
  });

  it("respects maxTokens exactly and overlaps consecutive chunks", () => {
    const text = paragraphs(10, 8);
    const chunks = chunkText(text, { maxTokens: 120, overlapTokens: 30 });
    expect(chunks.length).toBeGreaterThan(5);
    for (const c of chunks) {
      expect(c.tokens).toBe(countTokens(c.text));
      expect(c.tokens).toBeLessThanOrEqual(120);
    }
    chunks.forEach((c, i) => expect(c.ordinal).toBe(i));
    for (let i = 1; i < chunks.length; i++) {
      // The previous chunk's last sentence starts the next one (sentences are ~20 tokens, overlap 30).
      const prevLast = chunks[i - 1]!.text.split(/(?<=\.)\s+/).pop()!;
      expect(chunks[i]!.text.startsWith(prevLast)).toBe(true);
    }
    // Every sentence of the input is in some chunk.
    for (let s = 0; s < 80; s++) expect(chunks.some((c) => c.text.includes(sentence(s)))).toBe(true);
  });

  it("cuts at sentence boundaries when sentences fit", () => {
    for (const c of chunkText(paragraphs(5, 6), { maxTokens: 80, overlapTokens: 0 })) expect(c.text).toMatch(/^Sentence number \d+.*weight\.$/s);
  });

  it("without overlap every sentence appears exactly once", () => {
    const chunks = chunkText(paragraphs(4, 6), { maxTokens: 70, overlapTokens: 0 });
    for (let s = 0; s < 24; s++) expect(chunks.filter((c) => c.text.includes(sentence(s))).length).toBe(1);
  });

  it("splits an over-long sentence between words, and a giant word inside it", () => {
    const long = Array.from({ length: 300 }, (_, i) => `word${i}`).join(" ");
    const giant = "x".repeat(5000);
    const chunks = chunkText(`${long}. ${giant}`, { maxTokens: 64, overlapTokens: 8 });
    for (const c of chunks) expect(c.tokens).toBeLessThanOrEqual(64);
    expect(chunks.map((c) => c.text).join(" ")).toContain("word299");
    expect(chunks.filter((c) => /^x+$/.test(c.text)).reduce((n, c) => n + c.text.length, 0)).toBe(5000);
  });

  it("chunks a document that is one 900 000-character word (linear work: gpt-tokenizer alone needs minutes)", () => {
    for (const unit of ["x", "!?", "😀"]) {
      const giant = unit.repeat(Math.floor(900_000 / unit.length));
      const chunks = chunkText(giant, { maxTokens: 400, overlapTokens: 0 });
      for (const c of chunks) expect(c.tokens).toBeLessThanOrEqual(400);
      expect(chunks.map((c) => c.text).join("")).toBe(giant);
    }
  }, 60_000);

  it("overlaps by words when the last sentence is longer than the overlap", () => {
    // Three sentences of ~80 tokens: two do not fit in 150, and none fits in an overlap of 12.
    const long = (tag: string) => `${tag.toUpperCase()} ${Array.from({ length: 40 }, (_, i) => `${tag}${i}`).join(" ")}.`;
    const chunks = chunkText(`${long("a")} ${long("b")} ${long("c")}`, { maxTokens: 150, overlapTokens: 12 });
    expect(chunks.map((c) => c.text.slice(0, 2))).toEqual(["A ", "a3", "b3"]);
    expect(chunks[1]!.text).toMatch(/^a3\d a3\d.* a39\. B b0 /);
    expect(chunks[1]!.tokens).toBeLessThanOrEqual(150);
  });

  it("is deterministic and validates options", () => {
    const text = paragraphs(5, 5);
    expect(chunkText(text, { maxTokens: 60 })).toEqual(chunkText(text, { maxTokens: 60 }));
    expect(() => chunkText(text, { maxTokens: 50, overlapTokens: 50 })).toThrow(RangeError);
    // The default overlap shrinks with a small maxTokens instead of failing.
    expect(chunkText(text, { maxTokens: 40 }).length).toBeGreaterThan(1);
  });
});

describe("chunkId", () => {
  const scope = { tenantId: "ten_a", collection: "kb", documentId: "doc1" };
  it("is stable for the same content and differs by tenant, ordinal and text", () => {
    const id = chunkId(scope, 0, "hello");
    expect(id).toMatch(/^chk_[0-9a-f]{32}$/);
    expect(chunkId(scope, 0, "hello")).toBe(id);
    expect(chunkId({ ...scope, tenantId: "ten_b" }, 0, "hello")).not.toBe(id);
    expect(chunkId(scope, 1, "hello")).not.toBe(id);
    expect(chunkId(scope, 0, "hello!")).not.toBe(id);
  });
});
