import { MetricNames, type MetricsRegistry } from "@switchyard/telemetry";
import { stateCode, type CircuitBreakers } from "./circuit-breaker";

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
