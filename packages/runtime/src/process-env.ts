import { envString } from "@switchyard/contracts";
import { z } from "zod";

/**
 * The settings every app reads under the same names and defaults; each app's env.ts spreads them
 * into its schema (`z.object({ ...processEnvFields, … })`) next to its own.
 */
export const processEnvFields = {
  REDIS_URL: envString(z.string().default("redis://127.0.0.1:6379")),
  SWITCHYARD_PREFIX: envString(
    z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/)
      .default("sy"),
  ),
  LOG_LEVEL: envString(z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info")),
  /** The model catalog (routing, prices, and the per-model series on /metrics); the bundled one when unset. */
  MODEL_CATALOG_PATH: envString(z.string().optional()),
};

/** What a process reads of its app's env: the shared settings, and the database when the app has one. */
export type ProcessEnv = z.infer<z.ZodObject<typeof processEnvFields>> & { DATABASE_URL?: string };
