import type { IncomingHttpHeaders } from "node:http";
import { ProviderError, isProviderError, type ProviderErrorKind } from "../types";

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return (Array.isArray(v) ? v[0] : v)?.trim() || undefined;
}

/**
 * Milliseconds to wait before retrying, from `retry-after-ms` (read first, as the official SDK
 * does) or `Retry-After` (delay-seconds or an HTTP date). Undefined when absent or unusable.
 */
export function parseRetryAfter(headers: IncomingHttpHeaders, now: number = Date.now()): number | undefined {
  const ms = headerValue(headers, "retry-after-ms");
  if (ms !== undefined) {
    const n = Number(ms);
    if (Number.isFinite(n) && n >= 0) return Math.round(n);
  }
  const ra = headerValue(headers, "retry-after");
  if (ra === undefined) return undefined;
  const seconds = Number(ra);
  if (Number.isFinite(seconds)) return seconds >= 0 ? Math.round(seconds * 1000) : undefined;
  const date = Date.parse(ra);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Error kind for an HTTP status received before the stream started. */
export function kindForStatus(status: number): ProviderErrorKind {
  if (status === 401 || status === 403) return "auth";
  if (status === 429) return "rate_limited";
  if (status === 408) return "timeout";
  // 409 is what OpenAI returns for transient lock conflicts; the SDK retries it too.
  if (status === 409 || status >= 500) return "server_error";
  return "bad_request";
}

const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ETIMEDOUT",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_DESTROYED",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_ABORTED",
  "UND_ERR_RES_CONTENT_LENGTH_MISMATCH",
]);

/**
 * Maps anything thrown while calling the provider to a ProviderError. Our own abort wins over
 * whatever error the abort produced; `phase: "body"` marks errors after the response started,
 * where a closed socket means the upstream cut the answer short.
 */
export function toProviderError(err: unknown, ctx: { provider: string; signal?: AbortSignal; phase: "request" | "body" }): ProviderError {
  if (isProviderError(err)) return err;
  const { provider } = ctx;
  if (ctx.signal?.aborted) return new ProviderError("aborted", `${provider}: request aborted`, { provider, cause: err });
  const code = typeof err === "object" && err !== null && "code" in err && typeof err.code === "string" ? err.code : undefined;
  const detail = err instanceof Error ? err.message : String(err);
  if (code === "UND_ERR_HEADERS_TIMEOUT") return new ProviderError("timeout", `${provider}: no response headers in time (${detail})`, { provider, cause: err });
  if (code === "UND_ERR_BODY_TIMEOUT") return new ProviderError("timeout", `${provider}: response body timed out (${detail})`, { provider, cause: err });
  if (ctx.phase === "body") return new ProviderError("connection", `${provider}: upstream cut the response (${code ?? detail})`, { provider, cause: err });
  if (code !== undefined && CONNECTION_CODES.has(code))
    return new ProviderError("connection", `${provider}: cannot reach upstream (${code}: ${detail})`, { provider, cause: err });
  // Unknown failures are still reported as connection problems so the router can fall back;
  // the original error stays attached as `cause`.
  return new ProviderError("connection", `${provider}: request failed (${detail})`, { provider, cause: err });
}
