import { AlertFirer, BudgetLedger } from "@switchyard/admission";
import { UsagePartitions, type Database } from "@switchyard/db";
import { DEFAULT_CATALOG_PATH, loadCatalog } from "@switchyard/providers";
import { defineProcessor, JobStore } from "@switchyard/queue";
import { startProcess } from "@switchyard/runtime";
import type { Logger } from "@switchyard/telemetry";
import type { Kysely } from "kysely";
import { usageConsumerSlots, type AggregatorEnv } from "./env";
import { startAlertsWorker } from "./alerts-worker";
import { checkDailyCost } from "./daily-cost";
import { deadRunBiller } from "./dead-run-biller";
import { startHousekeeping } from "./housekeeping";
import { createLedgerWriter, type UsageDelivery } from "./ledger-writer";
import { startReportsWorker } from "./reports-scheduler";
import { MicroBatcher } from "./micro-batcher";

/** Crashes an `ai-usage` job survives while held (unacknowledged) before BullMQ fails it. */
const USAGE_MAX_STALLS = 10;

export interface RunningAggregator {
  metricsPort: number;
  close(graceMs?: number): Promise<void>;
}

/**
 * Consumes `ai-usage` in micro-batches: one set-based statement per batch inserts the events with
 * conflicts on (job, attempt) ignored and, from the rows actually inserted, bumps the daily rollups
 * and debits prepaid credits (`ingestUsageEvents`); finished jobs are stored in the same
 * transaction; `USAGE_BATCHES_IN_FLIGHT` batches are written at once. BullMQ jobs are acknowledged
 * only after their batch commits, so a crash re-delivers, never loses, and a re-delivery changes
 * nothing. An event Postgres refuses for its data is isolated (the batch is bisected) and set aside
 * in `usage_dead_letters`, so it never holds back the others; see `ledger-writer.ts`.
 */
export async function startAggregator(env: AggregatorEnv, opts: { logger?: Logger; db?: Kysely<Database> } = {}): Promise<RunningAggregator> {
  return startProcess({ name: "usage-aggregator", env, ...opts }, async (p) => {
    const { db, redis, keys, queues, registry, logger } = p;
    // The catalog prices the runs billed after a crash (deadRunBiller).
    const catalog = loadCatalog(env.MODEL_CATALOG_PATH ?? DEFAULT_CATALOG_PATH);
    const metrics = p.metrics({ catalog });
    const onDequeue = metrics.countDequeue;
    const partitions = new UsagePartitions(db);
    await partitions.ensureAhead().catch((err: Error) => logger.warn({ err: err.message }, "could not create usage partitions yet"));
    // Alerts: daily-cost alerts fired from committed batches; ai-alerts consumed (recorded, webhook).
    const alerts = new AlertFirer({ redis, prefix: env.SWITCHYARD_PREFIX, queues, onEnqueue: () => metrics.countEnqueue("ai-alerts") });
    const alertsWorker = startAlertsWorker({
      db,
      keys,
      connection: p.duplicate(),
      registry,
      logger,
      webhookUrl: env.ALERT_WEBHOOK_URL,
      webhookSecret: env.ALERT_WEBHOOK_SECRET,
      onDequeue,
    });
    p.defer("ai-alerts consumer", () => alertsWorker.close());

    const ledger = createLedgerWriter({
      db,
      partitions,
      registry,
      logger,
      // Alerts: after the commit, so the rollups include this batch; an alert problem never fails the batch.
      afterCommit: async (events) =>
        void (await checkDailyCost(db, alerts, events).catch((err: Error) => logger.warn({ err: err.message }, "daily cost alert check failed"))),
    });
    const batcher = new MicroBatcher<UsageDelivery>({
      maxSize: env.USAGE_BATCH_SIZE,
      maxWaitMs: env.USAGE_BATCH_WAIT_MS,
      maxInFlight: env.USAGE_BATCHES_IN_FLIGHT,
      flush: (deliveries) => ledger.flush(deliveries),
    });

    const worker = defineProcessor(
      "ai-usage",
      async (event, job) => {
        await batcher.add({ event, raw: job.data, queueJobId: job.id ?? null });
      },
      // Concurrency is what lets a batch fill: each waiting job holds one slot until its batch commits.
      // A killed aggregator leaves every job it held stalled; re-running one is harmless (idempotent
      // writes), so a job outlives several crashes instead of BullMQ's default one stall.
      {
        keys,
        connection: p.duplicate(),
        concurrency: usageConsumerSlots(env),
        lockDuration: env.WORKER_LOCK_MS,
        stalledInterval: env.WORKER_LOCK_MS,
        maxStalledCount: USAGE_MAX_STALLS,
        onDequeue,
      },
    );
    // defineProcessor fails a payload that does not parse with an UnrecoverableError (no retries):
    // that event is set aside too. Detected by name, as a workspace can hold two copies of bullmq.
    const invalid = new Set<Promise<void>>();
    const stopRetrying = new AbortController();
    worker.on("failed", (job, err) => {
      if (job && err.name === "UnrecoverableError") {
        const d = deadLetterWithRetries(() => ledger.deadLetterInvalid(job.data, job.id ?? null, err.message), logger, stopRetrying.signal).finally(() =>
          invalid.delete(d),
        );
        invalid.add(d);
      } else logger.warn({ jobId: job?.id, err: err.message }, "usage event not yet written; will retry");
    });
    worker.on("error", (err) => logger.error({ err: err.message }, "worker error"));
    p.defer("ai-usage consumer", async () => {
      // The batch being filled is written before the consumer lets go of its jobs.
      const closed = worker.close();
      await batcher.flushNow();
      await closed;
      stopRetrying.abort();
      await Promise.all(invalid);
    });
    // Only releases here (stuck jobs, orphans); rebuilding a period from Postgres is admission's job.
    const budgets = new BudgetLedger({
      redis,
      prefix: env.SWITCHYARD_PREFIX,
      loadSpent: async () => {
        throw new Error("the aggregator does not load budget periods");
      },
    });
    const jobStore = new JobStore({ redis, keys, retentionSeconds: env.JOB_RETENTION_SECONDS });
    const housekeeping = await startHousekeeping({
      db,
      redis,
      keys,
      queues,
      jobStore,
      partitions,
      registry,
      logger,
      stuckAfterMs: env.STUCK_JOB_MS,
      retentionMonths: env.USAGE_RETENTION_MONTHS,
      auditRetentionDays: env.AUDIT_RETENTION_DAYS,
      auditArchiveDir: env.AUDIT_ARCHIVE_DIR,
      everyMs: env.HOUSEKEEPING_EVERY_MS,
      onStuck: async (view) => void (await budgets.release(view.id)),
      // A run killed after its answer began is billed (partial) even when no delivery comes back for it.
      billDeadRun: deadRunBiller({ jobStore, queues, budgets, catalog, logger, onEnqueue: () => metrics.countEnqueue("ai-usage") }),
      onDequeue,
      extra: async () => {
        const expired = await budgets.expireOrphans(1000);
        if (expired) logger.warn({ expired }, "released orphaned budget reservations");
      },
    });
    p.defer("housekeeping", () => housekeeping.close());
    const reports = await startReportsWorker({ db, queues, keys, connection: p.duplicate(), logger, onDequeue });
    p.defer("ai-reports consumer", () => reports.close());
    const server = await p.serveMetrics({ port: env.METRICS_PORT, metrics });
    logger.info({ metricsPort: server.port, batchSize: env.USAGE_BATCH_SIZE }, "usage-aggregator consuming ai-usage");
    return { metricsPort: server.port, close: () => p.close() };
  });
}

/**
 * Record an unparseable payload's dead letter, retrying while Postgres is away (1 s doubling, about
 * a minute in all; no more once `signal` aborts, at shutdown). BullMQ has already failed the job, so
 * if every try fails it stays in the queue's failed set, where
 * `POST /admin/v1/queues/ai-usage/retry-failed` brings it back (and it is set aside again).
 */
async function deadLetterWithRetries(write: () => Promise<unknown>, logger: Logger, signal: AbortSignal, tries = 6): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await write();
      return;
    } catch (err) {
      if (i + 1 >= tries || signal.aborted) {
        logger.error({ err: (err as Error).message }, "could not record a usage dead letter; the job stays in ai-usage's failed set");
        return;
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, 1000 * 2 ** i);
        signal.addEventListener("abort", () => (clearTimeout(t), r()), { once: true });
      });
    }
  }
}
