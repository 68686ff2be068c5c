import { isTerminalStatus, type JobView, type ModelCatalog, type RouteJobPayload } from "@switchyard/contracts";
import { isProviderError, type ProviderRegistry } from "@switchyard/providers";
import type { JobStore, QueueSet } from "@switchyard/queue";
import type { AlertFirer, BudgetLedger, BudgetUsedRatios } from "@switchyard/admission";
import { decideRoute, isRoutingError, type CircuitBreakers, type ProcessMetrics, type RouteDecision } from "@switchyard/routing";
import type { Logger } from "@switchyard/telemetry";
import { trace } from "@opentelemetry/api";
import { DelayedError, type Job } from "bullmq";
import type { CancelRegistry } from "./cancel-listener";
import { callModel, type CallResult } from "./call-model";
import { finishJob, handOnUsage, settle, usageEventFor, type FinishContext, type Spend } from "./finish-job";
import { JobOutput } from "./job-output";
import { ragContextFor, withReferenceMaterial } from "./rag-context";

export interface RouteDeps {
  jobStore: JobStore;
  queues: QueueSet;
  catalog: ModelCatalog;
  providers: ProviderRegistry;
  breakers: CircuitBreakers;
  budgets: BudgetLedger;
  /** Alerts: budget thresholds crossed when spend is settled. */
  alerts: AlertFirer;
  cancels: CancelRegistry;
  metrics: ProcessMetrics;
  /** Each deployment's budget use as settlement last read it (the `budget_used_ratio` gauge). */
  budgetRatios: BudgetUsedRatios;
  logger: Logger;
  /** Upper bound on attempts of one job that reach a provider (paid re-executions). */
  maxStartedAttempts: number;
  /** How long a job may wait for an unavailable upstream (open breakers, 429/5xx, dead connections) before it fails. */
  maxUpstreamWaitMs: number;
}

/**
 * Run one attempt of a route job: decide the route, walk the fallback chain past open breakers
 * and failing models, stream the answer into the job's event stream, end the job with exactly one
 * terminal event and hand a usage event to the aggregator. Throws only to ask BullMQ for a retry
 * (retryable failure before any output) or a delay (every usable model's breaker open).
 */
export async function processRouteJob(d: RouteDeps, payload: RouteJobPayload, job: Job, token: string | undefined): Promise<string> {
  const jobId = payload.job_id;
  const started = await d.jobStore.startAttempt(jobId);
  if (!started) {
    d.logger.warn({ jobId }, "job state is gone (expired or discarded); dropping");
    return "missing";
  }
  if (started.pendingUsage) await handOnUsage(d, jobId, started.pendingUsage);
  if (isTerminalStatus(started.status)) return started.status;
  const live = await d.jobStore.get(jobId);
  if (!live) return "missing";
  const attempt = started.attempt;
  // A job with `rag` runs after its retrieval child: its chunks become delimited reference material.
  const rag = payload.request.rag ? await ragContextFor(job, d.logger) : null;
  if (rag) payload = { ...payload, request: { ...payload.request, messages: withReferenceMaterial(payload.request.messages, rag) } };
  const ctx: FinishContext = { d, payload, attempt, startedAt: Date.now(), rag };

  let decision: RouteDecision;
  try {
    const states = await d.breakers.states(d.catalog.models.map((m) => m.id));
    decision = decideRoute({
      requestedModel: payload.request.model,
      messages: payload.request.messages,
      catalog: d.catalog,
      deployment: { smartRouting: payload.routing.smart_routing, visionEnabled: payload.routing.vision_enabled, modelPreference: payload.routing.model_preference, allowedModels: payload.routing.allowed_models },
      budgetUsedRatio: payload.routing.budget_used_ratio,
      breakerStates: Object.fromEntries(Object.entries(states).map(([k, v]) => [k, v.state])),
      maxTokens: payload.request.max_tokens,
    });
  } catch (err) {
    if (!isRoutingError(err)) throw err;
    if (err.retryable) await park(d, job, token, live.view, attempt);
    return finishJob(ctx, live.view, { status: "failed", error: { code: err.code, message: err.message, reason: "provider_error" } }, [], null);
  }
  if (started.earlierDeltas > 0) await d.jobStore.append(jobId, { type: "restart", data: { reason: "retry" } });
  if (rag) await d.jobStore.append(jobId, { type: "citations", data: { citations: rag.citations, no_sources: rag.result.no_sources } });
  d.metrics.modelSelected.add(1, { model: decision.chosen.id, reason: decision.reason });
  trace.getActiveSpan()?.setAttributes({
    "switchyard.routing.requested_model": payload.request.model,
    "switchyard.routing.chosen_model": decision.chosen.id,
    "switchyard.routing.reason": decision.reason,
    "switchyard.routing.reasons": decision.reasons,
    "switchyard.routing.candidates": decision.chain.map((m) => m.id),
    "switchyard.routing.tier": decision.tier,
  });

  const view: JobView = {
    ...live.view,
    status: "running",
    started_at: live.view.started_at ?? new Date().toISOString(),
    routing: {
      decision: { requested_model: payload.request.model, chosen_model: decision.chosen.id, candidates: decision.chain.map((m) => m.id), reasons: decision.reasons, tier: decision.tier, domain: decision.classification.domain, complexity: decision.classification.complexity },
      fallbacks: [],
    },
  };
  const out = new JobOutput(d.jobStore, jobId);
  const spend: Spend[] = [];
  const ac = d.cancels.register(jobId);
  let calledProvider = false;
  let paidBefore = 0;
  let last: { result: CallResult; model: string } | null = null;
  try {
    for (const [i, entry] of decision.chain.entries()) {
      if (last) {
        const kind = i === 0 ? "error" : (decision.fallbacks[i - 1]?.kind ?? "error");
        const why = last.result.ok ? "" : last.result.canceled ? "canceled" : last.result.error.message;
        view.routing.fallbacks.push({ from: last.model, to: entry.id, kind, reason: why.slice(0, 200) });
        d.metrics.fallback.add(1, { kind });
        await out.restart("fallback");
      }
      const permit = await d.breakers.acquire(entry.id);
      if (!permit.allowed) {
        last = { model: entry.id, result: { ok: false, canceled: false, error: new Error(`circuit breaker ${permit.state}`), partialText: "" } };
        continue;
      }
      if (!calledProvider) {
        calledProvider = true;
        paidBefore = await d.jobStore.paidAttempts(jobId);
        if (paidBefore >= d.maxStartedAttempts) {
          const message = `job was already answered in part ${paidBefore} times without finishing`;
          return await finishJob(ctx, view, { status: "failed", error: { code: "max_attempts", message, reason: "max_attempts" } }, spend, null);
        }
      }
      view.served_model = entry.id;
      if (!(await d.jobStore.transition(view, { type: "status", data: { status: "running", attempt, served_model: entry.id } }))) return "ended";
      const { provider } = d.providers.forModel(entry);
      const t0 = Date.now();
      const result = await callModel(provider, entry, payload, out, ac.signal, { onStall: () => d.metrics.stalls.add(1) });
      const ms = Date.now() - t0;
      if (result.ok) {
        await d.breakers.record(entry.id, "success", { probe: permit.probe });
        spend.push({ entry, usage: result.usage, text: out.text, latencyMs: ms, ttftMs: out.firstDeltaAt ? out.firstDeltaAt - t0 : null });
        return await finishJob(ctx, view, { status: "succeeded", text: out.text, finishReason: result.finishReason }, spend, entry);
      }
      if (result.canceled) {
        spend.push({ entry, usage: null, text: out.text, latencyMs: ms, ttftMs: null });
        return await finishJob(ctx, { ...view, status: "canceled" }, { status: "canceled" }, spend, entry);
      }
      const e = result.error;
      if (isProviderError(e) && e.countsForBreaker) await d.breakers.record(entry.id, "failure", { retryAfterMs: e.retryAfterMs, probe: permit.probe });
      else if (permit.probe) await d.breakers.record(entry.id, "success", { probe: true });
      spend.push({ entry, usage: null, text: result.partialText, latencyMs: ms, ttftMs: null });
      last = { model: entry.id, result };
    }
  } finally {
    d.cancels.unregister(jobId, ac);
  }

  // Every model in the chain failed or was held back by its breaker.
  if (!calledProvider) {
    await park(d, job, token, view, attempt);
    return finishJob(ctx, view, { status: "failed", error: { code: "no_model_available", message: "every usable model's circuit breaker stayed open", reason: "provider_error" } }, spend, null);
  }
  const lastErr = last && !last.result.ok && !last.result.canceled ? last.result.error : new Error("no model answered");
  // Only a run whose answer had begun is a paid execution; refusals and dead connections cost nothing.
  const paid = out.everBegan ? await d.jobStore.countPaidAttempt(jobId) : paidBefore;
  const retryable = !isProviderError(lastErr) || lastErr.retryable;
  if (retryable && paid < d.maxStartedAttempts) {
    // Try again later (announced by a restart if output had begun), without using BullMQ attempts:
    // while the upstream is down the breakers open and the job waits for them.
    await handOnSpendOnly(ctx, view, spend);
    await park(d, job, token, view, attempt);
  }
  // Output reached clients at some point: end with the reason, never a silent truncation.
  if (out.everBegan) {
    const reason = isProviderError(lastErr) && lastErr.kind === "malformed" ? "malformed" : isProviderError(lastErr) && lastErr.kind === "timeout" ? "stalled" : "upstream_cut";
    return finishJob(ctx, view, { status: "incomplete", text: out.text, error: { code: "upstream_interrupted", message: lastErr.message, reason } }, spend, null);
  }
  return finishJob(ctx, view, { status: "failed", error: { code: "provider_error", message: lastErr.message, reason: "provider_error" } }, spend, null);
}

/**
 * Park the job and try again after a backoff (1 s doubling to 8 s, with jitter) without using a
 * BullMQ attempt. Returns only when the job has waited longer than `maxUpstreamWaitMs`: it must fail.
 */
async function park(d: RouteDeps, job: Job, token: string | undefined, view: JobView, attempt: number): Promise<void> {
  const age = Date.now() - Date.parse(view.created_at);
  if (age > d.maxUpstreamWaitMs || !token) return;
  const delay = Math.min(8000, 1000 * 2 ** Math.min(attempt - 1, 3)) * (0.75 + Math.random() * 0.5);
  await job.moveToDelayed(Date.now() + Math.round(delay), token);
  throw new DelayedError();
}

/** A failed attempt that will be retried may still have spent tokens: account for them now. */
async function handOnSpendOnly(ctx: FinishContext, view: JobView, spend: Spend[]): Promise<void> {
  if (!spend.some((s) => s.text !== "" || s.usage)) return;
  const ev = usageEventFor(ctx, view, "failed", spend, null);
  await settle(ctx, ev, false);
  await handOnUsage(ctx.d, ctx.payload.job_id, ev);
}
