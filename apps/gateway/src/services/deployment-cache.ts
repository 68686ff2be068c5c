import { ApiError, resolveRateLimits, type Budget, type EndUserTier, type ResolvedRateLimits, type RoutingContext } from "@switchyard/contracts";
import { findDeploymentWithTenant, type Database } from "@switchyard/db";
import type { Kysely } from "kysely";

/** Settings are re-read at most this often, so an admin change reaches every gateway within a second. */
const TTL_MS = 1000;

export interface DeploymentSettings {
  id: string;
  tenantId: string;
  type: "public" | "internal" | "hybrid";
  features: Record<string, boolean>;
  modelPreference: string | null;
  allowedModels: string[] | null;
  rateLimits: ResolvedRateLimits;
  budget: Budget | null;
  allowedOrigins: string[];
  allowedSourceDomains: string[];
  /** Share in the weighted deficit round robin across tenants, 1–100 (default 1). */
  queueWeight: number;
  /** Most of the deployment's jobs running at once across all workers; null is unlimited. */
  maxConcurrentJobs: number | null;
  /** Longest a job may wait before a worker begins it; null sets none (a request's own max_queue_ms applies too: the lower wins). */
  maxQueueMs: number | null;
  /** The tenant's settings that admission needs. */
  tenant: { timezone: string; billingMode: "postpaid" | "prepaid"; budget: Budget | null };
}

/** Deployment rows by id, cached for a second. */
export class DeploymentCache {
  private readonly cache = new Map<string, { at: number; value: DeploymentSettings }>();
  private readonly tiers = new Map<string, { at: number; tier: EndUserTier }>();
  // One query per deployment in flight: when the entry expires under load, the requests that
  // find it expired share one read instead of each taking a pool connection.
  private readonly loading = new Map<string, Promise<DeploymentSettings>>();
  constructor(private readonly db: Kysely<Database>) {}

  async get(id: string): Promise<DeploymentSettings> {
    const hit = this.cache.get(id);
    if (hit && Date.now() - hit.at < TTL_MS) return hit.value;
    let p = this.loading.get(id);
    if (!p) {
      p = this.load(id).finally(() => this.loading.delete(id));
      this.loading.set(id, p);
    }
    return p;
  }

  private async load(id: string): Promise<DeploymentSettings> {
    // Parsed at the repository edge: a corrupt row throws CorruptRowError (a 500, logged in full).
    const found = await findDeploymentWithTenant(this.db, id);
    if (!found) throw new ApiError("invalid_api_key", "API key's deployment no longer exists");
    const { deployment: d, tenant: t } = found;
    const value: DeploymentSettings = {
      id: d.id,
      tenantId: d.tenant_id,
      type: d.type,
      features: d.features,
      modelPreference: d.model_preference,
      allowedModels: d.allowed_models,
      rateLimits: resolveRateLimits(d.type, d.rate_limits),
      budget: d.budget,
      allowedOrigins: d.allowed_origins,
      allowedSourceDomains: d.allowed_source_domains,
      queueWeight: d.queue_weight,
      maxConcurrentJobs: d.max_concurrent_jobs,
      maxQueueMs: d.max_queue_ms,
      tenant: { timezone: t.timezone, billingMode: t.billing_mode, budget: t.budget },
    };
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(id, { at: Date.now(), value });
    return value;
  }

  /** An end user's tier on a deployment (free unless an admin set it), cached for a second. */
  async endUserTier(deploymentId: string, userId: string): Promise<EndUserTier> {
    const k = `${deploymentId}\u0000${userId}`;
    const hit = this.tiers.get(k);
    if (hit && Date.now() - hit.at < TTL_MS) return hit.tier;
    const row = await this.db.selectFrom("end_users").select("tier").where("deployment_id", "=", deploymentId).where("user_id", "=", userId).executeTakeFirst();
    const tier: EndUserTier = row?.tier ?? "free";
    if (this.tiers.size > 100_000) this.tiers.clear();
    this.tiers.set(k, { at: Date.now(), tier });
    return tier;
  }
}

/**
 * 403 `feature_disabled` when the caller's deployment has `streamingEnabled` off: its answers are
 * read whole (a non-stream request, or polling the job), never as an event stream. `param` names
 * what asked for a stream (`stream`), or is undefined for an events endpoint.
 */
export async function requireStreaming(deployments: DeploymentCache, deploymentId: string, param: string | undefined): Promise<void> {
  const d = await deployments.get(deploymentId);
  if (d.features.streamingEnabled !== false) return;
  const what = param ? `${param}: ` : "";
  throw new ApiError(
    "feature_disabled",
    `${what}streaming is off on this deployment (the streamingEnabled feature): ask without stream and read the answer whole, or poll the job`,
    param,
  );
}

/** The routing inputs a job carries from its deployment. */
export function routingContext(d: DeploymentSettings): RoutingContext {
  return {
    smart_routing: d.features.smartRouting ?? true,
    vision_enabled: d.features.visionEnabled ?? false,
    model_preference: d.features.modelPreference === false ? null : d.modelPreference,
    allowed_models: d.allowedModels,
    budget_used_ratio: 0,
  };
}
