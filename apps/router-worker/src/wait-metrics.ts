import { WaitReason } from "@switchyard/contracts";
import { MetricNames, type MetricsRegistry } from "@switchyard/telemetry";

/** The waits counter, every reason's series present from the start (zero). */
export function createWaitMetrics(registry: MetricsRegistry): { waited(reason: WaitReason): void } {
  const waits = registry.meter.createCounter(MetricNames.jobWaits, {
    description: "Deliveries that parked a job to wait for its upstream (breaker_open, rate_limited_upstream, capacity), by reason",
  });
  for (const reason of WaitReason.options) waits.add(0, { reason });
  return { waited: (reason) => waits.add(1, { reason }) };
}
