import { QUEUE_NAMES, withTimeout, type QueueName } from "@switchyard/contracts";

export { withTimeout };
import { MetricNames } from "@switchyard/telemetry";
import type { Meter } from "@opentelemetry/api";
import type { QueueSet } from "./queues";
import { topTenants, type FairScheduler } from "./fair-scheduler";

const STATES = ["waiting", "active", "delayed", "prioritized", "failed", "completed", "waiting-children"] as const;

/**
 * Queue metrics every process exposes: depth per queue and state (ai-route's `waiting` includes
 * the jobs waiting in the fair lists, and `ai_queue_tenant_depth` says whose they are), and the workers consuming each
 * queue, read from BullMQ's own counts at scrape time; and this process's enqueues and dequeues
 * (zero-initialised so every series exists).
 */
export function registerQueueMetrics(meter: Meter, queues: QueueSet, fair?: FairScheduler) {
  const enqueued = meter.createCounter(MetricNames.queueEnqueue, { description: "Jobs added to a queue by this process" });
  const dequeued = meter.createCounter(MetricNames.queueDequeue, { description: "Jobs taken from a queue by this process" });
  for (const q of QUEUE_NAMES) {
    enqueued.add(0, { queue: q });
    dequeued.add(0, { queue: q });
  }
  const depth = meter.createObservableGauge(MetricNames.queueDepth, { description: "Jobs per queue and state (BullMQ counts)" });
  // Jobs waiting in the fair lists (fair scheduling) are waiting jobs of ai-route, as BullMQ's are.
  const tenantDepth = meter.createObservableGauge(MetricNames.queueTenantDepth, {
    description: "Route jobs waiting in the fair lists per tenant: the top 10 by count, the rest summed under tenant=other",
  });
  let fairRows: Promise<Awaited<ReturnType<FairScheduler["depth"]>>> | null = null;
  const readFair = () => (fair ? (fairRows ??= withTimeout(fair.depth(), 1000).finally(() => setTimeout(() => (fairRows = null), 200))) : Promise.resolve([]));
  tenantDepth.addCallback(async (obs) => {
    try {
      for (const t of topTenants(await readFair(), 10)) obs.observe(t.waiting, { tenant: t.tenant });
    } catch {
      // Redis down: as below.
    }
  });
  depth.addCallback(async (obs) => {
    await Promise.all(
      QUEUE_NAMES.map(async (q) => {
        try {
          const [counts, rows] = await Promise.all([withTimeout(queues.queue(q).getJobCounts(...STATES), 1000), q === "ai-route" ? readFair() : []]);
          const fairWaiting = rows.reduce((n, r) => n + r.waiting, 0);
          for (const s of STATES) obs.observe((counts[s] ?? 0) + (s === "waiting" ? fairWaiting : 0), { queue: q, state: s });
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
