import { FALLBACK_KINDS, RAG_RESULTS, RateLimitReason, TERMINAL_STATUSES, TOKEN_KINDS } from "@switchyard/contracts";
import type { MetricsRegistry } from "./metrics";
import { HttpRequestRecorder } from "./http-request-recorder";
import { MetricNames } from "./metric-names";

/** The codes of a 402. */
export const BUDGET_REFUSAL_CODES = ["budget_exhausted", "insufficient_credits"] as const;
/** Why an authentication failed: no key, not a key, no such key or a wrong secret, revoked, expired, a publishable key from an origin its deployment refuses. */
export const AUTH_FAILURE_REASONS = ["missing", "invalid", "revoked", "expired", "origin"] as const;
export type AuthFailureReason = (typeof AUTH_FAILURE_REASONS)[number];

/**
 * The DESIGN.md instruments for HTTP, SSE, admission and jobs, created the same way in every
 * process so each `/metrics` carries the same names and labels. Counters whose label values form
 * a closed set start at zero for each value: a series exists before its first event, so a rate or
 * ratio alert sees that event. Histograms appear once something is recorded (where it is measured:
 * HTTP everywhere, TTFT and duration in the router-worker).
 */
export function createOpsMetrics(registry: MetricsRegistry, opts: { models: readonly string[]; budgetRatios?: () => Map<string, number> }) {
  const m = registry.meter;
  const metrics = {
    /** `http_requests_total` and `http_request_duration_seconds`. */
    http: new HttpRequestRecorder(m),
    sse: m.createUpDownCounter(MetricNames.sseConnections, { description: "Open SSE connections (gateway)" }),
    rateLimitRejections: m.createCounter(MetricNames.rateLimitRejections, { description: "Requests refused by a rate limit, by the limit" }),
    /** 429s by deployment (and its type): a series only for deployments that were refused. */
    rateLimitByDeployment: m.createCounter(MetricNames.rateLimitByDeployment, {
      description: "Requests refused with 429 by a rate limit, by deployment and deployment type",
    }),
    budgetRefusals: m.createCounter(MetricNames.budgetRefusals, { description: "Requests refused with 402, by code (budget_exhausted, insufficient_credits)" }),
    authFailures: m.createCounter(MetricNames.authFailures, { description: "Failed authentications (401), by reason" }),
    ttft: m.createHistogram(MetricNames.jobTtft, { description: "Time to first token", unit: "s" }),
    duration: m.createHistogram(MetricNames.jobDuration, { description: "Provider call duration, start to last chunk", unit: "s" }),
    tokens: m.createCounter(MetricNames.tokens, { description: "Tokens by served model and kind (input, output, cached)" }),
    cost: m.createCounter(MetricNames.cost, { description: "Cost in USD by served model" }),
    modelSelected: m.createCounter(MetricNames.modelSelected, { description: "Routing decisions by model and reason" }),
    fallback: m.createCounter(MetricNames.fallback, { description: "Moves along the fallback chain: downgrade, upshift, error" }),
    stalls: m.createCounter(MetricNames.streamStalls, { description: "Provider streams that went quiet past STREAM_STALL_MS" }),
    finished: m.createCounter(MetricNames.jobsFinished, { description: "Jobs ended, by status" }),
    ragRequests: m.createCounter(MetricNames.ragRequests, { description: "Retrievals by result: hit (sources found) or miss" }),
  };
  metrics.sse.add(0);
  metrics.stalls.add(0);
  for (const reason of RateLimitReason.options) metrics.rateLimitRejections.add(0, { reason });
  for (const code of BUDGET_REFUSAL_CODES) metrics.budgetRefusals.add(0, { code });
  for (const reason of AUTH_FAILURE_REASONS) metrics.authFailures.add(0, { reason });
  for (const kind of FALLBACK_KINDS) metrics.fallback.add(0, { kind });
  for (const status of TERMINAL_STATUSES) metrics.finished.add(0, { status });
  for (const result of RAG_RESULTS) metrics.ragRequests.add(0, { result });
  for (const model of opts.models) {
    metrics.cost.add(0, { model });
    for (const kind of TOKEN_KINDS) metrics.tokens.add(0, { model, kind });
  }
  // Reported by the processes that reserve and settle budgets (gateway, router-worker).
  const budgetRatios = opts.budgetRatios;
  if (budgetRatios) {
    m.createObservableGauge(MetricNames.budgetUsedRatio, { description: "Highest share of a deployment's budgets in use (current periods)" }).addCallback(
      (obs) => {
        for (const [deployment, ratio] of budgetRatios()) obs.observe(ratio, { deployment });
      },
    );
  }
  return metrics;
}
export type OpsMetrics = ReturnType<typeof createOpsMetrics>;

/**
 * Count and time one HTTP request under its route pattern (never a raw path with ids in it),
 * started at `startNs` (`process.hrtime.bigint()`).
 */
export function recordHttpRequest(metrics: Pick<OpsMetrics, "http">, labels: { method: string; route: string; status: number }, startNs: bigint): void {
  metrics.http.record(labels.method, labels.route, labels.status, Number(process.hrtime.bigint() - startNs) / 1e9);
}
