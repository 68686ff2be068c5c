import fc from "fast-check";
import bpeRanks from "gpt-tokenizer/bpeRanks/o200k_base";
import { countTokens } from "gpt-tokenizer/encoding/o200k_base";
import { countO200kTokens, O200K_MAX_TOKEN_BYTES, type O200kCountStats } from "./o200k-count";

/** The reference: gpt-tokenizer's own count (quadratic on long pieces, so only on short inputs here). */
const exact = (text: string) => countTokens(text, { disallowedSpecial: new Set() });
const stats = (): O200kCountStats => ({ pieces: 0, lookups: 0, pushes: 0 });

describe("O200K_MAX_TOKEN_BYTES", () => {
  it("is the byte length of the longest token in the shipped o200k_base ranks", () => {
    let max = 0;
    bpeRanks.forEach((t) => (max = Math.max(max, typeof t === "string" ? Buffer.byteLength(t, "utf8") : t.length)));
    expect(max).toBe(O200K_MAX_TOKEN_BYTES);
    expect(O200K_MAX_TOKEN_BYTES).toBe(128);
  });
});

describe("countO200kTokens", () => {
  it("agrees with gpt-tokenizer on ordinary text", () => {
    const texts = [
      "",
      "hello world",
      "The quick brown fox jumps over the lazy dog.",
      "こんにちは世界",
      "a <|endoftext|> b",
      "I'm sure they'll say it's fine, but we've seen O'Neil's DON'T.\n\n\tIndented\r\nCRLF   spaces   ",
      "Prices: $1,234.56 (≈ €1 100), 3.14159, 1e-9, 2026-12-01T10:00:00Z; user@example.com https://example.com/a?b=c#d",
      "function add(a, b) {\n  return a + b; // sum\n}\n\nconst x = [1, 2, 3].map((n) => n * 2);",
      "Ça va? Grüße aus Köln. Дом, мир. مرحبا بالعالم. नमस्ते दुनिया. 안녕하세요 세계. 🙂👍🏽👨‍👩‍👧",
      "lorem ipsum dolor sit amet ".repeat(300),
    ];
    for (const t of texts) expect(countO200kTokens(t)).toBe(exact(t));
  });

  it("agrees with gpt-tokenizer on random text of letters, marks, digits, punctuation, spaces and emoji (seeded)", () => {
    const atoms = [
      "a",
      "b",
      "x",
      "Q",
      "ß",
      "é",
      "e\u0301",
      "中",
      "文",
      "😀",
      "👍🏽",
      "ا",
      "1",
      "23",
      "!",
      "?",
      "-",
      "=",
      "*",
      "'s",
      "'LL",
      " ",
      "  ",
      "\t",
      "\n",
      "\r\n",
      "/",
      "<|endoftext|>",
      "the",
      " the",
      "\u200b",
      "\ud800",
    ];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...atoms), { maxLength: 300 }), (parts) => {
        const t = parts.join("");
        expect(countO200kTokens(t)).toBe(exact(t));
      }),
      { seed: 20261201, numRuns: 400 },
    );
  });

  it("is exact on adversarial runs too (sizes the quadratic reference still finishes quickly)", () => {
    const cases = [
      "x".repeat(6000),
      "!?".repeat(3000),
      " ".repeat(6000) + "x",
      "😀".repeat(2000),
      "Ab".repeat(3000),
      "-".repeat(5000),
      "9".repeat(6000),
      "\u0301".repeat(3000),
    ];
    for (const t of cases) expect(countO200kTokens(t)).toBe(exact(t));
  });

  it("does work linear in the input: at most 3 rank lookups and 3 heap pushes per byte, however long the run", () => {
    for (const unit of ["x", "!?", "😀", " ", "ab"]) {
      const small = stats();
      const large = stats();
      const n = 20_000;
      const a = countO200kTokens(unit.repeat(n), small);
      const b = countO200kTokens(unit.repeat(8 * n), large);
      expect(b).toBeGreaterThan(a);
      const bytes = Buffer.byteLength(unit.repeat(8 * n), "utf8");
      // The quadratic reference re-scans every pair per merge: ~bytes²/2 lookups, 10⁹ here.
      expect(large.lookups).toBeLessThanOrEqual(3 * bytes);
      expect(large.pushes).toBeLessThanOrEqual(3 * bytes);
      expect(large.lookups).toBeLessThanOrEqual(8.5 * small.lookups);
    }
  });
});
