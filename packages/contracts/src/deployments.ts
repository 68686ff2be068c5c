import { z } from "zod";

export const DeploymentType = z.enum(["public", "internal", "hybrid"]);
export type DeploymentType = z.infer<typeof DeploymentType>;

/** Feature flags a deployment can turn on or off. */
export const FEATURE_NAMES = [
  "smartRouting",
  "multiModelComparison",
  "modelPreference",
  "ragEnabled",
  "knowledgeBaseEnabled",
  "visionEnabled",
  "streamingEnabled",
  "feedbackEnabled",
  "analyticsEnabled",
] as const;
export const FeatureName = z.enum(FEATURE_NAMES);
export type FeatureName = z.infer<typeof FeatureName>;
export const Features = z.strictObject(
  Object.fromEntries(FEATURE_NAMES.map((f) => [f, z.boolean().optional()])) as Record<FeatureName, z.ZodOptional<z.ZodBoolean>>,
);
export type Features = Partial<Record<FeatureName, boolean>>;

export const PRESET_NAMES = ["minimal", "standard", "premium", "healthcare"] as const;
export const PresetName = z.enum(PRESET_NAMES);
export type PresetName = z.infer<typeof PresetName>;

/** Feature sets the presets apply in one call. */
export const PRESETS: Record<PresetName, Record<FeatureName, boolean>> = {
  minimal: {
    smartRouting: false,
    multiModelComparison: false,
    modelPreference: false,
    ragEnabled: false,
    knowledgeBaseEnabled: false,
    visionEnabled: false,
    streamingEnabled: true,
    feedbackEnabled: false,
    analyticsEnabled: false,
  },
  standard: {
    smartRouting: true,
    multiModelComparison: false,
    modelPreference: false,
    ragEnabled: true,
    knowledgeBaseEnabled: true,
    visionEnabled: false,
    streamingEnabled: true,
    feedbackEnabled: true,
    analyticsEnabled: true,
  },
  premium: {
    smartRouting: true,
    multiModelComparison: true,
    modelPreference: true,
    ragEnabled: true,
    knowledgeBaseEnabled: true,
    visionEnabled: true,
    streamingEnabled: true,
    feedbackEnabled: true,
    analyticsEnabled: true,
  },
  healthcare: {
    smartRouting: true,
    multiModelComparison: false,
    modelPreference: true,
    ragEnabled: true,
    knowledgeBaseEnabled: true,
    visionEnabled: true,
    streamingEnabled: true,
    feedbackEnabled: true,
    analyticsEnabled: true,
  },
};

/** Features a new deployment of each type starts with. */
export const DEFAULT_FEATURES_BY_TYPE: Record<DeploymentType, Record<FeatureName, boolean>> = {
  public: PRESETS.standard,
  internal: PRESETS.premium,
  hybrid: PRESETS.standard,
};

/** A custom rolling window (e.g. 50 requests per 10 s), on top of the per minute/hour/day limits. */
export const RateWindow = z.strictObject({ requests: z.number().int().min(1), seconds: z.number().int().min(1).max(86_400) });

export const RateLimits = z.strictObject({
  requests_per_minute: z.number().int().min(1).optional(),
  requests_per_hour: z.number().int().min(1).optional(),
  requests_per_day: z.number().int().min(1).optional(),
  tokens_per_request: z.number().int().min(1).optional(),
  tokens_per_day: z.number().int().min(1).optional(),
  windows: z.array(RateWindow).max(5).optional(),
});
export type RateLimits = z.infer<typeof RateLimits>;
export type ResolvedRateLimits = Required<Omit<RateLimits, "windows">> & { windows: z.infer<typeof RateWindow>[] };

/** Limits a deployment gets for whatever its `rate_limits` leave unset. */
export const RATE_LIMIT_DEFAULTS: Record<DeploymentType, ResolvedRateLimits> = {
  public: { requests_per_minute: 10, requests_per_hour: 100, requests_per_day: 1000, tokens_per_request: 4000, tokens_per_day: 50_000, windows: [] },
  internal: { requests_per_minute: 60, requests_per_hour: 1000, requests_per_day: 10_000, tokens_per_request: 16_000, tokens_per_day: 500_000, windows: [] },
  hybrid: { requests_per_minute: 30, requests_per_hour: 500, requests_per_day: 5000, tokens_per_request: 8000, tokens_per_day: 200_000, windows: [] },
};

export function resolveRateLimits(type: DeploymentType, set: RateLimits | null | undefined): ResolvedRateLimits {
  const d = RATE_LIMIT_DEFAULTS[type];
  return { ...d, ...Object.fromEntries(Object.entries(set ?? {}).filter(([, v]) => v !== undefined)), windows: set?.windows ?? d.windows };
}

/** End-user tiers (the request's `user` field): messages per day. */
export const END_USER_TIERS = { free: 50, paid: 500 } as const;
/** Messages an end user of a deployment may send per calendar month (UTC) by tier, as the chat runbook's free and paid plans. */
export const END_USER_MONTHLY_TIERS = { free: 50, paid: 500 } as const;
export const EndUserTier = z.enum(["free", "paid"]);
export type EndUserTier = z.infer<typeof EndUserTier>;

export const Budget = z
  .strictObject({
    period: z.enum(["day", "month"]),
    limit_usd: z.number().positive().optional(),
    limit_tokens: z.number().int().positive().optional(),
  })
  .refine((b) => b.limit_usd !== undefined || b.limit_tokens !== undefined, "a budget needs limit_usd or limit_tokens");
export type Budget = z.infer<typeof Budget>;

/** Bounds of a deployment's scheduling settings (the CHECK constraints of migration 0020 repeat them). */
export const QUEUE_WEIGHT_MAX = 100;
export const DEFAULT_QUEUE_WEIGHT = 1;
export const MAX_CONCURRENT_JOBS_MAX = 100_000;
/** 24 h, as the request's own `max_queue_ms` on POST /v1/jobs. */
export const MAX_QUEUE_MS_MAX = 86_400_000;

/** `queue_weight`: the deployment's share in the weighted deficit round robin across tenants, 1–100 (default 1). */
export const QueueWeight = z
  .number()
  .int()
  .min(1)
  .max(QUEUE_WEIGHT_MAX)
  .describe("the deployment's share in the weighted round robin across tenants, 1-100 (default 1)");
/** `max_concurrent_jobs`: most of the deployment's jobs running at once across all workers, 1–100 000; null is unlimited. */
export const MaxConcurrentJobs = z
  .number()
  .int()
  .min(1)
  .max(MAX_CONCURRENT_JOBS_MAX)
  .nullable()
  .describe("most of the deployment's jobs running at once across all workers, 1-100000; null (the default) is unlimited");
/**
 * `max_queue_ms`: longest a job of the deployment may wait before a worker begins it, 1 ms–24 h;
 * null sets none. A request's own `max_queue_ms` applies too: the lower wins.
 */
export const DeploymentMaxQueueMs = z
  .number()
  .int()
  .min(1)
  .max(MAX_QUEUE_MS_MAX)
  .nullable()
  .describe(
    "longest a job of the deployment may wait before a worker begins it, 1 ms-24 h; null (the default) sets none; a request's own max_queue_ms applies too (the lower wins)",
  );

/**
 * A deployment's scheduling settings (issue 18, fair scheduling), as stored (migration 0020's
 * columns), shown by the admin API and read by the scheduler.
 */
export const DeploymentScheduling = z.object({
  queue_weight: QueueWeight,
  max_concurrent_jobs: MaxConcurrentJobs,
  max_queue_ms: DeploymentMaxQueueMs,
});
export type DeploymentScheduling = z.infer<typeof DeploymentScheduling>;

/**
 * A deployment's settings as its row stores them (the JSON columns and the scheduling columns),
 * what the repository parses rows with. `features` holds the flags set when the row was last written: a flag left out reads
 * as off, and a name this version no longer knows is kept, so retiring a flag never makes old rows
 * unreadable. `rate_limits` and `budget` are as the admin API validated them.
 */
export const StoredDeploymentSettings = z.object({
  features: z.record(z.string(), z.boolean()),
  rate_limits: RateLimits,
  budget: Budget.nullable(),
  allowed_models: z.array(z.string()).nullable(),
  allowed_origins: z.array(z.string()),
  allowed_source_domains: z.array(z.string()),
  ...DeploymentScheduling.shape,
});
export type StoredDeploymentSettings = z.infer<typeof StoredDeploymentSettings>;

const domain = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9.-]+$/i, "must be a host name such as docs.example.com");
const origin = z
  .string()
  .max(300)
  .regex(/^https?:\/\/[^/\s]+$/, "must be an origin such as https://app.example.com (scheme and host, no path)");

const deploymentFields = {
  name: z.string().trim().min(1).max(200),
  type: DeploymentType,
  preset: PresetName.optional(),
  features: Features.optional(),
  rate_limits: RateLimits.optional(),
  budget: Budget.nullable().optional(),
  model_preference: z.string().min(1).max(128).nullable().optional(),
  allowed_models: z.array(z.string().min(1)).min(1).nullable().optional(),
  allowed_origins: z.array(origin).max(50).optional(),
  allowed_source_domains: z.array(domain).max(200).optional(),
  /** Default 1. */
  queue_weight: QueueWeight.optional(),
  /** Default null (unlimited); null clears. */
  max_concurrent_jobs: MaxConcurrentJobs.optional(),
  /** Default null (none); null clears. */
  max_queue_ms: DeploymentMaxQueueMs.optional(),
};

export const CreateDeploymentRequest = z.strictObject(deploymentFields);
export type CreateDeploymentRequest = z.infer<typeof CreateDeploymentRequest>;

/** PATCH: any field; `features` merges into the current set. */
export const UpdateDeploymentRequest = z.strictObject({ ...deploymentFields, name: deploymentFields.name.optional(), type: DeploymentType.optional() });
export type UpdateDeploymentRequest = z.infer<typeof UpdateDeploymentRequest>;

export const ApplyPresetRequest = z.strictObject({ preset: PresetName });
