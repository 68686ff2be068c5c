import { QUEUE_NAMES, type QueueName } from "@switchyard/contracts";
import { MetricNames } from "@switchyard/telemetry";
import type { Meter } from "@opentelemetry/api";
import type { QueueSet } from "./queues";

const STATES = ["waiting", "active", "delayed", "prioritized", "failed", "completed", "waiting-children"] as const;

/** Bound a promise so a scrape never hangs on a dead Redis. */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    p.then(
      (v) => { clearTimeout(t); resolve(v); },
      (e: unknown) => { clearTimeout(t); reject(e as Error); },
    );
  });
}

/**
 * Queue metrics every process exposes: depth per queue and state read from BullMQ's own counts at
 * scrape time, and this process's enqueues and dequeues (zero-initialised so every series exists).
 */
export function registerQueueMetrics(meter: Meter, queues: QueueSet) {
  const enqueued = meter.createCounter(MetricNames.queueEnqueue, { description: "Jobs added to a queue by this process" });
  const dequeued = meter.createCounter(MetricNames.queueDequeue, { description: "Jobs taken from a queue by this process" });
  for (const q of QUEUE_NAMES) {
    enqueued.add(0, { queue: q });
    dequeued.add(0, { queue: q });
  }
  const depth = meter.createObservableGauge(MetricNames.queueDepth, { description: "Jobs per queue and state (BullMQ counts)" });
  depth.addCallback(async (obs) => {
    await Promise.all(
      QUEUE_NAMES.map(async (q) => {
        try {
          const counts = await withTimeout(queues.get(q).getJobCounts(...STATES), 1000);
          for (const s of STATES) obs.observe(counts[s] ?? 0, { queue: q, state: s });
        } catch {
          // Redis down: no figure rather than a stale one; readiness says why.
        }
      }),
    );
  });
  return {
    countEnqueue: (q: QueueName) => enqueued.add(1, { queue: q }),
    countDequeue: (q: QueueName) => dequeued.add(1, { queue: q }),
  };
}
export type QueueMetrics = ReturnType<typeof registerQueueMetrics>;
