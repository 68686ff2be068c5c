import type { RouteJobPayload } from "@switchyard/contracts";
import { MetricNames, type MetricsRegistry } from "@switchyard/telemetry";

/** Buckets of `ai_queue_wait_seconds`: from ten milliseconds to an hour (a flood can hold batch work that long). */
const WAIT_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

/** What the fair scheduler's worker side records. */
export interface FairMetrics {
  /** A job's first delivery begins: its wait since creation, by its deployment's type and its priority. */
  queueWait(payload: RouteJobPayload, waitMs: number): void;
  /** Entries the dispatcher handed to BullMQ (`dispatched`) or ended past their max_queue_ms (`expired`), or recovered after a crash (`recovered`). */
  dispatched(result: "dispatched" | "expired" | "recovered"): void;
}

export function createFairMetrics(registry: MetricsRegistry): FairMetrics {
  const wait = registry.meter.createHistogram(MetricNames.queueWait, {
    description: "Time a route job waited from creation until a worker began it, by tenant_class (the deployment's type) and priority",
    unit: "s",
    advice: { explicitBucketBoundaries: WAIT_BUCKETS },
  });
  const dispatch = registry.meter.createCounter(MetricNames.fairDispatch, {
    description: "Fair-list entries the dispatchers handed on, by result (dispatched to BullMQ, expired past max_queue_ms, recovered after a crash)",
  });
  for (const result of ["dispatched", "expired", "recovered"]) dispatch.add(0, { result });
  return {
    queueWait: (payload, waitMs) =>
      wait.record(Math.max(0, waitMs) / 1000, { tenant_class: payload.queue?.tenant_class ?? "unknown", priority: payload.request.priority ?? "normal" }),
    dispatched: (result) => dispatch.add(1, { result }),
  };
}
