import { z } from "zod";
import { ApiKeyKind, Scope } from "../auth";
import {
  Budget,
  DeploymentMaxQueueMs,
  DeploymentType,
  EndUserTier,
  MaxConcurrentJobs,
  QueueWeight,
  FEATURE_NAMES,
  RateLimits,
  RateWindow,
  type FeatureName,
} from "../deployments";
import { limitParam, pageOf } from "./common";

/** A tenant as the admin API shows it; `default_deployment_id` is null only for a tenant whose default deployment is gone. */
export const TenantView = z.object({
  id: z.string(),
  object: z.literal("tenant"),
  name: z.string(),
  timezone: z.string(),
  billing_mode: z.enum(["postpaid", "prepaid"]),
  budget: Budget.nullable(),
  daily_cost_alert_usd: z.number().nullable(),
  default_deployment_id: z.string().nullable(),
  created_at: z.string(),
});
export type TenantView = z.infer<typeof TenantView>;

/** `GET /admin/v1/tenants?limit=&cursor=&name=`: newest first; `name` matches a part of the name, case-insensitively. */
export const TenantsQuery = z.strictObject({
  limit: limitParam(500),
  cursor: z
    .string()
    .regex(/^ten_[0-9a-z_-]{1,124}$/, "must be the id of a tenant (next_cursor of the previous page)")
    .optional(),
  name: z.string().min(1).max(256).optional(),
});
export const TenantPage = pageOf(TenantView);
export type TenantPage = z.infer<typeof TenantPage>;

/** Every feature flag, each set (the full set a deployment has, defaults filled in). */
export const FeatureSet = z.object(Object.fromEntries(FEATURE_NAMES.map((f) => [f, z.boolean()])) as Record<FeatureName, z.ZodBoolean>);
export type FeatureSet = z.infer<typeof FeatureSet>;

/** A deployment's limits in effect: what it set, the type's defaults for the rest. */
export const EffectiveRateLimits = z.object({
  requests_per_minute: z.number().int(),
  requests_per_hour: z.number().int(),
  requests_per_day: z.number().int(),
  tokens_per_request: z.number().int(),
  tokens_per_day: z.number().int(),
  windows: z.array(RateWindow),
});

/** A deployment as the admin API shows it: the full feature set, limits as set and as in effect. */
export const DeploymentView = z.object({
  id: z.string(),
  object: z.literal("deployment"),
  tenant_id: z.string(),
  name: z.string(),
  type: DeploymentType,
  is_default: z.boolean(),
  features: FeatureSet,
  rate_limits: RateLimits,
  effective_rate_limits: EffectiveRateLimits,
  budget: Budget.nullable(),
  model_preference: z.string().nullable(),
  allowed_models: z.array(z.string()).nullable(),
  allowed_origins: z.array(z.string()),
  allowed_source_domains: z.array(z.string()),
  /** Share in the weighted round robin across tenants (1–100). */
  queue_weight: QueueWeight,
  /** Most of its jobs running at once across all workers; null is unlimited. */
  max_concurrent_jobs: MaxConcurrentJobs,
  /** Longest a job may wait before a worker begins it (the request's own max_queue_ms too: the lower wins); null sets none. */
  max_queue_ms: DeploymentMaxQueueMs,
  created_at: z.string(),
  updated_at: z.string(),
});
export type DeploymentView = z.infer<typeof DeploymentView>;
export const DeploymentList = z.object({ object: z.literal("list"), data: z.array(DeploymentView) });
export type DeploymentList = z.infer<typeof DeploymentList>;
export const DeploymentPage = pageOf(DeploymentView);
export type DeploymentPage = z.infer<typeof DeploymentPage>;

/** `GET /admin/v1/deployments?limit=&cursor=&tenant_id=&type=`: across tenants, newest first. */
export const DeploymentsQuery = z.strictObject({
  limit: limitParam(500),
  cursor: z
    .string()
    .regex(/^dep_[0-9a-z_-]{1,124}$/, "must be the id of a deployment (next_cursor of the previous page)")
    .optional(),
  tenant_id: z.string().min(1).max(128).optional(),
  type: DeploymentType.optional(),
});

/** `POST /admin/v1/deployments/{id}/features/{feature}`. */
export const ToggleFeatureRequest = z.strictObject({ enabled: z.boolean() });
/** `PUT /admin/v1/deployments/{id}/end-users/{user_id}`. */
export const SetEndUserTierRequest = z.strictObject({ tier: EndUserTier });

/** An end user of a deployment: the tier (free when none was set) and the messages counted against its daily and monthly limits. */
export const EndUserView = z.object({
  object: z.literal("end_user"),
  deployment_id: z.string(),
  tenant_id: z.string(),
  user_id: z.string(),
  tier: EndUserTier,
  /** False when the user has no row (and so is on the free tier). */
  tier_set: z.boolean(),
  messages_per_day: z.number().int(),
  /** The per-day limit's sliding window. */
  window_seconds: z.number().int(),
  messages_used: z.number().int(),
  messages_remaining: z.number().int(),
  /** The calendar month (UTC) the monthly figures count, `YYYY-MM`. */
  month: z.string(),
  messages_per_month: z.number().int(),
  messages_used_this_month: z.number().int(),
  messages_remaining_this_month: z.number().int(),
  month_resets_at: z.string(),
  updated_at: z.string().nullable(),
});
export type EndUserView = z.infer<typeof EndUserView>;

/** What setting an end user's tier answers. */
export const EndUserTierView = z.object({
  object: z.literal("end_user"),
  deployment_id: z.string(),
  user_id: z.string(),
  tier: EndUserTier,
  messages_per_day: z.number().int(),
  messages_per_month: z.number().int(),
  updated_at: z.string(),
});
export type EndUserTierView = z.infer<typeof EndUserTierView>;

/** An API key as the admin API shows it: never the hash, never the secret. */
export const ApiKeyView = z.object({
  id: z.string(),
  object: z.literal("api_key"),
  tenant_id: z.string(),
  deployment_id: z.string().nullable(),
  name: z.string(),
  kind: ApiKeyKind,
  scopes: z.array(Scope),
  expires_at: z.string().nullable(),
  revoked_at: z.string().nullable(),
  last_used_at: z.string().nullable(),
  /** Set by rotation: the key that replaces this one. */
  replaced_by: z.string().nullable(),
  created_at: z.string(),
});
export type ApiKeyView = z.infer<typeof ApiKeyView>;
export const ApiKeyList = z.object({ object: z.literal("list"), data: z.array(ApiKeyView) });
export type ApiKeyList = z.infer<typeof ApiKeyList>;

/** A new key: its view and, this once, the key itself. */
export const CreatedApiKey = ApiKeyView.extend({ key: z.string() });
export type CreatedApiKey = z.infer<typeof CreatedApiKey>;

/** A rotation: the new key (with its secret, once) and the old key as it now is. */
export const RotatedApiKey = CreatedApiKey.extend({ previous_key: ApiKeyView });
export type RotatedApiKey = z.infer<typeof RotatedApiKey>;
