import type { BreakerState } from "@switchyard/contracts";
import type { Redis } from "@switchyard/queue";
import { CircuitBreakers, stateCode } from "@switchyard/routing";
import { MetricNames, type MetricsRegistry } from "@switchyard/telemetry";

/** Reads the shared breaker states of some models (`CircuitBreakers#states` is one). */
export type BreakerStatesReader = (models: readonly string[]) => Promise<Record<string, { state: BreakerState }>>;

/**
 * Breaker states for a process that holds no breakers (it never acquires or records): read
 * through routing's public API, which owns the keys and the script that reads them, built on the
 * first scrape.
 */
export function breakerStatesReader(redis: Redis, prefix: string): BreakerStatesReader {
  let view: CircuitBreakers | undefined;
  return (models) => (view ??= new CircuitBreakers({ redis, prefix })).states(models);
}

/** `circuit_breaker_state{model}`: 0 closed, 1 half-open, 2 open, read from Redis at scrape time. */
export function registerBreakerGauge(registry: MetricsRegistry, read: BreakerStatesReader, models: readonly string[]): void {
  registry.meter
    .createObservableGauge(MetricNames.circuitBreakerState, { description: "Circuit breaker state per model: 0 closed, 1 half-open, 2 open" })
    .addCallback(async (obs) => {
      try {
        const states = await read(models);
        for (const [model, s] of Object.entries(states)) obs.observe(stateCode(s.state), { model });
      } catch {
        // Redis down: no figure rather than a stale one.
      }
    });
}
