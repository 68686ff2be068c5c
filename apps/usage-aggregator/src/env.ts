import { envInt, envString, parseEnv } from "@switchyard/contracts";
import { processEnvFields } from "@switchyard/runtime";
import { z } from "zod";

export const AggregatorEnv = z
  .object({
    ...processEnvFields,
    METRICS_PORT: envInt(9465, 0),
    DATABASE_URL: z.string().url("DATABASE_URL must be a postgres:// URL"),
    /**
     * Most usage events written in one statement (a batch only fills this far under load). 2000:
     * `pnpm bench:usage` on 2 cores reached ~50 000 events/s with it against ~43 000 with 1000
     * (fewer statements, commits and round trips per event; README, performance).
     */
    USAGE_BATCH_SIZE: envInt(2000, 1),
    /** Longest an event waits for its batch to fill. */
    USAGE_BATCH_WAIT_MS: envInt(50, 0),
    /** Batches written at once: under load the next one is sent while the previous one commits. */
    USAGE_BATCHES_IN_FLIGHT: envInt(3, 1),
    WORKER_LOCK_MS: envInt(30_000, 1000),
    /** Jobs queued or running longer than this are failed as stuck. */
    STUCK_JOB_MS: envInt(600_000, 1000),
    /** Months of usage rows kept; older monthly partitions are dropped. */
    USAGE_RETENTION_MONTHS: envInt(13, 1),
    HOUSEKEEPING_EVERY_MS: envInt(60_000, 1000),
    /** Audit rows older than this many days are archived to AUDIT_ARCHIVE_DIR and dropped; 0 keeps them all. */
    AUDIT_RETENTION_DAYS: envInt(0, 0),
    /** Folder the audit archive (JSON Lines) is written to; required with AUDIT_RETENTION_DAYS. */
    AUDIT_ARCHIVE_DIR: envString(z.string().min(1).optional()),
    JOB_RETENTION_SECONDS: envInt(24 * 3600, 1),
    SHUTDOWN_GRACE_MS: envInt(25_000, 0),
    /** Where alerts are POSTed as signed JSON. Unset: alerts are recorded (alert_events, audit) but not sent. */
    ALERT_WEBHOOK_URL: envString(z.string().url("ALERT_WEBHOOK_URL must be an http(s) URL").optional()),
    /** HMAC-SHA256 key of `X-Switchyard-Signature`; required with ALERT_WEBHOOK_URL (unsigned alerts could be forged). */
    ALERT_WEBHOOK_SECRET: envString(z.string().min(16, "ALERT_WEBHOOK_SECRET must be at least 16 characters").optional()),
  })
  .refine((e) => !e.ALERT_WEBHOOK_URL || e.ALERT_WEBHOOK_SECRET, {
    message: "ALERT_WEBHOOK_SECRET is required when ALERT_WEBHOOK_URL is set",
    path: ["ALERT_WEBHOOK_SECRET"],
  })
  .refine((e) => e.AUDIT_RETENTION_DAYS === 0 || e.AUDIT_ARCHIVE_DIR, {
    message: "AUDIT_ARCHIVE_DIR is required when AUDIT_RETENTION_DAYS is set (rows are archived before they are dropped)",
    path: ["AUDIT_ARCHIVE_DIR"],
  });
export type AggregatorEnv = z.infer<typeof AggregatorEnv>;
export const loadEnv = (env: NodeJS.ProcessEnv = process.env): AggregatorEnv => parseEnv(AggregatorEnv, env);

/**
 * How many `ai-usage` jobs the consumer holds at once: each waits, unacknowledged, until its batch
 * commits, so the batches in flight hold `USAGE_BATCH_SIZE` each and one more batch can fill
 * meanwhile (acknowledgements pipelined with the next batch's intake).
 */
export const usageConsumerSlots = (env: Pick<AggregatorEnv, "USAGE_BATCH_SIZE" | "USAGE_BATCHES_IN_FLIGHT">): number =>
  env.USAGE_BATCH_SIZE * (env.USAGE_BATCHES_IN_FLIGHT + 1);
