import { registerQueueMetrics, type QueueSet } from "@switchyard/queue";
import { createOpsMetrics, type MetricsRegistry } from "@switchyard/telemetry";
import { registerBreakerGauge } from "./breaker-gauge";
import type { CircuitBreakers } from "./circuit-breaker";

/**
 * Every DESIGN.md metric a process exposes on its `/metrics`: the same set in the gateway and in
 * each worker. Queue depth, workers and breaker states are read from Redis at scrape time, so any
 * process reports them; the rest count what this process did.
 */
export function createProcessMetrics(registry: MetricsRegistry, o: { queues: QueueSet; breakers: CircuitBreakers; models: readonly string[]; budgetRatios?: () => Map<string, number> }) {
  registerBreakerGauge(registry, o.breakers, [...o.models]);
  return { ...createOpsMetrics(registry, { models: o.models, budgetRatios: o.budgetRatios }), ...registerQueueMetrics(registry.meter, o.queues) };
}
export type ProcessMetrics = ReturnType<typeof createProcessMetrics>;
