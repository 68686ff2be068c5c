import { MetricNames, type MetricsRegistry } from "@switchyard/telemetry";
import { registerQueueMetrics, type QueueSet } from "@switchyard/queue";
import { registerBreakerGauge, type CircuitBreakers } from "@switchyard/routing";

/** The router-worker's instruments (DESIGN.md "Observability"). */
export function createRouterMetrics(registry: MetricsRegistry, queues: QueueSet, breakers: CircuitBreakers, models: string[]) {
  const m = registry.meter;
  registerBreakerGauge(registry, breakers, models);
  return {
    ...registerQueueMetrics(m, queues),
    ttft: m.createHistogram(MetricNames.jobTtft, { description: "Time to first token", unit: "s" }),
    duration: m.createHistogram(MetricNames.jobDuration, { description: "Provider call duration, start to last chunk", unit: "s" }),
    tokens: m.createCounter(MetricNames.tokens, { description: "Tokens by model and kind (input, output, cached)" }),
    cost: m.createCounter(MetricNames.cost, { description: "Cost in USD by served model" }),
    modelSelected: m.createCounter(MetricNames.modelSelected, { description: "Routing decisions by model and reason" }),
    finished: m.createCounter(MetricNames.jobsFinished, { description: "Jobs ended, by status" }),
    fallback: m.createCounter(MetricNames.fallback, { description: "Moves along the fallback chain: downgrade, upshift, error" }),
    stalls: m.createCounter(MetricNames.streamStalls, { description: "Provider streams that went quiet past STREAM_STALL_MS" }),
  };
}
export type RouterMetrics = ReturnType<typeof createRouterMetrics>;

