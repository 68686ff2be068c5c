import {
  isTerminalStatus,
  priceUsage,
  TerminalReason,
  UsageEvent,
  type JobView,
  type ModelCatalog,
  type ModelEntry,
  type RouteJobPayload,
  type UsageProvenance,
} from "@switchyard/contracts";
import { estimateInputTokens, isProviderError, type ProviderRegistry, type TokenUsage } from "@switchyard/providers";
import type { JobStore, QueueSet } from "@switchyard/queue";
import type { Logger } from "@switchyard/telemetry";
import type { Job } from "bullmq";
import type { CancelRegistry } from "./cancel-listener";
import type { RouterMetrics } from "./router-metrics";

export interface RouteDeps {
  jobStore: JobStore;
  queues: QueueSet;
  catalog: ModelCatalog;
  providers: ProviderRegistry;
  cancels: CancelRegistry;
  metrics: RouterMetrics;
  logger: Logger;
  /** Upper bound on attempts that reach a provider (paid re-executions). */
  maxStartedAttempts: number;
}

interface Outcome {
  status: JobView["status"];
  text: string;
  finishReason: string | null;
  usage: TokenUsage | null;
  ttftMs: number | null;
  error?: { code: string; message: string; reason: TerminalReason };
}

/** The catalog entry for a request: `auto` is the catalog's default until smart routing lands. */
export function resolveModel(catalog: ModelCatalog, requested: string): { entry: ModelEntry; reason: string } {
  const id = requested === "auto" ? catalog.default_model : requested;
  const entry = catalog.models.find((m) => m.id === id);
  if (!entry) throw new Error(`model ${id} is not in the catalog`);
  return { entry, reason: requested === "auto" ? "default" : "explicit" };
}

const estimateTokens = (text: string) => Math.ceil(text.length / 4);

/**
 * Run one attempt of a route job: count the attempt, announce it, stream the provider's answer
 * into the job's event stream, end the job with exactly one terminal event, and hand a usage
 * event to the aggregator. Throws only to ask BullMQ for a retry (retryable failure, no output).
 */
export async function processRouteJob(d: RouteDeps, payload: RouteJobPayload, job: Job): Promise<string> {
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
  const { entry, reason } = resolveModel(d.catalog, payload.request.model);

  if (attempt > d.maxStartedAttempts) {
    const view: JobView = { ...live.view, status: "failed", completed_at: new Date().toISOString(), error: { code: "max_attempts", message: `job was started ${attempt - 1} times without finishing`, reason: "max_attempts" } };
    await d.jobStore.finish(view, { type: "error", data: { code: "max_attempts", message: view.error!.message, reason: "max_attempts" } });
    await handOnUsage(d, jobId, usageEvent(payload, entry, attempt, view, { status: "failed", text: "", finishReason: null, usage: null, ttftMs: null }, 0, view));
    return "failed";
  }
  if (started.earlierDeltas > 0) await d.jobStore.append(jobId, { type: "restart", data: { reason: "retry" } });

  d.metrics.modelSelected.add(1, { model: entry.id, reason });
  const running: JobView = {
    ...live.view,
    status: "running",
    served_model: entry.id,
    started_at: live.view.started_at ?? new Date().toISOString(),
    routing: { decision: { requested_model: payload.request.model, chosen_model: entry.id, candidates: [entry.id], reasons: [reason] }, fallbacks: [] },
  };
  if (!(await d.jobStore.transition(running, { type: "status", data: { status: "running", attempt, served_model: entry.id } }))) return "ended";

  const t0 = Date.now();
  const outcome = await callProvider(d, payload, entry, running);
  const latencyMs = Date.now() - t0;

  if (outcome.status === "failed" && outcome.error?.reason === "provider_error" && outcome.text === "" && outcome.retry) {
    const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1) || attempt >= d.maxStartedAttempts;
    if (!last) throw outcome.retry;
  }
  return finalize(d, payload, entry, running, attempt, outcome, latencyMs);
}

/** Stream the answer, writing each delta to the event stream before anyone can read it. */
async function callProvider(d: RouteDeps, payload: RouteJobPayload, entry: ModelEntry, running: JobView): Promise<Outcome & { retry?: Error }> {
  const { provider } = d.providers.forModel(entry);
  const ac = d.cancels.register(payload.job_id);
  const t0 = Date.now();
  const out: Outcome & { retry?: Error } = { status: "succeeded", text: "", finishReason: null, usage: null, ttftMs: null };
  try {
    const req = payload.request;
    for await (const chunk of provider.streamChat({ model: entry.upstream_model, messages: req.messages, maxTokens: req.max_tokens, temperature: req.temperature, user: req.user, signal: ac.signal })) {
      if (chunk.type === "delta") {
        if (out.ttftMs === null) out.ttftMs = Date.now() - t0;
        out.text += chunk.text;
        if (!(await d.jobStore.append(running.id, { type: "delta", data: { text: chunk.text } }))) {
          ac.abort(new Error("job ended"));
          return { ...out, status: "canceled" };
        }
      } else if (chunk.type === "usage") out.usage = chunk.usage;
      else out.finishReason = chunk.finishReason;
    }
    return out;
  } catch (err) {
    if (ac.signal.aborted) return { ...out, status: "canceled" };
    const message = (err as Error).message;
    if (isProviderError(err)) {
      if (out.text !== "") {
        const reason: TerminalReason = err.kind === "malformed" ? "malformed" : err.kind === "timeout" ? "stalled" : "upstream_cut";
        return { ...out, status: "incomplete", error: { code: "upstream_interrupted", message, reason } };
      }
      return { ...out, status: "failed", error: { code: "provider_error", message, reason: "provider_error" }, retry: err.retryable ? err : undefined };
    }
    d.logger.error({ err, jobId: payload.job_id }, "provider call failed unexpectedly");
    return { ...out, status: out.text ? "incomplete" : "failed", error: { code: "internal_error", message, reason: "internal" } };
  } finally {
    d.cancels.unregister(payload.job_id, ac);
  }
}

async function finalize(d: RouteDeps, payload: RouteJobPayload, entry: ModelEntry, running: JobView, attempt: number, o: Outcome, latencyMs: number): Promise<string> {
  const inputTokens = o.usage?.inputTokens ?? estimateInputTokens(payload.request.messages);
  const outputTokens = o.usage?.outputTokens ?? estimateTokens(o.text);
  const provenance: UsageProvenance = o.usage ? (o.status === "succeeded" ? "reported" : "partial") : "estimated";
  const cost = priceUsage(entry, { input_tokens: inputTokens, output_tokens: outputTokens, cached_tokens: o.usage?.cachedTokens });
  const usage = { input_tokens: inputTokens, output_tokens: outputTokens, cost_usd: cost, provenance };
  const labels = { model: entry.id };
  d.metrics.tokens.add(inputTokens, { ...labels, kind: "input" });
  d.metrics.tokens.add(outputTokens, { ...labels, kind: "output" });
  d.metrics.cost.add(cost, labels);
  if (o.ttftMs !== null) d.metrics.ttft.record(o.ttftMs / 1000, labels);
  d.metrics.duration.record(latencyMs / 1000, labels);

  if (o.status === "canceled") {
    // The gateway already ended the job; only the spend is left to account for.
    await handOnUsage(d, payload.job_id, usageEvent(payload, entry, attempt, running, o, latencyMs, null, usage));
    return "canceled";
  }
  const view: JobView = {
    ...running,
    status: o.status,
    completed_at: new Date().toISOString(),
    output: { text: o.text, citations: [], finish_reason: o.finishReason ?? (o.status === "succeeded" ? "stop" : null) },
    usage,
    error: o.error ? { code: o.error.code, message: o.error.message, reason: o.error.reason } : null,
  };
  await d.jobStore.append(payload.job_id, { type: "usage", data: usage });
  const ev = usageEvent(payload, entry, attempt, view, o, latencyMs, view, usage);
  const terminal = o.status === "succeeded" ? ({ type: "done", data: { job: view } } as const) : ({ type: "error", data: { code: o.error!.code, message: o.error!.message, reason: o.error!.reason } } as const);
  const fin = await d.jobStore.finish(view, terminal, ev);
  if (fin.kind === "finished") {
    d.metrics.finished.add(1, { status: view.status });
    await handOnUsage(d, payload.job_id, ev);
  } else {
    await handOnUsage(d, payload.job_id, { ...ev, job: null, status: fin.kind === "already_terminal" ? fin.status : ev.status });
  }
  return view.status;
}

function usageEvent(p: RouteJobPayload, entry: ModelEntry, attempt: number, view: JobView, o: Outcome, latencyMs: number, job: JobView | null, usage?: { input_tokens: number; output_tokens: number; cost_usd: number; provenance: UsageProvenance }): UsageEvent {
  return UsageEvent.parse({
    job_id: p.job_id,
    attempt,
    tenant_id: p.tenant_id,
    deployment_id: p.deployment_id,
    api_key_id: p.api_key_id,
    requested_model: p.request.model,
    served_model: entry.id,
    provider: entry.provider,
    status: o.status === "canceled" ? "canceled" : view.status,
    input_tokens: usage?.input_tokens ?? 0,
    output_tokens: usage?.output_tokens ?? 0,
    cached_tokens: o.usage?.cachedTokens ?? 0,
    cost_usd: usage?.cost_usd ?? 0,
    provenance: usage?.provenance ?? "estimated",
    ttft_ms: o.ttftMs,
    latency_ms: latencyMs,
    fallbacks: 0,
    features: p.request.rag ? ["rag"] : [],
    rag: null,
    occurred_at: new Date().toISOString(),
    job,
  });
}

/** Enqueue a usage event exactly once per (job, attempt): the BullMQ job id deduplicates re-sends. */
async function handOnUsage(d: RouteDeps, jobId: string, raw: unknown): Promise<void> {
  const ev = UsageEvent.parse(raw);
  await d.queues.enqueue("ai-usage", ev, { jobId: `u-${ev.job_id}-${ev.attempt}` });
  d.metrics.countEnqueue("ai-usage");
  await d.jobStore.usageHandedOn(jobId);
}
