import type { QueuePayload } from "@switchyard/contracts";
import { addDays, generateDailyReports, isIsoDay, type Database } from "@switchyard/db";
import { defineProcessor, type QueueSet, type Redis, type RedisKeys } from "@switchyard/queue";
import type { Logger } from "@switchyard/telemetry";
import { UnrecoverableError, type Job, type Worker } from "bullmq";
import type { Kysely } from "kysely";

/** The BullMQ job scheduler's id: one per queue prefix, however many aggregators upsert it. */
export const DAILY_REPORTS_SCHEDULER_ID = "daily-reports";
/** 01:00 UTC: an hour after the day ends, so late usage events have been written. */
export const DAILY_REPORTS_PATTERN = "0 1 * * *";

export interface ReportsWorkerOptions {
  db: Kysely<Database>;
  queues: QueueSet;
  keys: RedisKeys;
  /** For the worker; BullMQ opens its own blocking connection from it. */
  connection: Redis;
  logger: Logger;
  /** Cron pattern of the scheduler. Default {@link DAILY_REPORTS_PATTERN}. */
  pattern?: string;
  /** Time zone of the pattern. Default `UTC` (report days are UTC days). */
  tz?: string;
  /** Counts each job taken (`ai_queue_dequeue_total`). */
  onDequeue?: (queue: "ai-reports") => void;
}

export interface RunningReportsWorker {
  worker: Worker;
  /** Stops the worker (the scheduler stays registered in Redis for the other replicas). */
  close(): Promise<void>;
}

/**
 * When a job was due: a scheduler's job carries it (`prevMillis`, also the tail of its id), so a
 * job that runs late (aggregator down at 01:00) still reports the right day; else when it was
 * added.
 */
function dueAt(job: Job): number {
  if (typeof job.opts.prevMillis === "number") return job.opts.prevMillis;
  const fromId = /^repeat:.+:(\d+)$/.exec(job.id ?? "");
  return fromId ? Number(fromId[1]) : job.timestamp + (job.delay || 0);
}

/** The UTC day a report job covers: `payload.date`, else the UTC day before the job was due. */
export function reportDateFor(payload: QueuePayload<"ai-reports">, job: Job): string {
  return payload.date ?? addDays(new Date(dueAt(job)).toISOString().slice(0, 10), -1);
}

/**
 * Registers (upserts: every replica may, harmlessly) the `ai-reports` job scheduler that fires
 * daily at 01:00 UTC, and a worker that builds that day's reports for every tenant. Generation
 * is an upsert, so a retried or duplicated job rewrites the same rows.
 */
export async function startReportsWorker(opts: ReportsWorkerOptions): Promise<RunningReportsWorker> {
  const { db, queues, keys, connection, logger } = opts;
  // The payload is validated like every add's (and the queue's retry policy applied), though it is empty.
  await queues.schedule(
    "ai-reports",
    DAILY_REPORTS_SCHEDULER_ID,
    { pattern: opts.pattern ?? DAILY_REPORTS_PATTERN, tz: opts.tz ?? "UTC" },
    {},
    { removeOnComplete: { age: 7 * 86_400, count: 1000 }, removeOnFail: { age: 30 * 86_400, count: 1000 } },
  );
  const worker = defineProcessor(
    "ai-reports",
    async (payload, job) => {
      const date = reportDateFor(payload, job);
      // The schema checks the shape only; 2026-02-30 would fail the same way on every retry.
      if (!isIsoDay(date)) throw new UnrecoverableError(`ai-reports job ${job.id}: ${date} is not a calendar day`);
      const result = await generateDailyReports(db, date, { tenantId: payload.tenant_id });
      logger.info({ jobId: job.id, ...result }, "daily reports generated");
      return result;
    },
    { keys, connection, concurrency: 1, onDequeue: opts.onDequeue },
  );
  worker.on("failed", (job, err) => logger.warn({ jobId: job?.id, attempt: job?.attemptsMade, err: err.message }, "daily reports not generated; will retry"));
  worker.on("error", (err) => logger.error({ err: err.message }, "reports worker error"));
  logger.info({ scheduler: DAILY_REPORTS_SCHEDULER_ID, pattern: opts.pattern ?? DAILY_REPORTS_PATTERN }, "daily reports scheduled");
  return { worker, close: () => worker.close() };
}

/** Enqueue one report run now, for `date` (`YYYY-MM-DD`, UTC) and optionally one tenant. */
export async function generateReportsNow(queues: QueueSet, date: string, opts: { tenantId?: string } = {}): Promise<Job> {
  if (!isIsoDay(date)) throw new RangeError(`date must be a calendar day YYYY-MM-DD, got ${JSON.stringify(date)}`);
  return queues.enqueue("ai-reports", { date, ...(opts.tenantId ? { tenant_id: opts.tenantId } : {}) });
}
