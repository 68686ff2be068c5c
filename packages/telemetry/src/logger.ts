import pino, { type Logger } from "pino";
import { activeContext } from "./async-context";
import { logFieldsOf } from "./log-context";
import { traceIdsOf } from "./tracing";

export type { Logger };

/** Removes personal data from log lines (fields and message text); apps pass the PII redactor. */
export interface LogScrubber {
  object(o: Record<string, unknown>): Record<string, unknown>;
  text(s: string): string;
}

/** Paths never logged: credentials in headers or bodies. */
const REDACT = ["authorization", "headers.authorization", "req.headers.authorization", "req.headers.cookie", "apiKey", "api_key", "key", "*.apiKey", "*.key"];

/**
 * JSON logs with the service name; `Authorization` and key material redacted. A line written
 * inside a span carries its `trace_id` and `span_id`, so logs and traces join up, and a line
 * written while a request or job is handled carries its `jobId`, `tenantId` (`withLogContext`).
 */
export function createLogger(opts: { name: string; level?: string; destination?: pino.DestinationStream; scrub?: LogScrubber }): Logger {
  const scrub = opts.scrub;
  return pino(
    {
      name: opts.name,
      level: opts.level ?? "info",
      redact: { paths: REDACT, censor: "[redacted]" },
      base: { service: opts.name },
      // One read of the active context gives both the log fields and the span.
      mixin: () => {
        const ctx = activeContext();
        return { ...logFieldsOf(ctx), ...traceIdsOf(ctx) };
      },
      ...(scrub
        ? {
            formatters: { log: (o: Record<string, unknown>) => scrub.object(o) },
            hooks: {
              logMethod(this: Logger, args: Parameters<pino.LogFn>, method: pino.LogFn) {
                // The message text (and any format arguments) go through the same scrubber as fields.
                const scrubbed = args.map((a) => (typeof a === "string" ? scrub.text(a) : a)) as Parameters<pino.LogFn>;
                return method.apply(this, scrubbed);
              },
            },
          }
        : {}),
    },
    opts.destination,
  );
}
