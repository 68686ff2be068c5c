import { isTerminalStatus, type JobEvent, type JobView, type RouteJobPayload } from "@switchyard/contracts";
import { isProviderError, jobNeeds, unsupportedJobFields } from "@switchyard/providers";
import type { AttemptStart, BeginRunResult } from "@switchyard/queue";
import { decideRoute, isRoutingError, type BreakerPermit, type RouteDecision } from "@switchyard/routing";
import { trace } from "@opentelemetry/api";
import type { Job } from "bullmq";
import { callModel, type CallResult } from "./call-model";
import { billUsage, deadRunUsage, finishJob, handOnParked, usageEventFor, type FinishContext, type Spend } from "./finish-job";
import { endInQueue, isJobFailed } from "./job-failed";
import { JobOutput } from "./job-output";
import { breakersOpen, mayWait, park, WaitCause } from "./park-job";
import { ragContextFor, withReferenceMaterial } from "./rag-context";
import { rerunBudget, rerunRefusalMessage } from "./rerun-budget";
import type { RouteDeps } from "./route-deps";

/**
 * Run one attempt of a route job: decide the route, walk the fallback chain past open breakers
 * and failing models, stream the answer into the job's event stream, end the job with exactly one
 * terminal event and hand a usage event to the aggregator. Throws to ask BullMQ for a retry (an
 * unexpected error), for a delay (the job parks to wait for its upstream, announced by a `waiting`
 * status), or, once a job has ended failed or incomplete, to fail its queue job (`JobFailed`).
 */
export async function processRouteJob(d: RouteDeps, payload: RouteJobPayload, job: Job, token: string | undefined): Promise<string> {
  const jobId = payload.job_id;
  const models = d.catalog.models.map((m) => m.id);
  // One round trip (pipelined on one connection): the start of the attempt, which brings the job's
  // view, and the breakers' states. One step: a due `restart` is written with the start, so no
  // crash leaves old deltas on screen.
  const [started, statesAtStart] = await Promise.all([d.jobStore.startAttempt(jobId), d.breakers.states(models)]);
  if (!started) {
    d.logger.warn({ jobId }, "job state is gone (expired or discarded); dropping");
    return "missing";
  }
  d.fault("attempt.started");
  const ended = isTerminalStatus(started.status);
  // A job with `rag` runs after its retrieval child: its chunks become delimited reference material.
  const rag = payload.request.rag && !ended ? await ragContextFor(job, d.logger) : null;
  if (rag) payload = { ...payload, request: { ...payload.request, messages: withReferenceMaterial(payload.request.messages, rag) } };
  // Until a run begins, this delivery's ledger attempt is the number the next run would take.
  const ctx = firstContext(d, payload, started, rag);

  // First account for what earlier deliveries left: a usage event parked by one that died before
  // handing it on, and a run that died after its answer began (the provider charged for it).
  if (started.pendingUsage) await handOnParked(d, payload, started.pendingUsage, ended);
  const dead = started.unbilled && started.unbilled.chars > 0 ? started.unbilled : null;
  if (dead && started.view) await billUsage(ctx, deadRunUsage(ctx, started.view, dead), ended);
  if (ended) {
    // A cancel that died before releasing the hold is finished here (a no-op when already released).
    await d.budgets.release(jobId);
    // A delivery of an ended job (retry-failed, a late duplicate) leaves its queue job as the job ended.
    return endInQueue(started.status, started.view?.error);
  }
  const live = started.view;
  if (!live) return "missing";
  // A bounded wait: a job that has not begun a run by its `max_queue_ms` (parked waits included) ends here.
  const queuedFor = Date.now() - Date.parse(payload.created_at);
  const maxQueueMs = payload.request.max_queue_ms;
  if (maxQueueMs !== undefined && started.runs === 0 && queuedFor > maxQueueMs) return queueTimeout(ctx, live, queuedFor, maxQueueMs);
  if (started.runs === 0 && started.waits === 0) d.fairMetrics?.queueWait(payload, queuedFor);
  // A re-run: what earlier runs spent was drawn from the job's one reservation. Reserve it again
  // within the budget before any provider is called, or end the job: spend never passes the limit.
  if (started.runs > 0) {
    const refused = await rerunBudget(d, payload);
    if (refused)
      return finishJob(
        ctx,
        live,
        { status: "failed", error: { code: refused.code, message: rerunRefusalMessage(refused), reason: "budget_exhausted" } },
        [],
        null,
      );
  }
  const canWait = () => mayWait(d, live, token);
  // Breaker states read before billing a dead delivery or retrieval are stale by then: read them again.
  const states = started.pendingUsage || dead || rag ? await d.breakers.states(models) : statesAtStart;

  let decision: RouteDecision;
  try {
    decision = decideRoute({
      requestedModel: payload.request.model,
      messages: payload.request.messages,
      catalog: d.catalog,
      // Tools, structured output and the other agent fields: only models that can honour them, fallbacks included.
      needs: jobNeeds(payload.request),
      unsupportedFields: (m) => unsupportedJobFields(payload.request, m, d.providers.forModel(m).simulated),
      deployment: {
        smartRouting: payload.routing.smart_routing,
        visionEnabled: payload.routing.vision_enabled,
        modelPreference: payload.routing.model_preference,
        allowedModels: payload.routing.allowed_models,
      },
      budgetUsedRatio: payload.routing.budget_used_ratio,
      breakerStates: Object.fromEntries(Object.entries(states).map(([k, v]) => [k, v.state])),
      maxTokens: payload.request.max_tokens,
    });
  } catch (err) {
    if (!isRoutingError(err)) throw err;
    if (err.retryable && canWait()) await park(d, job, token, ctx, false, breakersOpen(states), live.created_at);
    return finishJob(ctx, live, { status: "failed", error: { code: err.code, message: err.message, reason: "provider_error" } }, [], null);
  }
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
    ...live,
    attempts: { ...ctx.counts },
    status: "running",
    started_at: live.started_at ?? new Date().toISOString(),
    routing: {
      decision: {
        requested_model: payload.request.model,
        chosen_model: decision.chosen.id,
        candidates: decision.chain.map((m) => m.id),
        reasons: decision.reasons,
        tier: decision.tier,
        domain: decision.classification.domain,
        complexity: decision.classification.complexity,
      },
      fallbacks: [],
    },
  };
  const out = new JobOutput(d.jobStore, jobId, d.fault);
  const spend: Spend[] = [];
  const ac = d.cancels.register(jobId);
  const cause = new WaitCause();
  let last: { result: CallResult; model: string } | null = null;
  try {
    for (const [i, entry] of decision.chain.entries()) {
      if (last) {
        const kind = i === 0 ? "error" : (decision.fallbacks[i - 1]?.kind ?? "error");
        const why = last.result.ok ? "" : last.result.canceled ? "canceled" : last.result.error.message;
        view.routing.fallbacks.push({ from: last.model, to: entry.id, kind, reason: why.slice(0, 200) });
        d.metrics.fallback.add(1, { kind });
        await out.restart("fallback");
        d.fault("fallback.restart");
      }
      // The first choice's breaker was just read closed: acquiring it would only read it again (a
      // closed breaker hands out no probe and records nothing), so that round trip is skipped.
      const permit = i === 0 && states[entry.id]?.state === "closed" ? CLOSED : await d.breakers.acquire(entry.id);
      if (!permit.allowed) {
        cause.refused(entry.id, permit);
        last = { model: entry.id, result: { ok: false, canceled: false, error: new Error(`circuit breaker ${permit.state}`), partialText: "" } };
        continue;
      }
      const { provider } = d.providers.forModel(entry);
      const t0 = Date.now();
      out.beginCall();
      const runningEvent = (run: number, waits: number): JobEvent => ({
        type: "status",
        data: { status: "running", attempt: run, waits, served_model: entry.id },
      });
      const callNow = () => callModel(provider, entry, payload, out, ac.signal, { onStall: () => d.metrics.stalls.add(1) });
      let call: Promise<CallResult>;
      let running: Promise<string | null>;
      if (ctx.run === null && started.paid < d.maxStartedAttempts) {
        // This delivery runs. In one round trip: BEGIN_RUN counts the run and opens its tally, the
        // `running` status of the run it is expected to open follows it on the connection (written
        // only if that run is the one it opened), and the provider is called at once. Whatever the
        // call answers is held until both writes are confirmed, so no output precedes them.
        const expected = { runs: ctx.counts.runs + 1, waits: ctx.counts.waits };
        const begin = d.jobStore.beginRun(jobId, entry.id, d.maxStartedAttempts);
        const predicted = d.jobStore.transition({ ...view, served_model: entry.id, attempts: expected }, runningEvent(expected.runs, expected.waits), {
          run: expected.runs,
        });
        let release!: (open: boolean) => void;
        out.holdUntil(new Promise<boolean>((r) => (release = r)));
        call = callNow();
        call.catch(() => undefined);
        predicted.catch(() => undefined);
        let begun: BeginRunResult;
        try {
          begun = await begin;
        } catch (err) {
          release(false);
          ac.abort(err);
          await call.catch(() => undefined);
          throw err;
        }
        if (begun.kind !== "ok") {
          // Refused (the job ended, or a concurrent delivery used up the paid runs): the call just
          // started is aborted before any of its output can be written.
          release(false);
          ac.abort(new Error(begun.kind === "ended" ? "job ended" : "max attempts"));
          await call.catch(() => undefined);
          await predicted.catch(() => undefined);
          if (begun.kind === "ended") return begun.status ? endInQueue(begun.status, null) : "ended";
          const message = `job was already answered in part ${begun.paid} times without finishing`;
          return await finishJob(ctx, view, { status: "failed", error: { code: "max_attempts", message, reason: "max_attempts" } }, spend, null);
        }
        ctx.run = ctx.attempt = begun.run;
        ctx.counts = { runs: begun.run, waits: begun.waits };
        view.attempts = { ...ctx.counts };
        view.served_model = entry.id;
        d.fault("run.begun");
        // A delivery racing this one (BullMQ's lock lapsed) can make BEGIN_RUN open another run than
        // expected: then the `running` sent with it was refused, and is written for the run opened.
        const raced = begun.run !== expected.runs || begun.waits !== expected.waits;
        running = predicted.then((id) => (id !== null || !raced ? id : d.jobStore.transition(view, runningEvent(begun.run, begun.waits), { run: begun.run })));
        const written = await runningWritten(running, call, ac).catch((err: unknown) => {
          release(false);
          throw err;
        });
        release(written);
        if (!written) return "ended";
      } else {
        if (ctx.run === null) {
          // Paid runs had reached the bound when the attempt started: BEGIN_RUN will most likely
          // refuse, so it is asked first and nothing is called unless it agrees.
          const begun = await d.jobStore.beginRun(jobId, entry.id, d.maxStartedAttempts);
          if (begun.kind === "ended") return begun.status ? endInQueue(begun.status, null) : "ended";
          if (begun.kind === "max") {
            const message = `job was already answered in part ${begun.paid} times without finishing`;
            return await finishJob(ctx, view, { status: "failed", error: { code: "max_attempts", message, reason: "max_attempts" } }, spend, null);
          }
          ctx.run = ctx.attempt = begun.run;
          ctx.counts = { runs: begun.run, waits: begun.waits };
          view.attempts = { ...ctx.counts };
          d.fault("run.begun");
        }
        view.served_model = entry.id;
        // The run is counted, so the provider is called now and the `running` status is written
        // while its answer is on the way. It still precedes every delta in the job's stream:
        // deltas are appended on the same connection, after it.
        call = callNow();
        running = d.jobStore.transition(view, runningEvent(ctx.run, ctx.counts.waits));
        if (!(await runningWritten(running, call, ac))) return "ended";
      }
      d.fault("run.running");
      const result = await call;
      const ms = Date.now() - t0;
      if (result.ok) {
        await d.breakers.record(entry.id, "success", { probe: permit.probe });
        spend.push({ entry, usage: result.usage, text: out.billableText, latencyMs: ms, ttftMs: out.firstDeltaOfCallAt ? out.firstDeltaOfCallAt - t0 : null });
        return await finishJob(
          ctx,
          view,
          { status: "succeeded", text: out.text, finishReason: result.finishReason, toolCalls: result.toolCalls, logprobs: out.logprobs },
          spend,
          entry,
        );
      }
      if (result.canceled) {
        spend.push({ entry, usage: null, text: out.billableText, latencyMs: ms, ttftMs: null });
        return await finishJob(ctx, { ...view, status: "canceled" }, { status: "canceled" }, spend, entry);
      }
      const e = result.error;
      let breakerNow: string | undefined;
      if (isProviderError(e) && e.countsForBreaker)
        breakerNow = (await d.breakers.record(entry.id, "failure", { retryAfterMs: e.retryAfterMs, probe: permit.probe })).state;
      else if (permit.probe) await d.breakers.record(entry.id, "success", { probe: true });
      cause.failed(entry.id, e, breakerNow);
      spend.push({ entry, usage: null, text: result.partialText, latencyMs: ms, ttftMs: null });
      last = { model: entry.id, result };
    }
  } finally {
    d.cancels.unregister(jobId, ac);
  }

  // Every model in the chain failed or was held back by its breaker: a wait, not a run.
  if (ctx.run === null) {
    if (canWait()) await park(d, job, token, ctx, false, cause.why(decision.chain.map((m) => m.id)), live.created_at);
    return finishJob(
      ctx,
      view,
      { status: "failed", error: { code: "no_model_available", message: "every usable model's circuit breaker stayed open", reason: "provider_error" } },
      spend,
      null,
    );
  }
  const lastErr = last && !last.result.ok && !last.result.canceled ? last.result.error : new Error("no model answered");
  // Only a run whose answer had begun is a paid execution (counted by its first delta); refusals
  // and dead connections cost nothing.
  const paid = await d.jobStore.paidAttempts(jobId);
  const retryable = !isProviderError(lastErr) || lastErr.retryable;
  if (retryable && paid < d.maxStartedAttempts && canWait()) {
    // Try again later (announced by a restart if output had begun), without using BullMQ attempts:
    // while the upstream is down the breakers open and the job waits for them.
    await billSpendOnly(ctx, view, spend);
    await park(d, job, token, ctx, true, cause.why(decision.chain.map((m) => m.id)), live.created_at);
  }
  // Output reached clients at some point: end with the reason, never a silent truncation.
  if (out.everBegan) {
    const reason =
      isProviderError(lastErr) && lastErr.kind === "malformed"
        ? "malformed"
        : isProviderError(lastErr) && lastErr.kind === "timeout"
          ? "stalled"
          : "upstream_cut";
    return finishJob(
      ctx,
      view,
      { status: "incomplete", text: out.text, error: { code: "upstream_interrupted", message: lastErr.message, reason } },
      spend,
      null,
    );
  }
  return finishJob(ctx, view, { status: "failed", error: { code: "provider_error", message: lastErr.message, reason: "provider_error" } }, spend, null);
}

/** End a job not begun within its `max_queue_ms`: failed, `queue_timeout`, its reservation released, one terminal event. */
/** A delivery's context before any run begins: its ledger attempt is the number the next run would take. */
function firstContext(d: RouteDeps, payload: RouteJobPayload, started: AttemptStart, rag: FinishContext["rag"]): FinishContext {
  return { d, payload, attempt: started.runs + 1, run: null, counts: { runs: started.runs, waits: started.waits }, startedAt: Date.now(), rag };
}

function queueTimeout(ctx: FinishContext, live: JobView, queuedFor: number, maxQueueMs: number): Promise<string> {
  const message = `the job waited ${queuedFor} ms to start, past its max_queue_ms of ${maxQueueMs}`;
  return finishJob(ctx, live, { status: "failed", error: { code: "queue_timeout", message, reason: "queue_timeout" } }, [], null);
}

/**
 * The fair dispatcher's end of a job still waiting in a fair list past its `max_queue_ms`, though
 * no worker has taken it: the same terminal path as a worker's check at pickup.
 */
export async function endQueueTimeout(d: RouteDeps, payload: RouteJobPayload): Promise<void> {
  const started = await d.jobStore.startAttempt(payload.job_id);
  if (!started) return;
  if (isTerminalStatus(started.status) || !started.view) {
    await d.budgets.release(payload.job_id);
    return;
  }
  const ctx = firstContext(d, payload, started, null);
  const queuedFor = Date.now() - Date.parse(payload.created_at);
  try {
    await queueTimeout(ctx, started.view, queuedFor, payload.request.max_queue_ms ?? 0);
  } catch (err) {
    // The job ended failed, as intended: no queue job to fail here.
    if (!isJobFailed(err)) throw err;
  }
}

/** The permit `acquire` gives for a closed breaker. */
const CLOSED: BreakerPermit = { allowed: true, state: "closed", probe: false };

/**
 * Wait for the `running` write that went out with the provider call. When the job had already
 * ended (a cancel) or the write failed, the call just started is aborted and waited for.
 */
async function runningWritten(running: Promise<string | null>, call: Promise<CallResult>, ac: AbortController): Promise<boolean> {
  // The call's outcome is awaited later; until then a rejection must not count as unhandled.
  call.catch(() => undefined);
  let written: string | null;
  try {
    written = await running;
  } catch (err) {
    ac.abort(err);
    await call.catch(() => undefined);
    throw err;
  }
  if (written) return true;
  ac.abort(new Error("job ended"));
  await call.catch(() => undefined);
  return false;
}

/** A failed run that will be retried may still have spent tokens: account for them now. */
async function billSpendOnly(ctx: FinishContext, view: JobView, spend: Spend[]): Promise<void> {
  if (!spend.some((s) => s.text !== "" || s.usage)) return;
  await billUsage(ctx, usageEventFor(ctx, view, "failed", spend, null), false);
}
