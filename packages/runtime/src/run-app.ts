import { createLogger, initTracing, tracingEnv, type Logger } from "@switchyard/telemetry";
import { logScrubber } from "./log-scrubber";

/** Something running that stops with `close()` (a server, a consumer). */
export interface Closable {
  close(): Promise<void>;
}

export interface App<E extends { LOG_LEVEL: string }> {
  /** The app's name: `service.name` of its spans, its logger's name. */
  name: string;
  /** Parse the env (once; a problem fails the start with every issue listed). */
  loadEnv: () => E;
  /** Start what the app serves and consumes; what it returns is closed (together) on SIGTERM/SIGINT. */
  start: (env: E, ctx: { logger: Logger }) => Promise<Closable | Closable[]>;
}

/**
 * An app's process from start to exit: tracing first (so every span and log line has a provider;
 * OTEL_* are OpenTelemetry's own variables, read by tracingEnv rather than env.ts), the env parsed
 * once, a logger with the PII scrubber, then `start`. SIGTERM or SIGINT closes what it started,
 * flushes the traces and exits 0; exit 1 when the start or the shutdown fails.
 */
export function runApp<E extends { LOG_LEVEL: string }>(app: App<E>): void {
  run(app).catch((err: Error) => {
    process.stderr.write(`${app.name} failed to start: ${err.message}\n`);
    process.exit(1);
  });
}

async function run<E extends { LOG_LEVEL: string }>(app: App<E>): Promise<void> {
  const tracing = initTracing({ serviceName: app.name, ...tracingEnv(process.env) });
  const env = app.loadEnv();
  const logger = createLogger({ name: app.name, level: env.LOG_LEVEL, scrub: logScrubber });
  const started = await app.start(env, { logger });
  const parts = Array.isArray(started) ? started : [started];
  const shutdown = (signal: NodeJS.Signals) => {
    logger.info({ signal }, "shutting down: finishing in-flight work");
    // Every part is closed, even when another fails, before the process exits.
    Promise.allSettled(parts.map((p) => p.close()))
      .then((results) => {
        const failed = results.find((r) => r.status === "rejected");
        if (failed) throw failed.reason;
        return tracing.shutdown();
      })
      .then(
        () => process.exit(0),
        (err: Error) => {
          logger.error({ err }, "shutdown failed");
          process.exit(1);
        },
      );
  };
  process.once("SIGTERM", shutdown);
  process.once("SIGINT", shutdown);
}
