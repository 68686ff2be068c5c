import { z } from "zod";
import { CreateJobRequest, JobBatchMarker } from "./jobs";
import { UsageEvent } from "./usage";

/** W3C trace context carried inside job data so one trace spans gateway → queue → workers. */
export const TraceCarrier = z.record(z.string(), z.string()).default({});

/** What routing needs to know about the job's deployment, captured at admission. */
export const RoutingContext = z.object({
  smart_routing: z.boolean().default(true),
  vision_enabled: z.boolean().default(true),
  /** A catalog model id or a provider name to prefer within a tier. */
  model_preference: z.string().nullable().default(null),
  /** Catalog ids the deployment may use; null = all. */
  allowed_models: z.array(z.string()).nullable().default(null),
  /** Share of the deployment's budget in use at admission (0 when it has none). */
  budget_used_ratio: z.number().min(0).default(0),
});
export type RoutingContext = z.infer<typeof RoutingContext>;

/** A budget a job was reserved against: settled by the worker that ends the job. */
export const BudgetScopePayload = z.object({
  scope: z.enum(["tenant", "deployment"]),
  id: z.string(),
  budget: z.object({ period: z.enum(["day", "month"]), limit_usd: z.number().optional(), limit_tokens: z.number().optional() }),
  timezone: z.string(),
});
export type BudgetScopePayload = z.infer<typeof BudgetScopePayload>;

/** What admission reserved for a job. */
export const JobBudget = z.object({
  scopes: z.array(BudgetScopePayload).default([]),
  /** The prepaid tenant whose credits were held, if any. */
  credits_tenant_id: z.string().nullable().default(null),
  reserved_usd: z.number().default(0),
  reserved_tokens: z.number().default(0),
});
export type JobBudget = z.infer<typeof JobBudget>;

export const RouteJobPayload = z.object({
  job_id: z.string(),
  tenant_id: z.string(),
  deployment_id: z.string(),
  api_key_id: z.string().nullable(),
  request: CreateJobRequest,
  routing: RoutingContext.default({ smart_routing: true, vision_enabled: true, model_preference: null, allowed_models: null, budget_used_ratio: 0 }),
  budget: JobBudget.default({ scopes: [], credits_tenant_id: null, reserved_usd: 0, reserved_tokens: 0 }),
  created_at: z.string(),
  trace: TraceCarrier,
  /** Present on a batch line's job: priced at the batch price, its usage marked with the batch. */
  batch: JobBatchMarker.optional(),
  /**
   * What the fair scheduler and the queue metrics need of the deployment, as admission read it:
   * its type (`tenant_class` of `ai_queue_wait_seconds`) and whether it has a `max_concurrent_jobs`
   * (the worker then frees the job's slot when it ends).
   */
  queue: z.object({ tenant_class: z.enum(["public", "internal", "hybrid"]), capped: z.boolean().default(false) }).optional(),
});
export type RouteJobPayload = z.infer<typeof RouteJobPayload>;

/**
 * A multi-model comparison's parent: runs once its children (`ai-route` jobs, one per model) have
 * ended, and ends the parent job with every child's answer side by side. Carries no request: the
 * children hold it; this names them.
 */
export const CompareJobPayload = z.object({
  job_id: z.string(),
  tenant_id: z.string(),
  deployment_id: z.string(),
  api_key_id: z.string().nullable(),
  /** The children, in the order the request named the models. */
  children: z.array(z.object({ model: z.string(), job_id: z.string() })).min(1),
  created_at: z.string(),
  trace: TraceCarrier,
});
export type CompareJobPayload = z.infer<typeof CompareJobPayload>;

export const RagJobPayload = z.object({
  job_id: z.string(),
  tenant_id: z.string(),
  collection: z.string(),
  query: z.string(),
  top_k: z.number().int(),
  trace: TraceCarrier,
});
export type RagJobPayload = z.infer<typeof RagJobPayload>;

export const IndexJobPayload = z.object({ tenant_id: z.string(), collection: z.string(), document_id: z.string(), trace: TraceCarrier });
export type IndexJobPayload = z.infer<typeof IndexJobPayload>;

/** Build daily reports: for `date` (YYYY-MM-DD, UTC), or the previous UTC day when absent. */
export const ReportJobPayload = z.object({
  date: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/)
    .optional(),
  tenant_id: z.string().optional(),
});
export type ReportJobPayload = z.infer<typeof ReportJobPayload>;

/** A signed webhook delivery of one alert event. */
export const AlertJobPayload = z.object({ alert_id: z.string(), tenant_id: z.string(), kind: z.string(), body: z.record(z.string(), z.unknown()) });
export type AlertJobPayload = z.infer<typeof AlertJobPayload>;

/** Periodic housekeeping: stuck jobs, orphaned reservations, partitions, retention. */
export const HousekeepingJobPayload = z.object({ task: z.enum(["stuck_jobs", "partitions", "reservations"]) });
export type HousekeepingJobPayload = z.infer<typeof HousekeepingJobPayload>;

export interface RetryPolicy {
  /** BullMQ attempts (including the first). */
  attempts: number;
  /**
   * `jitter` (0–1): BullMQ draws each retry's delay from [delay × (1 − jitter), delay], so jobs that
   * failed together (one batch) do not all come back together.
   */
  backoff: { type: "exponential" | "fixed"; delay: number; jitter?: number };
}

/**
 * Every queue: its payload schema and retry policy. Typed `enqueue`/`defineProcessor` in
 * `@switchyard/queue` infer payloads from this, so nothing calls `queue.add(string, any)`.
 */
export const queueCatalog = {
  "ai-route": { schema: RouteJobPayload, retry: { attempts: 3, backoff: { type: "exponential", delay: 1000 } } },
  "ai-compare": { schema: CompareJobPayload, retry: { attempts: 5, backoff: { type: "exponential", delay: 1000 } } },
  "ai-rag": { schema: RagJobPayload, retry: { attempts: 3, backoff: { type: "exponential", delay: 500 } } },
  "ai-index": { schema: IndexJobPayload, retry: { attempts: 5, backoff: { type: "exponential", delay: 2000 } } },
  "ai-usage": { schema: UsageEvent, retry: { attempts: 20, backoff: { type: "exponential", delay: 1000, jitter: 0.5 } } },
  "ai-reports": { schema: ReportJobPayload, retry: { attempts: 5, backoff: { type: "exponential", delay: 5000 } } },
  "ai-alerts": { schema: AlertJobPayload, retry: { attempts: 10, backoff: { type: "exponential", delay: 2000 } } },
  "ai-housekeeping": { schema: HousekeepingJobPayload, retry: { attempts: 1, backoff: { type: "fixed", delay: 1000 } } },
} as const satisfies Record<string, { schema: z.ZodType; retry: RetryPolicy }>;

export type QueueName = keyof typeof queueCatalog;
/** What a consumer gets (defaults applied). */
export type QueuePayload<Q extends QueueName> = z.infer<(typeof queueCatalog)[Q]["schema"]>;
/** What a producer may pass (defaults still to apply). */
export type QueueInput<Q extends QueueName> = z.input<(typeof queueCatalog)[Q]["schema"]>;
export const QUEUE_NAMES = Object.keys(queueCatalog) as QueueName[];
