import bpeRanks from "gpt-tokenizer/bpeRanks/o200k_base";
import { O200K_TOKEN_SPLIT_REGEX } from "gpt-tokenizer/encodingParams/constants";

/**
 * Bytes (UTF-8) of the longest token in o200k_base: rank 72056, a run of 128 spaces. Every token
 * covers at most this many bytes of text, so a text of `b` UTF-8 bytes is at least `⌈b / 128⌉`
 * tokens. Computed from the ranks that ship in `gpt-tokenizer` (the test recomputes it); the
 * longest token that is not whitespace is 113 bytes (" " + 112 "-").
 */
export const O200K_MAX_TOKEN_BYTES = 128;

/** Pieces up to this many bytes are remembered (piece → count); most words of ordinary text repeat. */
const CACHE_PIECE_BYTES = 64;
/**
 * Pieces up to this many bytes are merged by the reference's own scan (O(k²) for k ≤ 16: at most
 * ~120 pair checks), which allocates nothing; longer ones by the heap.
 */
const SHORT_PIECE_BYTES = 16;
/** Remembered pieces; the cache is emptied when full (a bound on memory, not an LRU). */
const CACHE_ENTRIES = 50_000;

interface Ranks {
  /** Each token's bytes as a latin1 string (one char per byte) → rank. */
  byBytes: Map<string, number>;
  /** Rank of each two-byte token at `b0 << 8 | b1`, -1 where there is none: most lookups, without a string. */
  pairs: Int32Array;
}

let loaded: Ranks | undefined;
const cache = new Map<string, number>();

/** The rank table, built on first use (~200 000 entries, a few hundred ms once per thread). */
function ranks(): Ranks {
  if (loaded) return loaded;
  const byBytes = new Map<string, number>();
  const pairs = new Int32Array(65_536).fill(-1);
  bpeRanks.forEach((token, rank) => {
    const bytes = typeof token === "string" ? Buffer.from(token, "utf8") : Buffer.from(token);
    byBytes.set(bytes.toString("latin1"), rank);
    if (bytes.length === 2) pairs[(bytes[0]! << 8) | bytes[1]!] = rank;
  });
  loaded = { byBytes, pairs };
  return loaded;
}

/** Work done by `countO200kTokens`, for tests that check its cost grows linearly (counts, not times). */
export interface O200kCountStats {
  /** Pieces the pre-tokenizer produced. */
  pieces: number;
  /** Rank lookups of a candidate pair (each O(1), plus a hash of ≤ 128 bytes). */
  lookups: number;
  /** Pairs pushed onto a merge heap (each O(log n)). */
  pushes: number;
}

/** Forget the remembered pieces (benchmarks measure cold, as an attacker's unique text is). */
export function clearO200kCache(): void {
  cache.clear();
}

/** Load the rank table now instead of on the first count (e.g. when a worker thread starts). */
export function warmO200k(): void {
  ranks();
}

/**
 * Exact o200k_base token count of plain text (special-token text such as `<|endoftext|>` is
 * counted as the characters it is), equal to `gpt-tokenizer`'s `countTokens(text, {
 * disallowedSpecial: new Set() })` and to tiktoken, in O(n log n) for any input.
 *
 * Why not `countTokens`: its byte-pair merge scans every pair of a piece for each merge, which is
 * O(n²) in the piece's length, and o200k's pre-tokenizer makes one piece of a run without spaces
 * (`"x".repeat(900_000)` is one piece: minutes of CPU). Here each piece is merged with a heap of
 * candidate pairs ordered by (rank, position), the same order as the reference's "lowest rank,
 * leftmost first", so the result is the same, with O(log n) per merge.
 */
export function countO200kTokens(text: string, stats?: O200kCountStats): number {
  if (text.length === 0) return 0;
  const r = ranks();
  const re = new RegExp(O200K_TOKEN_SPLIT_REGEX.source, O200K_TOKEN_SPLIT_REGEX.flags);
  let total = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const piece = m[0];
    // The regex never matches the empty string for non-empty input; guard anyway so the loop always advances.
    if (piece.length === 0) {
      re.lastIndex++;
      continue;
    }
    if (stats) stats.pieces++;
    total += pieceTokens(piece, r, stats);
  }
  return total;
}

function pieceTokens(piece: string, r: Ranks, stats: O200kCountStats | undefined): number {
  const cached = cache.get(piece);
  if (cached !== undefined) return cached;
  const bin = Buffer.from(piece, "utf8").toString("latin1");
  const n = r.byBytes.has(bin) ? 1 : bin.length <= SHORT_PIECE_BYTES ? shortMergeCount(bin, r) : mergeCount(bin, r, stats);
  if (bin.length <= CACHE_PIECE_BYTES) {
    if (cache.size >= CACHE_ENTRIES) cache.clear();
    cache.set(piece, n);
  }
  return n;
}

/** Scratch part boundaries for `shortMergeCount` (one thread runs one count at a time). */
const shortStarts: number[] = [];

/**
 * The reference's merge for a short piece: repeatedly merge the lowest-ranked adjacent pair,
 * leftmost first, rescanning every pair each time. Quadratic, so only for ≤ SHORT_PIECE_BYTES.
 */
function shortMergeCount(bin: string, { byBytes, pairs }: Ranks): number {
  const starts = shortStarts;
  starts.length = 0;
  for (let i = 0; i <= bin.length; i++) starts.push(i);
  for (;;) {
    let best = -1;
    let bestRank = Infinity;
    for (let i = 0; i + 2 < starts.length; i++) {
      const a = starts[i]!;
      const b = starts[i + 2]!;
      const rank = b - a === 2 ? pairs[(bin.charCodeAt(a) << 8) | bin.charCodeAt(a + 1)]! : (byBytes.get(bin.slice(a, b)) ?? -1);
      if (rank >= 0 && rank < bestRank) {
        bestRank = rank;
        best = i;
      }
    }
    if (best < 0) return starts.length - 1;
    starts.splice(best + 1, 1);
  }
}

/**
 * Byte-pair merge of one piece (`bin`: one char per byte), returning how many tokens remain.
 * Parts are a linked list over byte offsets; the heap holds candidate pairs keyed by
 * rank·2³² + start offset, so the smallest key is the lowest rank, leftmost on ties. An entry is
 * stale when its left part has gone or the pair's right end moved; stale entries are skipped.
 */
function mergeCount(bin: string, { byBytes, pairs }: Ranks, stats: O200kCountStats | undefined): number {
  const n = bin.length;
  if (n <= 1) return n;
  // next[i]: start of the part after the part starting at i (n = none); prev[i]: the one before (-1).
  const next = new Int32Array(n);
  const prev = new Int32Array(n);
  const alive = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    next[i] = i + 1;
    prev[i] = i - 1;
    alive[i] = 1;
  }
  const heap = new PairHeap(n);
  const rankOf = (start: number, end: number): number => {
    if (stats) stats.lookups++;
    const len = end - start;
    if (len === 2) return pairs[(bin.charCodeAt(start) << 8) | bin.charCodeAt(start + 1)]!;
    if (len > O200K_MAX_TOKEN_BYTES) return -1; // no token is longer
    return byBytes.get(bin.slice(start, end)) ?? -1;
  };
  const pushPair = (start: number): void => {
    const mid = next[start]!;
    if (mid >= n) return;
    const end = next[mid]!;
    const rank = rankOf(start, end);
    if (rank < 0) return;
    if (stats) stats.pushes++;
    heap.push(rank * 4294967296 + start, end);
  };
  // Every adjacent byte pair, then one O(n) heapify instead of n pushes.
  for (let i = 0; i < n - 1; i++) {
    const rank = pairs[(bin.charCodeAt(i) << 8) | bin.charCodeAt(i + 1)]!;
    if (stats) stats.lookups++;
    if (rank < 0) continue;
    if (stats) stats.pushes++;
    heap.append(rank * 4294967296 + i, i + 2);
  }
  heap.heapify();
  let parts = n;
  while (heap.size > 0) {
    const key = heap.topKey();
    const end = heap.topEnd();
    heap.pop();
    const start = key % 4294967296;
    if (!alive[start]) continue;
    const mid = next[start]!;
    if (mid >= n || next[mid] !== end) continue; // stale: the pair changed since it was pushed
    // Merge: the part at `mid` joins the part at `start`.
    alive[mid] = 0;
    next[start] = end;
    if (end < n) prev[end] = start;
    parts--;
    pushPair(start);
    const before = prev[start]!;
    if (before >= 0) pushPair(before);
  }
  return parts;
}

/** A binary min-heap of (key, end) in typed arrays; capacity grows as needed. */
class PairHeap {
  private keys: Float64Array;
  private ends: Int32Array;
  size = 0;

  constructor(capacity: number) {
    this.keys = new Float64Array(Math.max(16, capacity));
    this.ends = new Int32Array(Math.max(16, capacity));
  }

  push(key: number, end: number): void {
    if (this.size === this.keys.length) this.grow();
    let i = this.size++;
    const keys = this.keys;
    const ends = this.ends;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (keys[parent]! <= key) break;
      keys[i] = keys[parent]!;
      ends[i] = ends[parent]!;
      i = parent;
    }
    keys[i] = key;
    ends[i] = end;
  }

  /** Add without ordering; call `heapify` before anything else. */
  append(key: number, end: number): void {
    if (this.size === this.keys.length) this.grow();
    this.keys[this.size] = key;
    this.ends[this.size++] = end;
  }

  heapify(): void {
    for (let i = (this.size >> 1) - 1; i >= 0; i--) this.siftDown(i, this.keys[i]!, this.ends[i]!, this.size);
  }

  topKey(): number {
    return this.keys[0]!;
  }

  topEnd(): number {
    return this.ends[0]!;
  }

  pop(): void {
    const keys = this.keys;
    const ends = this.ends;
    const last = --this.size;
    if (last === 0) return;
    this.siftDown(0, keys[last]!, ends[last]!, last);
  }

  /** Place (key, end) at `i` or below, in a heap of `size` entries. */
  private siftDown(i: number, key: number, end: number, size: number): void {
    const keys = this.keys;
    const ends = this.ends;
    const last = size;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= last) break;
      if (child + 1 < last && keys[child + 1]! < keys[child]!) child++;
      if (keys[child]! >= key) break;
      keys[i] = keys[child]!;
      ends[i] = ends[child]!;
      i = child;
    }
    keys[i] = key;
    ends[i] = end;
  }

  private grow(): void {
    const keys = new Float64Array(this.keys.length * 2);
    keys.set(this.keys);
    const ends = new Int32Array(this.ends.length * 2);
    ends.set(this.ends);
    this.keys = keys;
    this.ends = ends;
  }
}
