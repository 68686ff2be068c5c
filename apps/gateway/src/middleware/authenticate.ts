import { timingSafeEqual } from "node:crypto";
import { ApiError, isApiError, PUBLISHABLE_SCOPES, Scope, type Scope as ScopeT } from "@switchyard/contracts";
import { findApiKey, findDefaultDeployment, parseApiKey, secretMatches, touchApiKey, writeAudit, type ApiKeyRecord, type Database } from "@switchyard/db";
import { withRequestContext, type AuthFailureReason, type Logger } from "@switchyard/telemetry";
import type { NextFunction, Request, Response } from "express";
import type { Kysely } from "kysely";
import { DeploymentCache } from "../services/deployment-cache";
import { normalizeOrigin } from "./cors";
import type { Principal } from "@switchyard/contracts";

/** Key records are cached this long, so a revocation is seen within a second on every gateway. */
const CACHE_MS = 1000;
/** `last_used_at` is written at most this often per key. */
const TOUCH_EVERY_MS = 60_000;

interface Cached {
  record: ApiKeyRecord;
  deploymentId: string;
  at: number;
  /** The secret that matched this record's hash, once one has (later requests compare bytes, not hashes). */
  verified?: Buffer;
  /** The scopes the record grants, parsed once per cached record. */
  scopes?: ReadonlySet<ScopeT>;
}

/** The presented secret matches the record: bytes against the secret that matched before, else hash against the stored hash. */
function secretOk(entry: Cached, secret: string): boolean {
  const presented = Buffer.from(secret);
  if (entry.verified) return presented.length === entry.verified.length && timingSafeEqual(presented, entry.verified);
  if (!secretMatches(secret, entry.record.secret_hash)) return false;
  entry.verified = presented;
  return true;
}

/**
 * Resolves `Authorization: Bearer sy_live_<id>_<secret>` (or `sy_pk_…`) to a principal: lookup by
 * id, constant-time comparison of the secret's hash, revocation and expiry checked on every
 * request. A publishable key is accepted only with an `Origin` its deployment allows (read
 * through `deployments`, default a cache of its own, so a change is seen within a second).
 */
export class Authenticator {
  private readonly cache = new Map<string, Cached>();
  private readonly touched = new Map<string, number>();
  private readonly loading = new Map<string, Promise<Cached | null>>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly logger: Logger,
    private readonly deployments: DeploymentCache = new DeploymentCache(db),
    /** Told of every failed authentication: why, and the key id it named (never its secret). */
    private readonly onFailure: (reason: AuthFailureReason, keyId: string | null) => void = () => undefined,
  ) {}

  /** `origin` is the request's `Origin` header; secret keys (for servers) don't need one. */
  async authenticate(header: string | undefined, origin?: string): Promise<Principal> {
    const fail = (reason: AuthFailureReason, keyId: string | null, err: ApiError) => {
      this.onFailure(reason, keyId);
      return err;
    };
    if (!header) throw fail("missing", null, new ApiError("missing_api_key", "missing API key: send Authorization: Bearer <key>"));
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const parsed = m ? parseApiKey(m[1]!) : null;
    if (!parsed) throw fail("invalid", null, new ApiError("invalid_api_key", "invalid API key"));
    const entry = await this.lookup(parsed.id);
    const now = Date.now();
    if (!entry || entry.record.kind !== parsed.kind || !secretOk(entry, parsed.secret)) {
      throw fail("invalid", parsed.id, new ApiError("invalid_api_key", "invalid API key"));
    }
    if (entry.record.revoked_at && entry.record.revoked_at.getTime() <= now)
      throw fail("revoked", parsed.id, new ApiError("invalid_api_key", "API key has been revoked"));
    if (entry.record.expires_at && entry.record.expires_at.getTime() <= now)
      throw fail("expired", parsed.id, new ApiError("invalid_api_key", "API key has expired"));
    const publishable = entry.record.kind === "publishable";
    if (publishable) {
      try {
        await this.checkOrigin(entry.deploymentId, origin);
      } catch (err) {
        throw isApiError(err) ? fail("origin", parsed.id, err) : err;
      }
    }
    this.touch(parsed.id, now);
    // A publishable key never carries more than its fixed scopes, whatever its row says.
    const allowed = (s: string): s is ScopeT => Scope.safeParse(s).success && (!publishable || (PUBLISHABLE_SCOPES as readonly string[]).includes(s));
    const scopes = (entry.scopes ??= new Set(entry.record.scopes.filter(allowed)));
    return { keyId: entry.record.id, tenantId: entry.record.tenant_id, deploymentId: entry.deploymentId, scopes, publishable };
  }

  /** Publishable keys work only on a public deployment and only from an origin it allows. */
  private async checkOrigin(deploymentId: string, origin: string | undefined): Promise<void> {
    const d = await this.deployments.get(deploymentId);
    if (d.type !== "public") throw new ApiError("invalid_api_key", `publishable keys work only on public deployments; this key's deployment is ${d.type}`);
    if (!origin)
      throw new ApiError("origin_not_allowed", "publishable keys are for browsers: the request needs an Origin header this deployment allows", "Origin");
    const o = normalizeOrigin(origin);
    if (o === null || !d.allowedOrigins.some((a) => normalizeOrigin(a) === o)) {
      throw new ApiError("origin_not_allowed", `Origin ${origin} is not in this deployment's allowed_origins`, "Origin");
    }
  }

  private async lookup(id: string): Promise<Cached | null> {
    const hit = this.cache.get(id);
    if (hit && Date.now() - hit.at < CACHE_MS) return hit;
    // One read per key in flight: when the entry expires under load, its requests share it.
    let p = this.loading.get(id);
    if (!p) {
      p = this.load(id).finally(() => this.loading.delete(id));
      this.loading.set(id, p);
    }
    return p;
  }

  private async load(id: string): Promise<Cached | null> {
    const record = await findApiKey(this.db, id);
    if (!record) {
      this.cache.delete(id);
      return null;
    }
    const deploymentId = record.deployment_id ?? (await findDefaultDeployment(this.db, record.tenant_id))?.id;
    if (!deploymentId) throw new ApiError("invalid_api_key", "API key's tenant has no deployment");
    const entry = { record, deploymentId, at: Date.now() };
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(id, entry);
    return entry;
  }

  private touch(id: string, now: number): void {
    if (now - (this.touched.get(id) ?? 0) < TOUCH_EVERY_MS) return;
    this.touched.set(id, now);
    touchApiKey(this.db, id, new Date(now)).catch((err: Error) => this.logger.warn({ err: err.message, keyId: id }, "could not record key use"));
  }
}

/** Middleware: authenticate, then require every scope listed. */
export function requireScopes(auth: Authenticator, ...scopes: ScopeT[]) {
  return async (req: Request, _res: Response, next: NextFunction): Promise<void> => {
    const principal = await auth.authenticate(req.get("authorization"), req.get("origin"));
    for (const s of scopes) {
      if (!principal.scopes.has(s)) throw new ApiError("insufficient_scope", `this API key lacks the ${s} scope`);
    }
    req.principal = principal;
    // Every line logged while this request is handled names the request and the tenant; its spans join the caller's trace (traceparent).
    withRequestContext(req.headers, { requestId: req.requestId, tenantId: principal.tenantId, keyId: principal.keyId }, next);
  };
}

/** At most one audit row per (reason, key) this often, and at most {@link AUDIT_FAILURES_PER_MINUTE} rows a minute per gateway. */
const AUDIT_SAME_FAILURE_MS = 60_000;
const AUDIT_FAILURES_PER_MINUTE = 60;

/**
 * What a failed authentication leaves behind: `ai_auth_failures_total{reason}` every time, and for
 * a presented key an audit row (`auth.failure`, the key id it named, never key material), rate-limited so a flood of
 * bad keys cannot flood the audit log: the same (reason, key) once a minute, and at most
 * {@link AUDIT_FAILURES_PER_MINUTE} rows a minute in all. The metric counts what the log skips.
 */
export function authFailureRecorder(
  db: Kysely<Database>,
  logger: Logger,
  count: (reason: AuthFailureReason) => void,
): (reason: AuthFailureReason, keyId: string | null) => void {
  const lastWritten = new Map<string, number>();
  let windowStart = 0;
  let inWindow = 0;
  return (reason, keyId) => {
    count(reason);
    // Audited when a key was presented: a request without one names nothing to look into (and
    // anonymous probes would only crowd the log); the metric counts it.
    if (keyId === null) return;
    const now = Date.now();
    const k = `${reason}:${keyId ?? ""}`;
    if (now - (lastWritten.get(k) ?? 0) < AUDIT_SAME_FAILURE_MS) return;
    if (now - windowStart >= 60_000) {
      windowStart = now;
      inWindow = 0;
    }
    if (inWindow >= AUDIT_FAILURES_PER_MINUTE) return;
    inWindow++;
    if (lastWritten.size > 10_000) lastWritten.clear();
    lastWritten.set(k, now);
    writeAudit(
      db,
      { keyId: null },
      { tenant_id: null, action: "auth.failure", target_type: "api_key", target_id: keyId ?? "(none)", before: null, after: { reason } },
    ).catch((err: Error) => logger.warn({ err: err.message }, "could not audit a failed authentication"));
  };
}
