import { checkBudgetAlerts } from "@switchyard/admission";
import {
  priceUsage,
  UsageEvent,
  type JobView,
  type ModelEntry,
  type OutputLogprob,
  type RouteJobPayload,
  type TerminalReason,
  type ToolCall,
  type UsageProvenance,
} from "@switchyard/contracts";
import { deadRunUsage as deadRunUsageFor, estimateJobInputTokens, estimateOutputTokens, type TokenUsage } from "@switchyard/providers";
import type { UnbilledRun } from "@switchyard/queue";
import { endInQueue } from "./job-failed";
import type { RagContext } from "./rag-context";
import type { RouteDeps } from "./route-deps";

/** What one provider call cost: reported usage where the provider sent it, else the text it produced. */
export interface Spend {
  entry: ModelEntry;
  usage: TokenUsage | null;
  /** The output to bill when no usage was reported: text, and tool calls' names and arguments. */
  text: string;
  latencyMs: number;
  ttftMs: number | null;
}

export interface FinishContext {
  d: RouteDeps;
  payload: RouteJobPayload;
  /**
   * The ledger's attempt number for this delivery: its run number once a run began, else the
   * number the next run would take (a delivery that ends the job without calling a provider).
   */
  attempt: number;
  /** The run this delivery began (null while it has called no provider). */
  run: number | null;
  /** Runs and waits so far, for the job view. */
  counts: { runs: number; waits: number };
  startedAt: number;
  /** The retrieval result, for jobs with `rag`. */
  rag: RagContext | null;
}

export type Final =
  | { status: "succeeded"; text: string; finishReason: string; toolCalls?: ToolCall[]; logprobs?: OutputLogprob[] }
  | { status: "incomplete"; text: string; error: { code: string; message: string; reason: TerminalReason } }
  | { status: "failed"; error: { code: string; message: string; reason: TerminalReason } }
  | { status: "canceled" };

const estimateTokens = (text: string) => estimateOutputTokens(text.length);

/** Tokens and cost of every call in this attempt, each priced from its own catalog entry. */
function totals(payload: RouteJobPayload, spend: Spend[]) {
  let input = 0;
  let output = 0;
  let cached = 0;
  let cost = 0;
  let reported = 0;
  let charged = 0;
  for (const s of spend) {
    // A call refused before any output (429, 5xx) consumed nothing we can know of.
    const u = s.usage ?? (s.text ? { inputTokens: estimateJobInputTokens(payload.request), outputTokens: estimateTokens(s.text) } : null);
    if (!u) continue;
    charged++;
    if (s.usage) reported++;
    input += u.inputTokens;
    output += u.outputTokens;
    cached += u.cachedTokens ?? 0;
    // A batch line's job pays the catalog's batch price.
    cost += priceUsage(
      s.entry,
      { input_tokens: u.inputTokens, output_tokens: u.outputTokens, cached_tokens: u.cachedTokens },
      { batch: payload.batch !== undefined },
    );
  }
  return { input, output, cached, cost: Math.round(cost * 1e9) / 1e9, reported, charged };
}

/** The ledger's record of this attempt. */
export function usageEventFor(ctx: FinishContext, view: JobView, status: JobView["status"], spend: Spend[], job: JobView | null): UsageEvent {
  const t = totals(ctx.payload, spend);
  const provenance: UsageProvenance =
    t.charged === 0 || t.reported === 0 ? "estimated" : t.reported === t.charged && status === "succeeded" ? "reported" : "partial";
  const served = spend.at(-1)?.entry;
  return UsageEvent.parse({
    job_id: ctx.payload.job_id,
    attempt: ctx.attempt,
    tenant_id: ctx.payload.tenant_id,
    deployment_id: ctx.payload.deployment_id,
    api_key_id: ctx.payload.api_key_id,
    end_user: ctx.payload.request.user ?? null,
    batch_id: ctx.payload.batch?.batch_id ?? null,
    requested_model: ctx.payload.request.model,
    served_model: served?.id ?? view.served_model ?? ctx.payload.request.model,
    provider: served?.provider ?? "none",
    status,
    input_tokens: t.input,
    output_tokens: t.output,
    cached_tokens: t.cached,
    cost_usd: t.cost,
    provenance,
    ttft_ms: spend.at(-1)?.ttftMs ?? null,
    latency_ms: Date.now() - ctx.startedAt,
    fallbacks: view.routing.fallbacks.length,
    features: ctx.payload.request.rag ? ["rag"] : [],
    rag: ctx.rag ? { hit: !ctx.rag.result.no_sources, citations: ctx.rag.citations.length } : null,
    occurred_at: new Date().toISOString(),
    credits_tenant_id: ctx.payload.budget.credits_tenant_id,
    job,
  });
}

/** The ledger's record of a run whose process died after its answer began (see {@link deadRunUsageFor}). */
export function deadRunUsage(ctx: FinishContext, view: JobView, run: UnbilledRun): UsageEvent {
  return deadRunUsageFor({
    payload: ctx.payload,
    run,
    catalog: ctx.d.catalog,
    servedModel: view.served_model,
    rag: ctx.rag ? { hit: !ctx.rag.result.no_sources, citations: ctx.rag.citations.length } : null,
  });
}

/**
 * End the job: its final view, a `usage` event, the one terminal event (unless a cancel got there
 * first), metrics, and the usage event handed to the aggregator exactly once. Returns the status;
 * for a job that ended `failed` or `incomplete` it throws `JobFailed` instead, once all of that is
 * done, so that BullMQ records its queue job as failed.
 */
export async function finishJob(ctx: FinishContext, running: JobView, final: Final, spend: Spend[], served: ModelEntry | null): Promise<string> {
  const { d, payload } = ctx;
  const t = totals(payload, spend);
  for (const s of spend) {
    const labels = { model: s.entry.id };
    d.metrics.duration.record(s.latencyMs / 1000, labels);
    if (s.ttftMs !== null) d.metrics.ttft.record(s.ttftMs / 1000, labels);
  }
  const model = served?.id ?? spend.at(-1)?.entry.id ?? running.served_model ?? "none";
  d.metrics.tokens.add(t.input, { model, kind: "input" });
  d.metrics.tokens.add(t.output, { model, kind: "output" });
  if (t.cached) d.metrics.tokens.add(t.cached, { model, kind: "cached" });
  d.metrics.cost.add(t.cost, { model });

  if (final.status === "canceled") {
    // The gateway already ended the job; only the spend is left to account for.
    await billUsage(ctx, usageEventFor(ctx, running, "canceled", spend, null), true);
    return "canceled";
  }
  const provisional = usageEventFor(ctx, running, final.status, spend, null);
  const view: JobView = {
    ...running,
    status: final.status,
    served_model: served?.id ?? running.served_model,
    completed_at: new Date().toISOString(),
    output:
      final.status === "failed"
        ? null
        : {
            text: final.text,
            citations: ctx.rag?.citations ?? [],
            finish_reason: final.status === "succeeded" ? final.finishReason : null,
            ...(ctx.rag ? { no_sources: ctx.rag.result.no_sources } : {}),
            ...(final.status === "succeeded" && final.toolCalls?.length ? { tool_calls: final.toolCalls } : {}),
            ...(final.status === "succeeded" && final.logprobs?.length ? { logprobs: final.logprobs } : {}),
          },
    usage: {
      input_tokens: provisional.input_tokens,
      output_tokens: provisional.output_tokens,
      cost_usd: provisional.cost_usd,
      provenance: provisional.provenance,
    },
    error: final.status === "succeeded" ? null : final.error,
    attempts: { ...ctx.counts },
  };
  const usageEvent = final.status !== "failed" || t.charged > 0 ? ({ type: "usage", data: view.usage! } as const) : undefined;
  const ev = { ...provisional, job: view };
  const terminal =
    final.status === "succeeded"
      ? ({ type: "done", data: { job: view } } as const)
      : ({ type: "error", data: { code: final.error.code, message: final.error.message, reason: final.error.reason } } as const);
  // One step: the final view, the `usage` and terminal events, the usage event parked for hand-on
  // (closing the run's tally). Settlement and hand-on are replayed from the parked copy after a crash.
  const fin = await d.jobStore.finish(view, terminal, ev, usageEvent);
  d.fault("finish.written");
  if (fin.kind === "finished") {
    await settle(d, payload, ev, true);
    d.fault("usage.settled");
    d.metrics.finished.add(1, { status: view.status });
    // One line per job (jobId, tenantId and trace_id come from the log context and the span).
    d.logger.info(
      {
        status: view.status,
        model: payload.request.model,
        servedModel: view.served_model,
        attempt: ctx.attempt,
        waits: ctx.counts.waits,
        inputTokens: t.input,
        outputTokens: t.output,
        costUsd: t.cost,
        ttftMs: spend.at(-1)?.ttftMs ?? null,
        fallbacks: view.routing.fallbacks.length,
        ...(view.error ? { errorCode: view.error.code } : {}),
      },
      "job finished",
    );
    await handOnUsage(d, payload.job_id, ev);
    // Written and accounted for: a failed job now fails its BullMQ job too (no retry).
    return endInQueue(view.status, view.error);
  }
  // The job ended under us (a cancel, the stuck-job sweeper): this run's spend is still ours to account for.
  await billUsage(ctx, { ...ev, job: null, status: fin.kind === "already_terminal" ? fin.status : ev.status }, true);
  return fin.kind === "already_terminal" ? endInQueue(fin.status, null) : view.status;
}

/**
 * Account for one usage event, so that a crash at any step is finished by the next delivery:
 * park it in the job hash (closing the tally of the run it covers), settle it in the budgets (once
 * per (job, attempt)), enqueue it (once per (job, attempt)), then forget the parked copy. An older
 * event still parked is handed on first.
 */
export async function billUsage(ctx: FinishContext, ev: UsageEvent, final: boolean): Promise<void> {
  const { d, payload } = ctx;
  for (let tries = 0; tries < 3; tries++) {
    const parked = await d.jobStore.parkUsage(payload.job_id, ev, ev.attempt);
    if (parked.kind !== "busy") break;
    await handOnParked(d, payload, parked.parked, false);
  }
  d.fault("usage.parked");
  await settle(d, payload, ev, final);
  d.fault("usage.settled");
  await handOnUsage(d, payload.job_id, ev);
}

/** Finish what a dead delivery left parked: settle it (a no-op if it was) and enqueue it. */
export async function handOnParked(d: RouteDeps, payload: RouteJobPayload, raw: unknown, final: boolean): Promise<void> {
  const ev = UsageEvent.parse(raw);
  await settle(d, payload, ev, final);
  d.fault("usage.settled");
  await handOnUsage(d, payload.job_id, ev);
}

/**
 * Charge this attempt's spend to the job's budgets (once per attempt) and, when the job is over,
 * free what admission held. Runs before the usage event is handed on, as the ledger asks.
 */
export async function settle(d: RouteDeps, payload: RouteJobPayload, ev: UsageEvent, final: boolean): Promise<void> {
  const ctx = { d, payload };
  const b = ctx.payload.budget;
  if (b.scopes.length === 0 && !b.credits_tenant_id) return;
  const settled = await ctx.d.budgets.settle(
    ctx.payload.job_id,
    ev.attempt,
    { usd: ev.cost_usd, tokens: ev.input_tokens + ev.output_tokens },
    { final, scopes: b.scopes, creditsTenantId: b.credits_tenant_id ?? undefined },
  );
  // Alerts: thresholds the settled spend has reached; an alert problem never fails the job.
  if (settled.applied && settled.scopesCharged > 0) {
    const extra = { deployment_id: ctx.payload.deployment_id, job_id: ctx.payload.job_id, trigger: "settle" };
    await ctx.d.budgets
      .usage(b.scopes)
      .then((usage) => {
        ctx.d.budgetRatios.note(ctx.payload.deployment_id, usage);
        return checkBudgetAlerts(ctx.d.alerts, usage, ctx.payload.tenant_id, { extra });
      })
      .catch((err: Error) => ctx.d.logger.warn({ err: err.message, jobId: ctx.payload.job_id }, "budget alert not raised after settle"));
  }
}

/** Enqueue a usage event once per (job, attempt): the BullMQ job id deduplicates re-sends. */
export async function handOnUsage(d: RouteDeps, jobId: string, raw: unknown): Promise<void> {
  const ev = UsageEvent.parse(raw);
  await d.queues.enqueue("ai-usage", ev, { jobId: `u-${ev.job_id}-${ev.attempt}` });
  d.metrics.countEnqueue("ai-usage");
  d.fault("usage.enqueued");
  await d.jobStore.usageHandedOn(jobId, ev.attempt);
}
