import { envInt, envString, parseEnv } from "@switchyard/contracts";
import { z } from "zod";

export const RagEnv = z.object({
  METRICS_PORT: envInt(9466, 0),
  DATABASE_URL: z.string().url("DATABASE_URL must be a postgres:// URL"),
  REDIS_URL: envString(z.string().default("redis://127.0.0.1:6379")),
  SWITCHYARD_PREFIX: envString(z.string().regex(/^[A-Za-z0-9_-]+$/).default("sy")),
  LOG_LEVEL: envString(z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info")),
});
export type RagEnv = z.infer<typeof RagEnv>;
export const loadEnv = (env: NodeJS.ProcessEnv = process.env): RagEnv => parseEnv(RagEnv, env);
