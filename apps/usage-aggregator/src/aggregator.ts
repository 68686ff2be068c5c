import { createDb, ingestUsageEvents, saveFinishedJob, type Database } from "@switchyard/db";
import { createQueueSet, createRedis, defineProcessor, RedisKeys, registerQueueMetrics } from "@switchyard/queue";
import { createLogger, createMetricsRegistry, MetricNames, startMetricsServer, type Logger } from "@switchyard/telemetry";
import type { Kysely } from "kysely";
import type { AggregatorEnv } from "./env";

export interface RunningAggregator {
  metricsPort: number;
  close(graceMs?: number): Promise<void>;
}

/**
 * Consumes `ai-usage`: each event becomes at most one usage row (keyed by job and attempt) and
 * bumps the daily rollup in the same transaction; a finished job is stored in Postgres. A BullMQ
 * job is acknowledged only after its transaction commits, so a crash re-delivers, never loses.
 */
export async function startAggregator(env: AggregatorEnv, opts: { logger?: Logger; db?: Kysely<Database> } = {}): Promise<RunningAggregator> {
  const logger = opts.logger ?? createLogger({ name: "usage-aggregator", level: env.LOG_LEVEL });
  const db = opts.db ?? createDb({ connectionString: env.DATABASE_URL, onError: (err) => logger.warn({ err: err.message }, "postgres client error") });
  const redis = createRedis(env.REDIS_URL);
  redis.on("error", (err: Error) => logger.warn({ err: err.message }, "redis error"));
  const keys = new RedisKeys(env.SWITCHYARD_PREFIX);
  const queues = createQueueSet({ connection: redis, keys });
  const registry = createMetricsRegistry({ serviceName: "usage-aggregator" });
  const queueMetrics = registerQueueMetrics(registry.meter, queues);
  const inserted = registry.meter.createCounter(MetricNames.usageRowsInserted, { description: "Usage rows written to the ledger" });
  const duplicates = registry.meter.createCounter(MetricNames.usageDuplicates, { description: "Usage events already in the ledger (re-deliveries)" });

  const worker = defineProcessor(
    "ai-usage",
    async (event) => {
      queueMetrics.countDequeue("ai-usage");
      const r = await ingestUsageEvents(db, [event]);
      inserted.add(r.inserted);
      duplicates.add(r.duplicates);
      if (event.job) await saveFinishedJob(db, { view: event.job, tenant_id: event.tenant_id, deployment_id: event.deployment_id, api_key_id: event.api_key_id });
      return r.inserted;
    },
    { keys, connection: redis.duplicate(), concurrency: env.AGGREGATOR_CONCURRENCY, lockDuration: env.WORKER_LOCK_MS, stalledInterval: env.WORKER_LOCK_MS },
  );
  worker.on("failed", (job, err) => logger.warn({ jobId: job?.id, err: err.message }, "usage event not yet written; will retry"));
  worker.on("error", (err) => logger.error({ err: err.message }, "worker error"));
  const server = await startMetricsServer({ port: env.METRICS_PORT, registry });
  logger.info({ metricsPort: server.port }, "usage-aggregator consuming ai-usage");

  let closing: Promise<void> | null = null;
  return {
    metricsPort: server.port,
    close: () =>
      (closing ??= (async () => {
        await worker.close();
        await queues.close();
        await server.close();
        redis.disconnect();
        if (!opts.db) await db.destroy();
        await registry.shutdown();
      })()),
  };
}
