/**
 * Token counting cost per MB of text, for the inputs an attacker would pick and for ordinary
 * English prose (the baseline, measured in the same run):
 *
 *   - before: gpt-tokenizer's own `countTokens` (o200k_base), what admission used to run on the
 *     event loop. Its byte-pair merge is O(n²) in a piece's length, so it is run on a bounded
 *     prefix only (BENCH_BEFORE_KB, default 16 KB) and its ms/MB at that size is printed (it grows
 *     with the size: at 900 KB one long word took minutes);
 *   - after: `countO200kTokens` from @switchyard/admission (exact, O(n log n)), on the same prefix
 *     and on BENCH_AFTER_KB (default 1024 KB, about the 1 MB body limit);
 *   - floor: the byte-length check that refuses a request before any tokenizer runs.
 *
 * Caches are cold in every run. Each cell is the median of up to BENCH_REPS runs (default 5), stopping early once a cell has
 * spent BENCH_CELL_SECONDS (default 10 s); the runs actually made are printed. Prints a table;
 * figures also go to bench/out/tokenizer.json. Needs nothing running.
 *
 *   npx tsx bench/tokenizer.ts
 *   BENCH_BEFORE_KB=16 BENCH_AFTER_KB=1024 BENCH_REPS=5 BENCH_CELL_SECONDS=10
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { clearO200kCache, countO200kTokens, inputTokensFloor, warmO200k } from "../packages/admission/src";
import { round, table } from "./lib/stats";

const BEFORE_KB = Number(process.env.BENCH_BEFORE_KB ?? 16);
const AFTER_KB = Number(process.env.BENCH_AFTER_KB ?? 1024);
const REPS = Math.max(1, Number(process.env.BENCH_REPS ?? 5));
const CELL_SECONDS = Number(process.env.BENCH_CELL_SECONDS ?? 10);

// gpt-tokenizer is a dependency of packages/admission, not of the workspace root.
const fromAdmission = createRequire(path.join(__dirname, "../packages/admission/package.json"));
const reference = fromAdmission("gpt-tokenizer/encoding/o200k_base") as {
  countTokens(text: string, opts: { disallowedSpecial: Set<string> }): number;
  clearMergeCache(): void;
};
const PLAIN = { disallowedSpecial: new Set<string>() };

/** A seeded generator, so every run measures the same text. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `unit` repeated (or generated) until the text has `bytes` UTF-8 bytes, cut on a character. */
function fill(bytes: number, next: () => string): string {
  const parts: string[] = [];
  let n = 0;
  while (n < bytes) {
    const p = next();
    n += Buffer.byteLength(p, "utf8");
    parts.push(p);
  }
  let text = parts.join("");
  while (Buffer.byteLength(text, "utf8") > bytes) text = text.slice(0, -1);
  return text;
}

const PROSE = [
  "The gateway admits each request before it can spend money: it checks the key, validates the body, looks up the idempotency key,",
  "applies the deployment's rate limits and reserves the budget. Workers take jobs from the queue, route them to a model and stream",
  "the answer back as events. When a provider stalls, the worker retries once, then falls back to a non-streaming call, and if that",
  "fails too it moves along the fallback chain. Usage is written to the ledger exactly once per attempt, and daily rollups are built",
  "from the rows that were actually inserted, so a redelivered event changes nothing. Operators watch queue depth and spend.",
].join(" ");

/** Each input as a generator of `bytes` bytes. */
const INPUTS: Array<{ name: string; make: (bytes: number) => string }> = [
  { name: "English prose (baseline)", make: (b) => fill(b, () => PROSE + " ") },
  { name: "one long word (x…)", make: (b) => "x".repeat(b) },
  { name: "repeated punctuation (!?)", make: (b) => "!?".repeat(Math.ceil(b / 2)).slice(0, b) },
  { name: "mixed scripts, no spaces", make: (b) => fill(b, () => "abcПриветمرحبا世界Αλφαשָׁלוֹםहिन्दी") },
  { name: "emoji (😀👍🏽)", make: (b) => fill(b, () => "😀👍🏽") },
  {
    name: "random bytes-like text",
    make: (b) => {
      const r = rng(42);
      // Printable ASCII and Latin-1/Latin Extended symbols and letters, no whitespace.
      return fill(b, () => String.fromCharCode(r() < 0.5 ? 0x21 + Math.floor(r() * 94) : 0xa1 + Math.floor(r() * 0x1ae)));
    },
  },
  { name: "whitespace run", make: (b) => " ".repeat(b - 1) + "x" },
];

interface Cell {
  msPerMb: number;
  runs: number;
  tokens: number;
}

/**
 * Median ms per MB of `fn(text)` over up to REPS runs, stopping once CELL_SECONDS are spent. Both
 * counters' piece caches are emptied before each run: an attacker's text is new to them.
 */
function measure(text: string, fn: (t: string) => number): Cell {
  const mb = Buffer.byteLength(text, "utf8") / (1024 * 1024);
  const times: number[] = [];
  let tokens = 0;
  const deadline = performance.now() + CELL_SECONDS * 1000;
  for (let i = 0; i < REPS && (i === 0 || performance.now() < deadline); i++) {
    reference.clearMergeCache();
    clearO200kCache();
    const t0 = performance.now();
    tokens = fn(text);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { msPerMb: times[Math.floor(times.length / 2)]! / mb, runs: times.length, tokens };
}

function main(): void {
  warmO200k();
  reference.countTokens("warm up", PLAIN);
  const rows: Array<Array<string | number>> = [];
  const out: Record<string, unknown>[] = [];
  let base: { before: number; after: number } | undefined;
  for (const input of INPUTS) {
    const small = input.make(BEFORE_KB * 1024);
    const large = input.make(AFTER_KB * 1024);
    const before = measure(small, (t) => reference.countTokens(t, PLAIN));
    const afterSmall = measure(small, (t) => countO200kTokens(t));
    const after = measure(large, (t) => countO200kTokens(t));
    const floor = measure(large, (t) => inputTokensFloor([{ role: "user", content: t }]).tokens);
    if (afterSmall.tokens !== before.tokens) throw new Error(`${input.name}: counts differ (${before.tokens} vs ${afterSmall.tokens})`);
    base ??= { before: before.msPerMb, after: after.msPerMb };
    rows.push([
      input.name,
      before.msPerMb,
      round(before.msPerMb / base.before, 1),
      afterSmall.msPerMb,
      after.msPerMb,
      round(after.msPerMb / base.after, 1),
      round(before.msPerMb / afterSmall.msPerMb, 1),
      floor.msPerMb,
      after.tokens,
      `${before.runs}/${afterSmall.runs}/${after.runs}`,
    ]);
    out.push({
      input: input.name,
      before_kb: BEFORE_KB,
      after_kb: AFTER_KB,
      before_ms_per_mb: round(before.msPerMb),
      before_vs_prose: round(before.msPerMb / base.before, 1),
      after_ms_per_mb_small: round(afterSmall.msPerMb),
      after_ms_per_mb: round(after.msPerMb),
      after_vs_prose: round(after.msPerMb / base.after, 1),
      speedup_same_size: round(before.msPerMb / afterSmall.msPerMb, 1),
      floor_ms_per_mb: round(floor.msPerMb, 3),
      tokens_large: after.tokens,
      runs: { before: before.runs, after_small: afterSmall.runs, after: after.runs },
    });
  }
  console.log(
    `Token counting, ms per MB of text (median of up to ${REPS} runs, ≤ ${CELL_SECONDS} s per cell). before = gpt-tokenizer countTokens, after = countO200kTokens (exact, same counts checked).`,
  );
  console.log(
    table(
      [
        "input",
        `before ms/MB @${BEFORE_KB}KB`,
        "× prose",
        `after ms/MB @${BEFORE_KB}KB`,
        `after ms/MB @${AFTER_KB}KB`,
        "× prose",
        `speedup @${BEFORE_KB}KB`,
        "floor ms/MB",
        `tokens @${AFTER_KB}KB`,
        "runs",
      ],
      rows,
    ),
  );
  const dir = path.join(__dirname, "out");
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "tokenizer.json"), JSON.stringify(out, null, 2));
}

main();
