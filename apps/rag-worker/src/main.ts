import { logScrubber } from "@switchyard/rag";
import { createLogger, initTracing, tracingEnv } from "@switchyard/telemetry";
import { loadEnv } from "./env";
import { startRagWorker } from "./rag-worker";

async function main(): Promise<void> {
  // First, so every span and log line has a provider. OTEL_* are OpenTelemetry's own variables,
  // read by tracingEnv rather than env.ts.
  const tracing = initTracing({ serviceName: "rag-worker", ...tracingEnv(process.env) });
  const env = loadEnv();
  const logger = createLogger({ name: "rag-worker", level: env.LOG_LEVEL, scrub: logScrubber });
  const w = await startRagWorker(env, { logger });
  const shutdown = (signal: string) => {
    logger.info({ signal }, "finishing in-flight retrievals");
    w.close()
      .then(() => tracing.shutdown())
      .then(
        () => process.exit(0),
        (err: Error) => {
          logger.error({ err }, "shutdown failed");
          process.exit(1);
        },
      );
  };
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  process.once("SIGINT", () => shutdown("SIGINT"));
}

main().catch((err: Error) => {
  process.stderr.write(`rag-worker failed to start: ${err.message}\n`);
  process.exit(1);
});
