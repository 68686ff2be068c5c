import { ApiError, type RoutingContext } from "@switchyard/contracts";
import type { Database } from "@switchyard/db";
import type { Kysely } from "kysely";

/** Settings are re-read at most this often, so an admin change reaches every gateway within a second. */
const TTL_MS = 1000;

export interface DeploymentSettings {
  id: string;
  tenantId: string;
  type: "public" | "internal" | "hybrid";
  features: Record<string, boolean>;
  modelPreference: string | null;
}

/** Deployment rows by id, cached for a second. */
export class DeploymentCache {
  private readonly cache = new Map<string, { at: number; value: DeploymentSettings }>();
  constructor(private readonly db: Kysely<Database>) {}

  async get(id: string): Promise<DeploymentSettings> {
    const hit = this.cache.get(id);
    if (hit && Date.now() - hit.at < TTL_MS) return hit.value;
    const row = await this.db.selectFrom("deployments").select(["id", "tenant_id", "type", "features", "model_preference"]).where("id", "=", id).executeTakeFirst();
    if (!row) throw new ApiError("invalid_api_key", "API key's deployment no longer exists");
    const value: DeploymentSettings = { id: row.id, tenantId: row.tenant_id, type: row.type, features: row.features, modelPreference: row.model_preference };
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(id, { at: Date.now(), value });
    return value;
  }
}

/** The routing inputs a job carries from its deployment. */
export function routingContext(d: DeploymentSettings): RoutingContext {
  return {
    smart_routing: d.features.smartRouting ?? true,
    vision_enabled: d.features.visionEnabled ?? false,
    model_preference: d.features.modelPreference === false ? null : d.modelPreference,
    allowed_models: null,
    budget_used_ratio: 0,
  };
}
