import { registerQueueMetrics, type FairScheduler, type QueueSet } from "@switchyard/queue";
import { createOpsMetrics, type MetricsRegistry } from "@switchyard/telemetry";
import { registerBreakerGauge, type BreakerStatesReader } from "./breaker-gauge";

/**
 * Every DESIGN.md metric a process exposes on its `/metrics`: the same set in the gateway and in
 * each worker. Queue depth, workers and breaker states are read from Redis at scrape time, so any
 * process reports them; the rest count what this process did.
 */
export function createProcessMetrics(
  registry: MetricsRegistry,
  o: {
    queues: QueueSet;
    breakerStates: BreakerStatesReader;
    models: readonly string[];
    budgetRatios?: () => Map<string, number>;
    /** The fair lists, counted as ai-route's waiting jobs (and per tenant). */
    fair?: FairScheduler;
  },
) {
  registerBreakerGauge(registry, o.breakerStates, o.models);
  return { ...createOpsMetrics(registry, { models: o.models, budgetRatios: o.budgetRatios }), ...registerQueueMetrics(registry.meter, o.queues, o.fair) };
}
export type ProcessMetrics = ReturnType<typeof createProcessMetrics>;
