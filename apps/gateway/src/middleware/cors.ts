import { allAllowedOrigins, type Database } from "@switchyard/db";
import type { Logger } from "@switchyard/telemetry";
import type { NextFunction, Request, Response } from "express";
import type { Kysely } from "kysely";

/** The allow-list is re-read at most this often, so an admin change is seen within a second. */
const CACHE_MS = 1000;
const ALLOW_METHODS = "GET, POST, DELETE";
const ALLOW_HEADERS = "authorization, content-type, idempotency-key, last-event-id";
const EXPOSE_HEADERS = "location, x-switchyard-job-id, idempotent-replayed, retry-after, ratelimit, ratelimit-policy, x-request-id";
/** Browsers may cache a preflight this long; the key's origin is still checked on every request. */
const MAX_AGE_SECONDS = "600";

/**
 * An origin in its canonical form (`https://app.example.com`, lower-case host, no default port),
 * or null for anything that is not an http(s) origin (e.g. the literal `null` of sandboxed frames).
 */
export function normalizeOrigin(raw: string): string | null {
  try {
    const u = new URL(raw);
    if (u.protocol !== "http:" && u.protocol !== "https:") return null;
    return u.origin;
  } catch {
    return null;
  }
}

/** The union of every deployment's `allowed_origins`, cached for a second; one refresh at a time. */
export class AllowedOrigins {
  private value: { at: number; set: ReadonlySet<string> } | null = null;
  private pending: Promise<ReadonlySet<string>> | null = null;
  constructor(private readonly db: Kysely<Database>) {}

  async has(origin: string): Promise<boolean> {
    const o = normalizeOrigin(origin);
    return o !== null && (await this.get()).has(o);
  }

  private async get(): Promise<ReadonlySet<string>> {
    if (this.value && Date.now() - this.value.at < CACHE_MS) return this.value.set;
    this.pending ??= allAllowedOrigins(this.db)
      .then((list) => {
        const set = new Set(list.map(normalizeOrigin).filter((o): o is string => o !== null));
        this.value = { at: Date.now(), set };
        return set;
      })
      .finally(() => (this.pending = null));
    return this.pending;
  }
}

/**
 * CORS for `/v1/*`, for publishable keys used from browsers. A preflight carries no key, so it is
 * answered for any origin some deployment allows, and with a bare 204 otherwise; the key's own
 * deployment is checked when the actual request authenticates. Responses to allowed origins
 * carry `Access-Control-Allow-Origin` (the exact origin, with `Vary: Origin`).
 */
export function cors(origins: AllowedOrigins, logger: Logger) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    if (!/^\/v1\//i.test(req.path)) return next();
    res.vary("Origin");
    const origin = req.get("origin");
    let allowed = false;
    if (origin) {
      try {
        allowed = await origins.has(origin);
      } catch (err) {
        // Without the list, answer without CORS headers: a browser is refused, a server is unaffected.
        logger.warn({ err: (err as Error).message }, "could not read allowed origins");
      }
    }
    if (allowed && origin) {
      res.setHeader("Access-Control-Allow-Origin", origin);
      res.setHeader("Access-Control-Expose-Headers", EXPOSE_HEADERS);
    }
    if (req.method !== "OPTIONS") return next();
    if (allowed) {
      res.setHeader("Access-Control-Allow-Methods", ALLOW_METHODS);
      res.setHeader("Access-Control-Allow-Headers", ALLOW_HEADERS);
      res.setHeader("Access-Control-Max-Age", MAX_AGE_SECONDS);
    }
    res.status(204).end();
  };
}
