import { createHash } from "node:crypto";
import { countO200kTokens } from "@switchyard/tokenizer";
import { decode, encode } from "gpt-tokenizer/encoding/o200k_base";

/** Options of {@link chunkText}. */
export interface ChunkOptions {
  /** Most tokens (o200k_base) in one chunk. Default 400. */
  maxTokens?: number;
  /** Tokens of the previous chunk's end repeated at the start of the next. Default 60, or a quarter of `maxTokens` when that is less; must be below `maxTokens`. */
  overlapTokens?: number;
}

/** One chunk of a text. */
export interface TextChunk {
  /** 0-based position in the document. */
  ordinal: number;
  text: string;
  /** Exact o200k_base token count of `text`. */
  tokens: number;
}

/** A piece the packer places whole: a sentence, or part of an over-long one. */
interface Unit {
  text: string;
  /** What joins it to the unit before: a space inside a paragraph, a blank line between paragraphs. */
  sep: string;
  tokens: number;
}

export const DEFAULT_CHUNK_TOKENS = 400;
export const DEFAULT_CHUNK_OVERLAP = 60;

// Text is text: "<|endoftext|>" in a document is counted as the characters it is.
const PLAIN = { disallowedSpecial: new Set<string>() };
// The linear-time exact counter: gpt-tokenizer's own is quadratic on a long run without spaces.
const tokensOf = (s: string): number => countO200kTokens(s);
const sentences = new Intl.Segmenter("en", { granularity: "sentence" });

/**
 * Splits a text into chunks of at most `maxTokens` o200k_base tokens, consecutive chunks sharing
 * about `overlapTokens`. Boundaries fall between paragraphs or sentences (Intl.Segmenter) where
 * possible, between words for an over-long sentence, and inside a word only for a word longer
 * than a whole chunk. Whitespace-only input gives no chunks; no chunk is ever empty. Deterministic.
 */
export function chunkText(text: string, opts: ChunkOptions = {}): TextChunk[] {
  const maxTokens = opts.maxTokens ?? DEFAULT_CHUNK_TOKENS;
  const overlap = opts.overlapTokens ?? Math.min(DEFAULT_CHUNK_OVERLAP, Math.floor(maxTokens / 4));
  if (!(maxTokens >= 1) || !(overlap >= 0) || overlap >= maxTokens)
    throw new RangeError(`chunkText: need 0 <= overlapTokens (${overlap}) < maxTokens (${maxTokens})`);
  const units = toUnits(text, maxTokens);
  const chunks: TextChunk[] = [];
  let current: Unit[] = [];
  let size = 0;
  const emit = () => {
    const joined = current.map((u, i) => (i === 0 ? u.text : u.sep + u.text)).join("");
    chunks.push({ ordinal: chunks.length, text: joined, tokens: tokensOf(joined) });
  };
  for (const unit of units) {
    if (current.length > 0 && size + unit.tokens > maxTokens) {
      emit();
      current = overlapTail(current, Math.min(overlap, maxTokens - unit.tokens));
      size = current.reduce((n, u) => n + u.tokens, 0);
    }
    current.push(unit);
    size += unit.tokens;
  }
  if (current.length > 0) emit();
  return chunks;
}

/** Paragraphs → sentences → (if a sentence alone exceeds `maxTokens`) word runs → token slices. */
function toUnits(text: string, maxTokens: number): Unit[] {
  const units: Unit[] = [];
  const paragraphs = text.replace(/\r\n?/g, "\n").split(/\n[ \t]*\n+/);
  for (const paragraph of paragraphs) {
    let sep = units.length > 0 ? "\n\n" : "";
    for (const { segment } of sentences.segment(paragraph)) {
      const s = segment.trim();
      if (s === "") continue;
      for (const piece of fitSentence(s, maxTokens)) {
        units.push({ text: piece, sep, tokens: tokensOf(sep + piece) });
        sep = " ";
      }
    }
  }
  return units;
}

/** A sentence as one piece, or split between words (and inside words only when one word is too long). */
function fitSentence(sentence: string, maxTokens: number): string[] {
  if (tokensOf(sentence) <= maxTokens) return [sentence];
  const pieces: string[] = [];
  let run: string[] = [];
  let size = 0;
  for (const word of sentence.split(/\s+/)) {
    const t = tokensOf(` ${word}`);
    if (t > maxTokens) {
      if (run.length) pieces.push(run.join(" "));
      run = [];
      size = 0;
      pieces.push(...sliceTokens(word, maxTokens));
      continue;
    }
    if (run.length > 0 && size + t > maxTokens) {
      pieces.push(run.join(" "));
      run = [];
      size = 0;
    }
    run.push(word);
    size += t;
  }
  if (run.length) pieces.push(run.join(" "));
  return pieces;
}

/** Characters encoded at once when slicing an over-long word: BPE is quadratic in a piece's length. */
const SLICE_SEGMENT_CHARS = 1024;

/**
 * A word longer than a chunk (a URL, base64), cut every `maxTokens` tokens. The word is encoded
 * in segments of {@link SLICE_SEGMENT_CHARS} characters (never splitting a surrogate pair), so a
 * megabyte-long word costs linear time; the segments' tokens decode back to the exact text.
 */
function sliceTokens(word: string, maxTokens: number): string[] {
  const ids: number[] = [];
  for (let at = 0; at < word.length;) {
    let end = Math.min(word.length, at + SLICE_SEGMENT_CHARS);
    const last = word.charCodeAt(end - 1);
    if (end < word.length && last >= 0xd800 && last <= 0xdbff) end--;
    for (const id of encode(word.slice(at, end), PLAIN)) ids.push(id);
    at = end;
  }
  const out: string[] = [];
  for (let i = 0; i < ids.length; i += maxTokens) {
    const piece = decode(ids.slice(i, i + maxTokens));
    if (piece.trim() !== "") out.push(piece);
  }
  return out;
}

/**
 * The end of a chunk to repeat at the start of the next: whole trailing units within `budget`
 * tokens, or, when the last unit alone is larger, its last words within the budget.
 */
function overlapTail(units: Unit[], budget: number): Unit[] {
  if (budget <= 0) return [];
  const tail: Unit[] = [];
  let size = 0;
  for (let i = units.length - 1; i >= 0; i--) {
    const u = units[i]!;
    if (size + u.tokens > budget) break;
    tail.unshift(u);
    size += u.tokens;
  }
  if (tail.length > 0) return tail;
  const last = units[units.length - 1]!;
  const words = last.text.split(/\s+/);
  const kept: string[] = [];
  for (let i = words.length - 1; i >= 0; i--) {
    if (tokensOf(` ${[words[i], ...kept].join(" ")}`) > budget) break;
    kept.unshift(words[i]!);
  }
  if (kept.length === 0 || kept.length === words.length) return [];
  const text = kept.join(" ");
  return [{ text, sep: last.sep, tokens: tokensOf(` ${text}`) }];
}

/**
 * A chunk's id: "chk_" and 32 hex digits of sha256 over tenant, collection, document id, ordinal
 * and the chunk's text. The same content gives the same id, a changed chunk a new one, and the
 * tenant is part of it because the id alone is the table's key.
 */
export function chunkId(scope: { tenantId: string; collection: string; documentId: string }, ordinal: number, text: string): string {
  const h = createHash("sha256");
  for (const part of [scope.tenantId, scope.collection, scope.documentId, String(ordinal), text]) h.update(part).update("\u0000");
  return `chk_${h.digest("hex").slice(0, 32)}`;
}
