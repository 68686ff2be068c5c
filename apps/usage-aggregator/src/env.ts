import { envInt, envString, parseEnv } from "@switchyard/contracts";
import { z } from "zod";

export const AggregatorEnv = z.object({
  METRICS_PORT: envInt(9465, 0),
  DATABASE_URL: z.string().url("DATABASE_URL must be a postgres:// URL"),
  REDIS_URL: envString(z.string().default("redis://127.0.0.1:6379")),
  SWITCHYARD_PREFIX: envString(z.string().regex(/^[A-Za-z0-9_-]+$/).default("sy")),
  LOG_LEVEL: envString(z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info")),
  /** Most usage events written in one transaction. */
  USAGE_BATCH_SIZE: envInt(200, 1),
  /** Longest an event waits for its batch to fill. */
  USAGE_BATCH_WAIT_MS: envInt(50, 0),
  WORKER_LOCK_MS: envInt(30_000, 1000),
  /** Jobs queued or running longer than this are failed as stuck. */
  STUCK_JOB_MS: envInt(600_000, 1000),
  /** Months of usage rows kept; older monthly partitions are dropped. */
  USAGE_RETENTION_MONTHS: envInt(13, 1),
  HOUSEKEEPING_EVERY_MS: envInt(60_000, 1000),
  JOB_RETENTION_SECONDS: envInt(24 * 3600, 1),
  SHUTDOWN_GRACE_MS: envInt(25_000, 0),
});
export type AggregatorEnv = z.infer<typeof AggregatorEnv>;
export const loadEnv = (env: NodeJS.ProcessEnv = process.env): AggregatorEnv => parseEnv(AggregatorEnv, env);
