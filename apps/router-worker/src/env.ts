import { envBoolean, envInt, envString, parseEnv } from "@switchyard/contracts";
import { processEnvFields } from "@switchyard/runtime";
import { z } from "zod";
import { parseFaultPoints } from "./fault-points";

export const RouterEnv = z.object({
  ...processEnvFields,
  METRICS_PORT: envInt(9464, 0),
  OPENAI_BASE_URL: envString(z.string().url().default("https://api.openai.com/v1")),
  OPENAI_API_KEY: z.string().default(""),
  ANTHROPIC_BASE_URL: envString(z.string().url().default("https://api.anthropic.com")),
  ANTHROPIC_API_KEY: z.string().default(""),
  GEMINI_BASE_URL: envString(z.string().url().default("https://generativelanguage.googleapis.com")),
  GEMINI_API_KEY: z.string().default(""),
  ROUTER_CONCURRENCY: envInt(32, 1),
  /** How long a worker holds a job's lock; a killed worker's job is picked up again after about this long. */
  WORKER_LOCK_MS: envInt(30_000, 1000),
  MAX_STARTED_ATTEMPTS: envInt(3, 1),
  JOB_RETENTION_SECONDS: envInt(24 * 3600, 1),
  SHUTDOWN_GRACE_MS: envInt(25_000, 0),
  STREAM_STALL_MS: envInt(10_000, 100),
  /** Bound on a provider's answer headers and a non-stream body. */
  PROVIDER_TIMEOUT_MS: envInt(60_000, 100),
  BREAKER_WINDOW_MS: envInt(30_000, 100),
  BREAKER_MIN_VOLUME: envInt(10, 1),
  BREAKER_ERROR_RATE: envString(z.coerce.number().gt(0).max(1).default(0.5)),
  BREAKER_OPEN_MS: envInt(15_000, 100),
  /** How long a job may wait for an unavailable upstream (open breakers, 429/5xx, dead connections) before it fails. */
  MAX_UPSTREAM_WAIT_MS: envInt(300_000, 0),
  /** Fair scheduling across tenants (on by default; the gateways read the same switch): this process runs a fair dispatcher. */
  FAIR_SCHEDULING: envBoolean(true),
  /** Jobs BullMQ's `ai-route` may hold waiting before the rest waits in the fair lists; 0 (default): the registered workers' total concurrency. */
  FAIR_DISPATCH_AHEAD: envInt(0, 0),
  /** An entry a dispatcher took but did not hand to BullMQ within this long (its process died) is handed on by another. */
  FAIR_RECOVER_MS: envInt(5000, 100),
  /**
   * Crash tests only: `point:N,…` kills the worker with SIGKILL the Nth time it reaches each named
   * point (see fault-points.ts). Unset in production: the hook is then a no-op.
   */
  SWITCHYARD_FAULT_POINTS: envString(z.string().default("")).transform((spec, ctx) => {
    try {
      return parseFaultPoints(spec);
    } catch (err) {
      ctx.addIssue({ code: "custom", message: (err as Error).message });
      return z.NEVER;
    }
  }),
});
export type RouterEnv = z.infer<typeof RouterEnv>;
export const loadEnv = (env: NodeJS.ProcessEnv = process.env): RouterEnv => parseEnv(RouterEnv, env);
