import { z } from "zod";
import { DocumentId, RetrievedChunk } from "../documents";
import { OutputLogprob } from "../jobs";
import { ModelTier } from "../model-catalog";
import { ResponseItem, ResponseStatus } from "../responses";
import { ToolCall } from "../tools";
import { BreakerState, UsageSummaryRow } from "./admin-ops";
import { checkDayRange, Day } from "./days";

// ---- Health ----

export const HealthStatus = z.object({ status: z.literal("ok") });
export type HealthStatus = z.infer<typeof HealthStatus>;
export const ReadinessCheck = z.object({ ok: z.boolean(), error: z.string().optional() });
export type ReadinessCheck = z.infer<typeof ReadinessCheck>;
/** `GET /health/ready`: 200 when every check passes; 503 names the failing ones in `error`. */
export const Readiness = z.object({
  ready: z.boolean(),
  checks: z.object({ redis: ReadinessCheck.optional(), postgres: ReadinessCheck.optional(), migrations: ReadinessCheck.optional() }),
  error: z.object({ type: z.literal("api_error"), code: z.literal("not_ready"), message: z.string() }).optional(),
});
export type Readiness = z.infer<typeof Readiness>;
const Health3 = z.enum(["ok", "degraded", "down"]);
export const AiHealth = z.object({
  status: Health3,
  /** Models whose breaker is not closed. */
  open: z.array(z.string()),
  models: z.array(z.object({ model: z.string(), provider: z.string(), tier: ModelTier, state: BreakerState, open_until: z.string().nullable() })),
});
export type AiHealth = z.infer<typeof AiHealth>;
export const DbHealth = z.object({
  status: z.enum(["ok", "down"]),
  postgres: ReadinessCheck,
  migrations: ReadinessCheck,
  latency_ms: z.number(),
  pool: z.object({ total: z.number().int(), idle: z.number().int(), waiting: z.number().int(), max: z.number().int() }).nullable(),
});
export type DbHealth = z.infer<typeof DbHealth>;
export const IntegrationsHealth = z.object({
  status: Health3,
  providers: z.array(z.object({ provider: z.string(), status: Health3, simulated: z.boolean(), models: z.array(z.string()), open: z.array(z.string()) })),
});

export type IntegrationsHealth = z.infer<typeof IntegrationsHealth>;

// ---- Budgets, usage, reports, feedback, analytics ----

export const BudgetStatus = z.object({
  scope: z.enum(["tenant", "deployment"]),
  id: z.string(),
  period: z.enum(["day", "month"]),
  period_start: z.string(),
  period_end: z.string(),
  limit_usd: z.number().optional(),
  limit_tokens: z.number().optional(),
  spent_usd: z.number(),
  spent_tokens: z.number(),
  reserved_usd: z.number(),
  reserved_tokens: z.number(),
  used_ratio: z.number(),
  /** Alert thresholds (per cent) reached: some of 80, 90, 100. */
  thresholds_crossed: z.array(z.number().int()),
});
export type BudgetStatus = z.infer<typeof BudgetStatus>;
export const BudgetList = z.object({ object: z.literal("list"), data: z.array(BudgetStatus) });
export type BudgetList = z.infer<typeof BudgetList>;

export const USAGE_GROUP_BY = ["day", "model", "deployment", "end_user"] as const;
/** `GET /v1/usage?from=&to=&group_by=`: `from`/`to` inclusive UTC days. Strict, so a misspelt parameter is a 400, not silently the default. */
export const UsageQuery = z.strictObject({ from: Day, to: Day, group_by: z.enum(USAGE_GROUP_BY).default("day") }).superRefine(checkDayRange);
export const UsageSummary = z.object({ object: z.literal("list"), data: z.array(UsageSummaryRow) });
export type UsageSummary = z.infer<typeof UsageSummary>;

export const DailyReportQuery = z.strictObject({ date: Day, format: z.enum(["json", "csv"]).optional() });
/** One entry of a top-N list: a model (or feature) and how many requests used it. */
export const TopModel = z.object({ model: z.string(), usage: z.number().int() });
export type TopModel = z.infer<typeof TopModel>;
export const TopFeature = z.object({ feature: z.string(), usage: z.number().int() });
export type TopFeature = z.infer<typeof TopFeature>;

/** One deployment's line of the daily summary. */
export const DeploymentDailyReport = z.object({
  deployment_id: z.string(),
  /** The deployment's current name; null when no such deployment exists (any more). */
  deployment_name: z.string().nullable(),
  /** Usage rows (job attempts) that day. */
  requests: z.number().int(),
  /** input + output tokens. */
  tokens_used: z.number().int(),
  /** Sum of `cost_usd`, rounded to 6 decimal places. */
  cost_estimate: z.number(),
  /** Mean `latency_ms`, rounded to 2 decimal places. */
  avg_latency_ms: z.number(),
  /** Share (0–1) of requests whose status was `failed` or `incomplete`, rounded to 4 places. */
  error_rate: z.number(),
  /** Served models by request count, top 5 (ties by name). */
  top_models: z.array(TopModel),
  /** Features by the number of requests that used them, top 5 (ties by name). */
  top_features: z.array(TopFeature),
});
export type DeploymentDailyReport = z.infer<typeof DeploymentDailyReport>;

/** The runbook's daily summary for one tenant and one UTC day (also served as CSV). */
export const DailyReport = z.object({
  date: z.string(),
  /** By requests, most first (ties by deployment id). */
  deployments: z.array(DeploymentDailyReport),
  totals: z.object({
    total_requests: z.number().int(),
    total_tokens: z.number().int(),
    /** Sum of every row's cost, rounded to 6 places (not the sum of the rounded deployment figures). */
    total_cost: z.number(),
    /**
     * Request-weighted: all failed/incomplete requests ÷ all requests, rounded to 4 places (0 with
     * no requests). Not the mean of the deployments' rates, so one failed request on a quiet
     * deployment doesn't weigh as much as a busy deployment's whole day.
     */
    avg_error_rate: z.number(),
  }),
});
export type DailyReport = z.infer<typeof DailyReport>;

/** `POST /v1/jobs/{id}/feedback`: a rating 1–5 and an optional comment; a second one replaces the first. */
export const FeedbackRequest = z.strictObject({
  rating: z.number().int().min(1).max(5),
  comment: z.string().max(4000).nullable().optional(),
});
export const JobFeedbackView = z.object({
  object: z.literal("job.feedback"),
  job_id: z.string(),
  rating: z.number().int(),
  comment: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type JobFeedbackView = z.infer<typeof JobFeedbackView>;

export const ANALYTICS_GROUP_BY = ["model", "deployment", "day"] as const;
export const AnalyticsQuery = z.strictObject({ from: Day, to: Day, group_by: z.enum(ANALYTICS_GROUP_BY).default("model") }).superRefine(checkDayRange);
const Percentiles = z.object({ p50: z.number().nullable(), p95: z.number().nullable() });
/** Outcomes of one group of jobs, the figures a rollout compares between models or deployments. */
export const AnalyticsRow = z.object({
  key: z.string(),
  /** Distinct jobs with usage in the range (embeddings requests count as jobs too). */
  jobs: z.number().int(),
  succeeded: z.number().int(),
  failed: z.number().int(),
  /** Jobs with feedback. */
  rated: z.number().int(),
  /** Share of rated jobs rated 4 or 5; null when none was rated. */
  acceptance: z.number().nullable(),
  /** Over attempts that succeeded, ms; null when none did. */
  latency_ms: Percentiles,
  ttft_ms: Percentiles,
  cost_usd: z.number(),
  cost_per_job_usd: z.number(),
});
export type AnalyticsRow = z.infer<typeof AnalyticsRow>;
export const AnalyticsReport = z.object({
  object: z.literal("list"),
  group_by: z.enum(ANALYTICS_GROUP_BY),
  from: z.string(),
  to: z.string(),
  data: z.array(AnalyticsRow),
});
export type AnalyticsReport = z.infer<typeof AnalyticsReport>;

// ---- Documents ----

export const DocumentStatus = z.enum(["pending", "indexing", "indexed", "failed"]);
export const DocumentAccepted = z.object({ document_id: DocumentId, object: z.literal("document"), collection: z.string(), status: DocumentStatus });
export type DocumentAccepted = z.infer<typeof DocumentAccepted>;
export const DocumentView = z.object({
  id: z.string(),
  object: z.literal("document"),
  collection: z.string(),
  title: z.string(),
  source_url: z.string().nullable(),
  metadata: z.record(z.string(), z.unknown()),
  status: DocumentStatus,
  error: z.string().nullable(),
  chunks: z.number().int(),
  created_at: z.string(),
  updated_at: z.string(),
  indexed_at: z.string().nullable(),
});
export type DocumentView = z.infer<typeof DocumentView>;
export const DocumentDeleted = z.object({ id: z.string(), object: z.literal("document"), deleted: z.literal(true) });
export type DocumentDeleted = z.infer<typeof DocumentDeleted>;
export const SearchResults = z.object({
  object: z.literal("list"),
  /** The query with PII replaced by placeholders. */
  query: z.string(),
  mode: z.enum(["hybrid", "fulltext", "vector"]),
  model: z.string(),
  data: z.array(RetrievedChunk.extend({ fulltext_rank: z.number().int().optional(), vector_rank: z.number().int().optional() })),
});
export type SearchResults = z.infer<typeof SearchResults>;

// ---- OpenAI dialects ----

/** OpenAI's `chat.completion`, as `POST /v1/chat/completions` answers without `stream`. */
export const ChatCompletion = z.object({
  id: z.string(),
  object: z.literal("chat.completion"),
  created: z.number().int(),
  model: z.string(),
  choices: z.array(
    z.object({
      index: z.number().int(),
      message: z.object({
        role: z.literal("assistant"),
        content: z.string().nullable(),
        refusal: z.null(),
        annotations: z.array(z.unknown()),
        tool_calls: z.array(ToolCall).optional(),
      }),
      logprobs: z.object({ content: z.array(OutputLogprob), refusal: z.null() }).nullable(),
      finish_reason: z.string(),
    }),
  ),
  usage: z.object({ prompt_tokens: z.number().int(), completion_tokens: z.number().int(), total_tokens: z.number().int() }),
  system_fingerprint: z.null(),
  service_tier: z.string(),
});
export type ChatCompletion = z.infer<typeof ChatCompletion>;

/** OpenAI's Response object. Loose: it echoes the request's settings, as OpenAI's does. */
export const ResponseObject = z.looseObject({
  id: z.string(),
  object: z.literal("response"),
  created_at: z.number().int(),
  status: ResponseStatus,
  background: z.boolean(),
  model: z.string(),
  output: z.array(z.unknown()),
  error: z.unknown(),
  usage: z.unknown(),
  metadata: z.unknown(),
});
export type ResponseObject = z.infer<typeof ResponseObject>;
export const ResponseDeleted = z.object({ id: z.string(), object: z.literal("response"), deleted: z.literal(true) });
export type ResponseDeleted = z.infer<typeof ResponseDeleted>;
export const ResponseInputItems = z.object({
  object: z.literal("list"),
  data: z.array(ResponseItem),
  first_id: z.string().nullable(),
  last_id: z.string().nullable(),
  has_more: z.boolean(),
});
export type ResponseInputItems = z.infer<typeof ResponseInputItems>;
