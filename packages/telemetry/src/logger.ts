import pino, { type Logger } from "pino";
import { activeTraceIds } from "./tracing";

export type { Logger };

/** Paths never logged: credentials in headers or bodies. */
const REDACT = [
  "authorization",
  "headers.authorization",
  "req.headers.authorization",
  "req.headers.cookie",
  "apiKey",
  "api_key",
  "key",
  "*.apiKey",
  "*.key",
];

/**
 * JSON logs with the service name; `Authorization` and key material redacted. A line written
 * inside a span carries its `trace_id` and `span_id`, so logs and traces join up (callers add
 * `jobId`/`tenantId` themselves).
 */
export function createLogger(opts: { name: string; level?: string; destination?: pino.DestinationStream }): Logger {
  return pino(
    {
      name: opts.name,
      level: opts.level ?? "info",
      redact: { paths: REDACT, censor: "[redacted]" },
      base: { service: opts.name },
      mixin: () => activeTraceIds() ?? {},
    },
    opts.destination,
  );
}
