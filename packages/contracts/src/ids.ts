import { randomFillSync } from "node:crypto";

// Random bytes are drawn from a pool filled 4 KiB at a time: one call into OpenSSL per 256 ids
// instead of one per id (admission makes several ids per request).
const POOL = Buffer.alloc(4096);
let poolAt = POOL.length;

/** `n` (≤ 4096) cryptographically random bytes, as a view of a shared pool: use them before the next call. */
export function pooledRandomBytes(n: number): Buffer {
  if (n > POOL.length) throw new RangeError(`pooledRandomBytes: at most ${POOL.length} bytes, asked for ${n}`);
  if (poolAt + n > POOL.length) {
    randomFillSync(POOL);
    poolAt = 0;
  }
  const out = POOL.subarray(poolAt, poolAt + n);
  poolAt += n;
  return out;
}

/**
 * `prefix_` + 10 chars of millisecond time (base32, sortable) + 16 random chars.
 * Sortable ids let "newest first" lists page by id.
 */
export function newId(prefix: string, now = Date.now()): string {
  const alphabet = "0123456789abcdefghjkmnpqrstvwxyz";
  let t = "";
  let n = now;
  for (let i = 0; i < 10; i++) {
    t = alphabet[n % 32] + t;
    n = Math.floor(n / 32);
  }
  const rnd = pooledRandomBytes(16);
  let r = "";
  for (const b of rnd) r += alphabet[b % 32];
  return `${prefix}_${t}${r}`;
}

export const ID_PATTERN = /^[a-z]+_[0-9a-z]{10,64}$/;
