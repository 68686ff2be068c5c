import { logScrubber } from "@switchyard/rag";
import type { UsageEvent } from "@switchyard/contracts";
import { AlertFirer, BudgetLedger } from "@switchyard/admission";
import { createDb, debitForUsage, ingestUsageEvents, readiness, readinessResponse, saveFinishedJobs, UsagePartitions, type Database } from "@switchyard/db";
import { createQueueSet, createRedis, defineProcessor, JobStore, RedisKeys } from "@switchyard/queue";
import { DEFAULT_CATALOG_PATH, loadCatalog } from "@switchyard/providers";
import { CircuitBreakers, createProcessMetrics } from "@switchyard/routing";
import { createLogger, createMetricsRegistry, MetricNames, startMetricsServer, type Logger } from "@switchyard/telemetry";
import type { Kysely } from "kysely";
import type { AggregatorEnv } from "./env";
import { startAlertsWorker } from "./alerts-worker";
import { checkDailyCost } from "./daily-cost";
import { startHousekeeping } from "./housekeeping";
import { startReportsWorker } from "./reports-scheduler";
import { MicroBatcher } from "./micro-batcher";

export interface RunningAggregator {
  metricsPort: number;
  close(graceMs?: number): Promise<void>;
}

/**
 * Consumes `ai-usage` in micro-batches: one multi-row insert per batch with conflicts on
 * (job, attempt) ignored, daily rollups bumped in the same transaction from the rows actually
 * inserted, finished jobs stored. BullMQ jobs are acknowledged only after their batch commits, so
 * a crash re-delivers, never loses, and a re-delivery changes nothing.
 */
export async function startAggregator(env: AggregatorEnv, opts: { logger?: Logger; db?: Kysely<Database> } = {}): Promise<RunningAggregator> {
  const logger = opts.logger ?? createLogger({ name: "usage-aggregator", level: env.LOG_LEVEL, scrub: logScrubber });
  const db = opts.db ?? createDb({ connectionString: env.DATABASE_URL, onError: (err) => logger.warn({ err: err.message }, "postgres client error") });
  const redis = createRedis(env.REDIS_URL);
  redis.on("error", (err: Error) => logger.warn({ err: err.message }, "redis error"));
  const keys = new RedisKeys(env.SWITCHYARD_PREFIX);
  const queues = createQueueSet({ connection: redis, keys });
  const registry = createMetricsRegistry({ serviceName: "usage-aggregator" });
  const catalog = loadCatalog(env.MODEL_CATALOG_PATH ?? DEFAULT_CATALOG_PATH);
  const metrics = createProcessMetrics(registry, { queues, breakers: new CircuitBreakers({ redis, prefix: env.SWITCHYARD_PREFIX }), models: catalog.models.map((m) => m.id) });
  const onDequeue = metrics.countDequeue;
  const inserted = registry.meter.createCounter(MetricNames.usageRowsInserted, { description: "Usage rows written to the ledger" });
  const duplicates = registry.meter.createCounter(MetricNames.usageDuplicates, { description: "Usage events already in the ledger (re-deliveries)" });
  const batchSize = registry.meter.createHistogram("ai_usage_batch_size", { description: "Usage events per ledger transaction" });
  const partitions = new UsagePartitions(db);
  await partitions.ensureAhead().catch((err: Error) => logger.warn({ err: err.message }, "could not create usage partitions yet"));
  // Alerts: daily-cost alerts fired from committed batches; ai-alerts consumed (recorded, webhook).
  const alerts = new AlertFirer({ redis, prefix: env.SWITCHYARD_PREFIX, queues, onEnqueue: () => metrics.countEnqueue("ai-alerts") });
  const alertsWorker = startAlertsWorker({ db, keys, connection: redis.duplicate(), registry, logger, webhookUrl: env.ALERT_WEBHOOK_URL, webhookSecret: env.ALERT_WEBHOOK_SECRET, onDequeue });

  const batcher = new MicroBatcher<UsageEvent>({
    maxSize: env.USAGE_BATCH_SIZE,
    maxWaitMs: env.USAGE_BATCH_WAIT_MS,
    flush: async (events) => {
      await partitions.ensureFor(events.map((e) => e.occurred_at));
      const r = await ingestUsageEvents(db, events, {
        inTransaction: async (trx, insertedEvents) => {
          const finished = events.filter((e) => e.job).map((e) => ({ view: e.job!, tenant_id: e.tenant_id, deployment_id: e.deployment_id, api_key_id: e.api_key_id }));
          await saveFinishedJobs(trx, finished);
          // Prepaid tenants: the debit is written with the usage row, once per (job, attempt).
          for (const e of insertedEvents) {
            if (e.credits_tenant_id && e.cost_usd > 0) await debitForUsage(trx, { tenantId: e.credits_tenant_id, jobId: e.job_id, attempt: e.attempt, amountUsd: e.cost_usd });
          }
        },
      });
      batchSize.record(events.length);
      // Alerts: after the commit, so the rollups include this batch; an alert problem never fails the batch.
      await checkDailyCost(db, alerts, events).catch((err: Error) => logger.warn({ err: err.message }, "daily cost alert check failed"));
      inserted.add(r.inserted);
      duplicates.add(r.duplicates);
    },
  });

  const worker = defineProcessor(
    "ai-usage",
    async (event) => {
      await batcher.add(event);
    },
    // Concurrency is what lets a batch fill: each waiting job holds one slot until its batch commits.
    { keys, connection: redis.duplicate(), concurrency: env.USAGE_BATCH_SIZE, lockDuration: env.WORKER_LOCK_MS, stalledInterval: env.WORKER_LOCK_MS, onDequeue },
  );
  worker.on("failed", (job, err) => logger.warn({ jobId: job?.id, err: err.message }, "usage event not yet written; will retry"));
  worker.on("error", (err) => logger.error({ err: err.message }, "worker error"));
  // Only releases here (stuck jobs, orphans); rebuilding a period from Postgres is admission's job.
  const budgets = new BudgetLedger({ redis, prefix: env.SWITCHYARD_PREFIX, loadSpent: async () => { throw new Error("the aggregator does not load budget periods"); } });
  const housekeeping = await startHousekeeping({
    db,
    redis,
    keys,
    queues,
    jobStore: new JobStore({ redis, keys, retentionSeconds: env.JOB_RETENTION_SECONDS }),
    partitions,
    registry,
    logger,
    stuckAfterMs: env.STUCK_JOB_MS,
    retentionMonths: env.USAGE_RETENTION_MONTHS,
    everyMs: env.HOUSEKEEPING_EVERY_MS,
    onStuck: async (view) => void (await budgets.release(view.id)),
    onDequeue,
    extra: async () => {
      const expired = await budgets.expireOrphans(1000);
      if (expired) logger.warn({ expired }, "released orphaned budget reservations");
    },
  });
  const reports = await startReportsWorker({ db, queues, keys, connection: redis.duplicate(), logger, onDequeue });
  const server = await startMetricsServer({ port: env.METRICS_PORT, registry, metrics, routes: { "/health/ready": async () => readinessResponse(await readiness({ redis, db })) } });
  logger.info({ metricsPort: server.port, batchSize: env.USAGE_BATCH_SIZE }, "usage-aggregator consuming ai-usage");

  let closing: Promise<void> | null = null;
  return {
    metricsPort: server.port,
    close: () =>
      (closing ??= (async () => {
        const closed = worker.close();
        await batcher.flushNow();
        await closed;
        await housekeeping.close();
        await alertsWorker.close();
        await reports.close();
        await queues.close();
        await server.close();
        redis.disconnect();
        if (!opts.db) await db.destroy();
        await registry.shutdown();
      })()),
  };
}
