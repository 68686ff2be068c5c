import { randomBytes } from "node:crypto";

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
  const rnd = randomBytes(16);
  let r = "";
  for (const b of rnd) r += alphabet[b % 32];
  return `${prefix}_${t}${r}`;
}

export const ID_PATTERN = /^[a-z]+_[0-9a-z]{10,64}$/;
