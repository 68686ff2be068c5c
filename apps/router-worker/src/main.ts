import { logScrubber } from "@switchyard/rag";
import { createLogger, initTracing, tracingEnv } from "@switchyard/telemetry";
import { loadEnv } from "./env";
import { startCompareWorker } from "./compare-worker";
import { startRouterWorker } from "./worker";

async function main(): Promise<void> {
  // First, so every span and log line has a provider. OTEL_* are OpenTelemetry's own variables,
  // read by tracingEnv rather than env.ts.
  const tracing = initTracing({ serviceName: "router-worker", ...tracingEnv(process.env) });
  const env = loadEnv();
  const logger = createLogger({ name: "router-worker", level: env.LOG_LEVEL, scrub: logScrubber });
  const w = await startRouterWorker(env, { logger });
  // Multi-model comparisons: their parents end here once their children (route jobs) have.
  const compare = startCompareWorker(env, { logger, onDequeue: (queue) => w.countDequeue(queue) });
  const shutdown = (signal: string) => {
    logger.info({ signal }, "draining in-flight jobs");
    Promise.all([w.close(), compare.close()]).then(
      () => tracing.shutdown().then(() => process.exit(0)),
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
  process.stderr.write(`router-worker failed to start: ${err.message}\n`);
  process.exit(1);
});
