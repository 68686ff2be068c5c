import { z } from "zod";
import { JobStatus, JobView, UsageProvenance } from "./jobs";

/** What a router-worker reports for one (job, attempt); the aggregator writes it once. */
export const UsageEvent = z.object({
  job_id: z.string(),
  /**
   * The run this event accounts for (a delivery that called a provider), so (job, attempt) is
   * unique per run; a delivery that ends the job without calling one uses the next run number.
   */
  attempt: z.number().int().min(1),
  tenant_id: z.string(),
  deployment_id: z.string(),
  api_key_id: z.string().nullable(),
  /** The request's `user` (the deployment's end user), when it named one: per-end-user usage is grouped by it. */
  end_user: z.string().nullable().default(null),
  /**
   * The batch whose line this job ran (priced at the catalog's batch price); null or absent for
   * every other job (optional, so events built before it, e.g. embeddings' own, keep their type).
   */
  batch_id: z.string().nullable().optional(),
  requested_model: z.string(),
  served_model: z.string(),
  provider: z.string(),
  /** How the run ended: the job's final status, or `failed` (a run retried later), `incomplete` (a run whose worker died after its answer began, provenance `partial`). */
  status: JobStatus,
  input_tokens: z.number().int().nonnegative(),
  output_tokens: z.number().int().nonnegative(),
  cached_tokens: z.number().int().nonnegative().default(0),
  cost_usd: z.number().nonnegative(),
  provenance: UsageProvenance,
  ttft_ms: z.number().int().nonnegative().nullable(),
  latency_ms: z.number().int().nonnegative(),
  fallbacks: z.number().int().nonnegative().default(0),
  features: z.array(z.string()).default([]),
  rag: z.object({ hit: z.boolean(), citations: z.number().int().nonnegative() }).nullable().default(null),
  occurred_at: z.string(),
  /** Prepaid tenant to debit in the credit ledger (null for postpaid). */
  credits_tenant_id: z.string().nullable().default(null),
  /** The finished job, when this attempt made the terminal transition: the aggregator stores it in Postgres. */
  job: JobView.nullable().default(null),
});
export type UsageEvent = z.infer<typeof UsageEvent>;
