import { envInt, envString, parseEnv } from "@switchyard/contracts";
import { processEnvFields } from "@switchyard/runtime";
import { z } from "zod";

export const RagEnv = z.object({
  ...processEnvFields,
  METRICS_PORT: envInt(9466, 0),
  DATABASE_URL: z.string().url("DATABASE_URL must be a postgres:// URL"),
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
