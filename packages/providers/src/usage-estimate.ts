import { priceUsage, UsageEvent, type CreateJobRequest, type ModelCatalog, type RouteJobPayload } from "@switchyard/contracts";
import { estimateInputTokens } from "./simulated";

/** Output tokens of text a provider produced but did not report: about four characters a token. */
export const estimateOutputTokens = (chars: number): number => Math.ceil(chars / 4);

/**
 * Input tokens of a job when the provider reported none: its messages, and the JSON of its tools
 * and output schema the provider was sent too (about four characters a token).
 */
export function estimateJobInputTokens(req: CreateJobRequest): number {
  const extra =
    (req.tools ? JSON.stringify(req.tools).length : 0) + (req.response_format?.type === "json_schema" ? JSON.stringify(req.response_format).length : 0);
  return estimateInputTokens(req.messages) + Math.ceil(extra / 4);
}

/** A run whose process died after its answer began, as the job's tally recorded it. */
export interface DeadRun {
  run: number;
  /** Characters of every delta and tool-call fragment the run streamed. */
  chars: number;
  /** The model that served it. */
  model: string;
}

/**
 * The ledger's record of a run whose process died after its answer began: the provider charged
 * for it, so it is billed from what it streamed (input estimated from the request, output from
 * the characters of its deltas and tool-call fragments), status `incomplete`, provenance
 * `partial`, under the run's own attempt number. Used by the next delivery of the job and by the
 * stuck-job sweeper, so a dead run is billed whichever of them gets to it.
 */
export function deadRunUsage(input: {
  payload: RouteJobPayload;
  run: DeadRun;
  catalog: ModelCatalog;
  /** The served model the job's view names, when the tally's model is not in the catalog. */
  servedModel?: string | null;
  rag?: { hit: boolean; citations: number } | null;
  at?: Date;
}): UsageEvent {
  const { payload, run } = input;
  const entry = input.catalog.models.find((m) => m.id === run.model);
  const inputTokens = estimateJobInputTokens(payload.request);
  const outputTokens = estimateOutputTokens(run.chars);
  const cost = entry ? priceUsage(entry, { input_tokens: inputTokens, output_tokens: outputTokens }, { batch: payload.batch !== undefined }) : 0;
  return UsageEvent.parse({
    job_id: payload.job_id,
    attempt: run.run,
    tenant_id: payload.tenant_id,
    deployment_id: payload.deployment_id,
    api_key_id: payload.api_key_id,
    batch_id: payload.batch?.batch_id ?? null,
    requested_model: payload.request.model,
    served_model: entry?.id ?? input.servedModel ?? payload.request.model,
    provider: entry?.provider ?? "none",
    status: "incomplete",
    input_tokens: inputTokens,
    output_tokens: outputTokens,
    cached_tokens: 0,
    cost_usd: Math.round(cost * 1e9) / 1e9,
    provenance: "partial",
    ttft_ms: null,
    latency_ms: 0,
    fallbacks: 0,
    features: payload.request.rag ? ["rag"] : [],
    rag: input.rag ?? null,
    occurred_at: (input.at ?? new Date()).toISOString(),
    credits_tenant_id: payload.budget.credits_tenant_id,
    job: null,
  });
}
