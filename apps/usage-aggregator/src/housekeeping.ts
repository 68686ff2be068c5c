import type { JobView } from "@switchyard/contracts";
import { archiveAudit, saveFinishedJob, type Database, type UsagePartitions } from "@switchyard/db";
import { defineProcessor, type JobStore, type QueueSet, type RedisKeys } from "@switchyard/queue";
import type { Logger, MetricsRegistry } from "@switchyard/telemetry";
import type { Worker } from "bullmq";
import type { Cluster, Redis as SingleRedis } from "ioredis";

/** One server or a Redis Cluster (the keys are all in one hash slot). */
type Redis = SingleRedis | Cluster;
import type { Kysely } from "kysely";

export interface HousekeepingOptions {
  db: Kysely<Database>;
  redis: Redis;
  keys: RedisKeys;
  queues: QueueSet;
  jobStore: JobStore;
  partitions: UsagePartitions;
  registry: MetricsRegistry;
  logger: Logger;
  /** Jobs queued or running longer than this are failed as stuck. Default 10 min. */
  stuckAfterMs: number;
  /** Usage partitions older than this many months are dropped. */
  retentionMonths: number;
  /** Audit rows older than this many days are archived to `auditArchiveDir`, then dropped (0: kept). */
  auditRetentionDays?: number;
  auditArchiveDir?: string;
  /** How often the sweep runs (one BullMQ job scheduler shared by every aggregator replica). */
  everyMs: number;
  /** Extra work per sweep (e.g. releasing orphaned budget reservations). */
  extra?: () => Promise<void>;
  /** Called for each job the sweeper failed (e.g. to free its budget reservation). */
  onStuck?: (view: JobView) => Promise<void>;
  /** Called for each stuck job before it is failed, to bill what its dead deliveries left unbilled. */
  billDeadRun?: (jobId: string, view: JobView) => Promise<void>;
  /** Counts each job taken (`ai_queue_dequeue_total`). */
  onDequeue?: (queue: "ai-housekeeping") => void;
}

/**
 * Fail jobs stuck longer than the limit: one terminal transition (so a late worker's output is
 * dropped), its upstream call aborted, stored in Postgres. Returns the ids failed.
 */
export async function sweepStuckJobs(
  o: Pick<HousekeepingOptions, "db" | "redis" | "keys" | "jobStore" | "queues" | "logger" | "stuckAfterMs" | "billDeadRun">,
  onStuck?: (view: JobView) => Promise<void>,
): Promise<string[]> {
  const failed: string[] = [];
  for (const id of await o.jobStore.liveJobsCreatedBefore(Date.now() - o.stuckAfterMs)) {
    const live = await o.jobStore.get(id);
    if (!live) {
      await o.jobStore.forgetLive(id);
      continue;
    }
    const message = `job was ${live.status} for longer than ${Math.round(o.stuckAfterMs / 1000)} s`;
    const view: JobView = { ...live.view, status: "failed", completed_at: new Date().toISOString(), error: { code: "stuck", message, reason: "stuck" } };
    // Before the terminal transition: a sweeper that dies part-way finds the job live again.
    await o.billDeadRun?.(id, live.view);
    const r = await o.jobStore.finish(view, { type: "error", data: { code: "stuck", message, reason: "stuck" } });
    if (r.kind !== "finished") continue;
    await o.redis.publish(o.keys.cancelChannel(), id);
    // Its ai-route job stays: the delivery that takes it finds the job ended, calls nothing and
    // ends it as a failed BullMQ job, so stuck jobs show in the queue's Failed tab like any other.
    await saveFinishedJob(o.db, { view, tenant_id: live.tenantId, deployment_id: live.deploymentId, api_key_id: live.apiKeyId });
    await onStuck?.(view);
    failed.push(id);
    o.logger.warn({ jobId: id, status: live.status }, "failed a stuck job");
  }
  return failed;
}

/** Register the housekeeping scheduler and its processor; `close` stops it and its connection. */
export async function startHousekeeping(o: HousekeepingOptions): Promise<{ close(): Promise<void> }> {
  const stuck = o.registry.meter.createCounter("ai_jobs_stuck_total", { description: "Jobs failed by the sweeper after being queued or running too long" });
  const auditArchived = o.registry.meter.createCounter("ai_audit_rows_archived_total", {
    description: "Audit rows moved past AUDIT_RETENTION_DAYS into the JSON Lines archive",
  });
  auditArchived.add(0);
  await o.queues.schedule("ai-housekeeping", "housekeeping", { every: o.everyMs }, { task: "stuck_jobs" });
  const connection = o.redis.duplicate();
  const worker: Worker = defineProcessor(
    "ai-housekeeping",
    async () => {
      const ids = await sweepStuckJobs(o, o.onStuck);
      stuck.add(ids.length);
      await o.partitions.ensureAhead();
      const dropped = await o.partitions.dropOlderThan(o.retentionMonths);
      if (dropped.length) o.logger.info({ dropped }, "dropped usage partitions past retention");
      if (o.auditRetentionDays && o.auditArchiveDir) {
        const a = await archiveAudit(o.db, { before: new Date(Date.now() - o.auditRetentionDays * 86_400_000), dir: o.auditArchiveDir });
        auditArchived.add(a.archived);
        if (a.archived) o.logger.info({ rows: a.archived, files: a.files }, "archived audit rows past retention");
      }
      await o.extra?.();
      return { stuck: ids.length, dropped: dropped.length };
    },
    { keys: o.keys, connection, concurrency: 1, onDequeue: o.onDequeue },
  );
  return {
    close: async () => {
      await worker.close();
      connection.disconnect();
    },
  };
}
