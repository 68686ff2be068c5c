import { z } from "zod";
import { BreakerView, QueueCounts, QueueNameSchema } from "./admin-ops";

const perMin = z.number().nullable();

/**
 * `GET /admin/v1/overview`, what the `/dashboard` page polls: queue depth and throughput, errors,
 * breakers, today's spend against budgets, SSE connections. A section that failed or timed out is
 * null and named in `problems`; rates are null until a second call gives them a base.
 */
export const OpsOverview = z.object({
  object: z.literal("ops_overview"),
  generated_at: z.string(),
  window_seconds: z.number(),
  queues: z
    .array(
      z.object({
        queue: QueueNameSchema,
        paused: z.boolean(),
        counts: QueueCounts,
        added_total: z.number().int(),
        completed_per_min: z.number(),
        failed_per_min: z.number(),
        enqueued_per_min: perMin,
      }),
    )
    .nullable(),
  throughput: z
    .object({ enqueued_per_min: perMin, enqueued_over_seconds: z.number().nullable(), completed_per_min: perMin, failed_per_min: perMin })
    .nullable(),
  errors: z.object({ http_5xx_total: z.number().nullable(), http_5xx_per_min: perMin, failed_jobs: z.number().nullable(), failed_jobs_last_min: perMin }),
  breakers: z.array(BreakerView).nullable(),
  spend: z
    .object({
      day: z.string(),
      total_cost_usd: z.number(),
      top_deployments: z.array(
        z.object({
          deployment_id: z.string(),
          deployment_name: z.string(),
          tenant_id: z.string(),
          tenant_name: z.string(),
          cost_usd: z.number(),
          requests: z.number().int(),
          tokens: z.number().int(),
          budget: z
            .object({
              period: z.enum(["day", "month"]),
              limit_usd: z.number().optional(),
              limit_tokens: z.number().optional(),
              spent_usd: z.number(),
              spent_tokens: z.number(),
              reserved_usd: z.number(),
              used_ratio: z.number(),
            })
            .nullable(),
        }),
      ),
    })
    .nullable(),
  sse: z.object({ connections: z.number().nullable() }),
  /**
   * Who waits in the fair lists (fair scheduling, issue 18): the top 10 tenants by waiting jobs
   * (the rest summed as `other`), each with its oldest job's wait. Counted in ai-route's `waiting`
   * too. Null when Redis did not answer.
   */
  waiting_tenants: z.array(z.object({ tenant_id: z.string(), waiting: z.number().int(), oldest_wait_seconds: z.number().nullable() })).nullable(),
  scope: z.object({ http_and_sse: z.string(), queues: z.string() }),
  problems: z.array(z.string()),
});
export type OpsOverview = z.infer<typeof OpsOverview>;
