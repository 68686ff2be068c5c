import { MetricNames, type MetricsRegistry } from "@switchyard/telemetry";
import { registerQueueMetrics, type QueueSet } from "@switchyard/queue";

/** The router-worker's instruments (DESIGN.md "Observability"). */
export function createRouterMetrics(registry: MetricsRegistry, queues: QueueSet) {
  const m = registry.meter;
  return {
    ...registerQueueMetrics(m, queues),
    ttft: m.createHistogram(MetricNames.jobTtft, { description: "Time to first token", unit: "s" }),
    duration: m.createHistogram(MetricNames.jobDuration, { description: "Provider call duration, start to last chunk", unit: "s" }),
    tokens: m.createCounter(MetricNames.tokens, { description: "Tokens by model and kind (input, output, cached)" }),
    cost: m.createCounter(MetricNames.cost, { description: "Cost in USD by served model" }),
    modelSelected: m.createCounter(MetricNames.modelSelected, { description: "Routing decisions by model and reason" }),
    finished: m.createCounter(MetricNames.jobsFinished, { description: "Jobs ended, by status" }),
  };
}
export type RouterMetrics = ReturnType<typeof createRouterMetrics>;
