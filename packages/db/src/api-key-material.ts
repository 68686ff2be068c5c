import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

export type ApiKeyKind = "secret" | "publishable";
const PREFIX: Record<ApiKeyKind, string> = { secret: "sy_live_", publishable: "sy_pk_" };
const KEY_RE = /^sy_(live|pk)_([a-z0-9]{16,32})_([A-Za-z0-9]{32,64})$/;

export interface ApiKeyMaterial {
  id: string;
  key: string;
  secretHash: string;
}

const alnum = (n: number, alphabet: string) => Array.from(randomBytes(n), (b) => alphabet[b % alphabet.length]).join("");

/** A new key `sy_live_<id>_<secret>`; only `secretHash` is ever stored. */
export function generateApiKey(kind: ApiKeyKind = "secret"): ApiKeyMaterial {
  const id = alnum(20, "0123456789abcdefghijklmnopqrstuvwxyz");
  const secret = alnum(40, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
  return { id, key: `${PREFIX[kind]}${id}_${secret}`, secretHash: hashSecret(secret) };
}

export function parseApiKey(key: string): { kind: ApiKeyKind; id: string; secret: string } | null {
  const m = KEY_RE.exec(key);
  if (!m) return null;
  return { kind: m[1] === "pk" ? "publishable" : "secret", id: m[2]!, secret: m[3]! };
}

/** The secret is 200+ bits of randomness, so a plain sha256 is enough (no slow KDF needed). */
export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

/** Constant-time comparison of a presented secret with a stored hash. */
export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(secret), "hex");
  const b = Buffer.from(storedHash, "hex");
  return a.length === b.length && timingSafeEqual(a, b);
}
