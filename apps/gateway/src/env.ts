import { envBoolean, envInt, envString, parseEnv, parseFaultSpec } from "@switchyard/contracts";
import { processEnvFields } from "@switchyard/runtime";
import { z } from "zod";

/** Where a crash test can kill the gateway: `job.admitted` lies between the admission script (job record, reservation) and the BullMQ add. */
export const GATEWAY_FAULT_POINTS = ["job.admitted"] as const;
export type GatewayFaultPoint = (typeof GATEWAY_FAULT_POINTS)[number];

export const GatewayEnv = z
  .object({
    ...processEnvFields,
    PORT: envInt(8080, 0),
    HOST: z.string().default("0.0.0.0"),
    DATABASE_URL: z.string().url("DATABASE_URL must be a postgres:// URL"),
    IDEMPOTENCY_TTL_SECONDS: envInt(24 * 3600, 1),
    JOB_RETENTION_SECONDS: envInt(24 * 3600, 1),
    SSE_HEARTBEAT_MS: envInt(15_000, 100),
    /** Bytes a job-events stream may have waiting for a slow client before it is cut (the client resumes with Last-Event-ID). */
    SSE_MAX_BUFFERED_BYTES: envInt(8 * 1024 * 1024, 65_536),
    /** Open SSE connections on this gateway process at which one `warn` line is logged (default 150). */
    SSE_WARN_CONNECTIONS: envInt(150, 1),
    /** Open SSE connections on this gateway process at which one `error` line (severity critical) is logged (default 200); at least SSE_WARN_CONNECTIONS. */
    SSE_CRITICAL_CONNECTIONS: envInt(200, 1),
    BODY_LIMIT: z.string().default("1mb"),
    SHUTDOWN_GRACE_MS: envInt(10_000, 0),
    TRUST_PROXY: envBoolean(false),
    /** Run the Batch API's batch runner in this gateway (state in Postgres, leased per batch: any number of gateways may run it). */
    BATCH_RUNNER_ENABLED: envBoolean(true),
    /**
     * Fair scheduling across tenants in front of `ai-route` (on by default): off is plain BullMQ
     * priority/FIFO order. The router-workers read the same switch.
     */
    FAIR_SCHEDULING: envBoolean(true),
    /** Jobs BullMQ's `ai-route` may hold waiting before the rest waits in the fair lists; 0 (default): the registered workers' total concurrency. */
    FAIR_DISPATCH_AHEAD: envInt(0, 0),
    /** Pause between the batch runner's rounds when no batch needs work. */
    BATCH_POLL_MS: envInt(1000, 10),
    /** Most batch lines unfinished at once across all running batches (the batch runner's ceiling; issue 18). */
    BATCH_MAX_IN_FLIGHT: envInt(32, 1),
    /** The floor the allowance halves down to under interactive pressure: a batch always moves. */
    BATCH_MIN_IN_FLIGHT: envInt(2, 1),
    /** Adapt the allowance to interactive pressure (AIMD: halve under pressure, +1 per step when idle); off: always BATCH_MAX_IN_FLIGHT. */
    BATCH_ADAPTIVE: envBoolean(true),
    /** How often the allowance adapts, ms. */
    BATCH_ADAPT_MS: envInt(250, 10),
    /** This gateway's event-loop delay p99 (ms) above which the batch runner backs off. */
    BATCH_PRESSURE_LAG_MS: envInt(50, 1),
    /** Where `/v1/files` bytes live: `postgres` (`file_chunks` rows, the embedded default) or `s3` (an S3-compatible bucket, S3_*). */
    FILE_STORE: envString(z.enum(["postgres", "s3"]).default("postgres")),
    /** FILE_STORE=s3: the S3 API's base URL (AWS, MinIO, R2...; requests are path-style and signed with SigV4). */
    S3_ENDPOINT: envString(z.string().url("S3_ENDPOINT must be a URL").optional()),
    S3_BUCKET: envString(z.string().optional()),
    S3_REGION: envString(z.string().default("us-east-1")),
    S3_ACCESS_KEY_ID: envString(z.string().optional()),
    S3_SECRET_ACCESS_KEY: envString(z.string().optional()),
    /** Query embeddings for search; must match the rag-worker's settings. */
    EMBEDDINGS_PROVIDER: envString(z.enum(["local", "openai"]).default("local")),
    EMBEDDINGS_MODEL: envString(z.string().optional()),
    EMBEDDINGS_DIMENSIONS: envString(z.coerce.number().int().positive().optional()),
    OPENAI_BASE_URL: envString(z.string().url().default("https://api.openai.com/v1")),
    OPENAI_API_KEY: z.string().default(""),
    /** `POST /v1/embeddings` on `gemini` catalog models; without a key they are simulated. */
    GEMINI_BASE_URL: envString(z.string().url().default("https://generativelanguage.googleapis.com")),
    GEMINI_API_KEY: z.string().default(""),
    /**
     * Anthropic, as the router-worker is configured: the gateway never calls it, but judges with it
     * which request fields an `anthropic` catalog model can honour (a 400 instead of a failed job).
     */
    ANTHROPIC_BASE_URL: envString(z.string().url().default("https://api.anthropic.com")),
    ANTHROPIC_API_KEY: z.string().default(""),
    /** Bound on one `POST /v1/embeddings` provider call, all of it (default 30 000 ms). */
    EMBEDDINGS_TIMEOUT_MS: envInt(30_000, 100),
    /**
     * Crash tests only: `point:N,…` kills the gateway with SIGKILL the Nth time it reaches each
     * named point (`GATEWAY_FAULT_POINTS`). Unset in production: the hook is then a no-op.
     */
    SWITCHYARD_FAULT_POINTS: envString(z.string().default("")).transform((spec, ctx) => {
      try {
        return parseFaultSpec(spec, GATEWAY_FAULT_POINTS);
      } catch (err) {
        ctx.addIssue({ code: "custom", message: (err as Error).message });
        return z.NEVER;
      }
    }),
  })
  .superRefine((e, ctx) => {
    if (e.FILE_STORE === "s3")
      for (const k of ["S3_ENDPOINT", "S3_BUCKET", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY"] as const)
        if (!e[k]) ctx.addIssue({ code: "custom", path: [k], message: `required when FILE_STORE=s3` });
    if (e.SSE_CRITICAL_CONNECTIONS < e.SSE_WARN_CONNECTIONS) {
      ctx.addIssue({
        code: "custom",
        path: ["SSE_CRITICAL_CONNECTIONS"],
        message: `must be at least SSE_WARN_CONNECTIONS (critical ${e.SSE_CRITICAL_CONNECTIONS} < warn ${e.SSE_WARN_CONNECTIONS})`,
      });
    }
  });
export type GatewayEnv = z.infer<typeof GatewayEnv>;

export const loadEnv = (env: NodeJS.ProcessEnv = process.env): GatewayEnv => parseEnv(GatewayEnv, env);
