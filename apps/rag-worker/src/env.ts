import { envInt, envString, parseEnv } from "@switchyard/contracts";
import { z } from "zod";

export const RagEnv = z.object({
  METRICS_PORT: envInt(9466, 0),
  DATABASE_URL: z.string().url("DATABASE_URL must be a postgres:// URL"),
  REDIS_URL: envString(z.string().default("redis://127.0.0.1:6379")),
  SWITCHYARD_PREFIX: envString(z.string().regex(/^[A-Za-z0-9_-]+$/).default("sy")),
  LOG_LEVEL: envString(z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info")),
  /** The model catalog (for the per-model breaker and cost series on /metrics); the bundled one when unset. */
  MODEL_CATALOG_PATH: envString(z.string().optional()),
  RAG_CONCURRENCY: envInt(16, 1),
  INDEX_CONCURRENCY: envInt(4, 1),
  JOB_RETENTION_SECONDS: envInt(24 * 3600, 1),
  /** `local` (built in, no network) or `openai` (OpenAI-compatible /v1/embeddings). */
  EMBEDDINGS_PROVIDER: envString(z.enum(["local", "openai"]).default("local")),
  EMBEDDINGS_MODEL: envString(z.string().optional()),
  EMBEDDINGS_DIMENSIONS: envString(z.coerce.number().int().positive().optional()),
  OPENAI_BASE_URL: envString(z.string().url().default("https://api.openai.com/v1")),
  OPENAI_API_KEY: z.string().default(""),
});
export type RagEnv = z.infer<typeof RagEnv>;
export const loadEnv = (env: NodeJS.ProcessEnv = process.env): RagEnv => parseEnv(RagEnv, env);
