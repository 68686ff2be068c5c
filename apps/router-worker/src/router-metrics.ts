import { MetricNames, type MetricsRegistry } from "@switchyard/telemetry";
import { registerQueueMetrics, type QueueSet } from "@switchyard/queue";
import { stateCode, type CircuitBreakers } from "@switchyard/routing";

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

/** `circuit_breaker_state{model}`: 0 closed, 1 half-open, 2 open, read from Redis at scrape time. */
export function registerBreakerGauge(registry: MetricsRegistry, breakers: CircuitBreakers, models: string[]): void {
  registry.meter.createObservableGauge(MetricNames.circuitBreakerState, { description: "Circuit breaker state per model: 0 closed, 1 half-open, 2 open" }).addCallback(async (obs) => {
    try {
      const states = await breakers.states(models);
      for (const [model, s] of Object.entries(states)) obs.observe(stateCode(s.state), { model });
    } catch {
      // Redis down: no figure rather than a stale one.
    }
  });
}
