import { QUEUE_NAMES, withTimeout, type QueueName } from "@switchyard/contracts";

export { withTimeout };
import { MetricNames } from "@switchyard/telemetry";
import type { Meter } from "@opentelemetry/api";
import type { QueueSet } from "./queues";

const STATES = ["waiting", "active", "delayed", "prioritized", "failed", "completed", "waiting-children"] as const;

/**
 * Queue metrics every process exposes: depth per queue and state, and the workers consuming each
 * queue, read from BullMQ's own counts at scrape time; and this process's enqueues and dequeues
 * (zero-initialised so every series exists).
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
          const counts = await withTimeout(queues.queue(q).getJobCounts(...STATES), 1000);
          for (const s of STATES) obs.observe(counts[s] ?? 0, { queue: q, state: s });
        } catch {
          // Redis down: no figure rather than a stale one; readiness says why.
        }
      }),
    );
  });
  const workers = meter.createObservableGauge(MetricNames.queueWorkers, { description: "Workers connected to each queue (BullMQ's count, all processes)" });
  workers.addCallback(async (obs) => {
    await Promise.all(
      QUEUE_NAMES.map(async (q) => {
        try {
          obs.observe(await withTimeout(queues.queue(q).getWorkersCount(), 1000), { queue: q });
        } catch {
          // As above.
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
