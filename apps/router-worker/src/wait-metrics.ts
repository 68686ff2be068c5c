import { WaitReason } from "@switchyard/contracts";
import type { MetricsRegistry } from "@switchyard/telemetry";

/** `ai_job_waits_total{reason}`: deliveries that parked a job to wait for its upstream, by reason. */
export const JOB_WAITS_METRIC = "ai_job_waits_total";

/** The waits counter, every reason's series present from the start (zero). */
export function createWaitMetrics(registry: MetricsRegistry): { waited(reason: WaitReason): void } {
  const waits = registry.meter.createCounter(JOB_WAITS_METRIC, { description: "Deliveries that parked a job to wait for its upstream (breaker_open, rate_limited_upstream, capacity), by reason" });
  for (const reason of WaitReason.options) waits.add(0, { reason });
  return { waited: (reason) => waits.add(1, { reason }) };
}
