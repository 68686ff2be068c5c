import pino, { type Logger } from "pino";

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

/** JSON logs with the service name; `Authorization` and key material redacted. */
export function createLogger(opts: { name: string; level?: string; destination?: pino.DestinationStream }): Logger {
  return pino(
    { name: opts.name, level: opts.level ?? "info", redact: { paths: REDACT, censor: "[redacted]" }, base: { service: opts.name } },
    opts.destination,
  );
}
