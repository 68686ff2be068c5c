import type { IncomingHttpHeaders } from "node:http";
import { ProviderError, isProviderError, type ProviderErrorKind } from "../types";

/** The `{"error": {...}}` body OpenAI-compatible APIs send, before or inside a stream. */
export interface OpenAIErrorBody {
  message?: string;
  type?: string;
  code?: string | number | null;
  param?: string | null;
}

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

/** Reads `{"error": {...}}` (or vLLM-style `{"message": ...}`) out of parsed JSON, tolerating anything else. */
export function readErrorObject(json: unknown): OpenAIErrorBody | undefined {
  if (typeof json !== "object" || json === null) return undefined;
  const inner = "error" in json ? json.error : json;
  if (typeof inner === "string") return { message: inner };
  if (typeof inner !== "object" || inner === null) return undefined;
  const o = inner as Record<string, unknown>;
  return {
    message: typeof o.message === "string" ? o.message : undefined,
    type: typeof o.type === "string" ? o.type : undefined,
    code: typeof o.code === "string" || typeof o.code === "number" ? o.code : null,
    param: typeof o.param === "string" ? o.param : null,
  };
}

function readErrorBody(text: string): OpenAIErrorBody | undefined {
  try {
    return readErrorObject(JSON.parse(text));
  } catch {
    return undefined;
  }
}

function describe(body: OpenAIErrorBody | undefined, fallback: string): string {
  const label = body?.code ?? body?.type;
  const message = body?.message ?? fallback;
  return label === undefined || label === null ? message : `${label}: ${message}`;
}

/** Maps a non-2xx response to a ProviderError (429 carries its retry delay). */
export function errorFromResponse(provider: string, status: number, headers: IncomingHttpHeaders, bodyText: string): ProviderError {
  const body = readErrorBody(bodyText);
  const snippet = bodyText.length > 200 ? `${bodyText.slice(0, 200)}…` : bodyText;
  const kind = kindForStatus(status);
  const retryAfterMs = kind === "rate_limited" || kind === "server_error" ? parseRetryAfter(headers) : undefined;
  return new ProviderError(kind, `${provider}: HTTP ${status} ${describe(body, snippet || "(empty body)")}`, { status, provider, retryAfterMs });
}

/** Maps an `{"error": ...}` object that arrived with status 200 (inside a stream, or a proxy's JSON body). */
export function errorFromStreamPayload(provider: string, payload: unknown): ProviderError {
  const body = readErrorObject({ error: payload });
  const label = `${body?.type ?? ""} ${body?.code ?? ""}`.toLowerCase();
  // Some compatible servers (vLLM, LiteLLM) put the HTTP status in `code`.
  const numeric = typeof body?.code === "number" ? body.code : undefined;
  let kind: ProviderErrorKind = numeric !== undefined ? kindForStatus(numeric) : "server_error";
  if (label.includes("rate_limit")) kind = "rate_limited";
  else if (label.includes("invalid_request")) kind = "bad_request";
  return new ProviderError(kind, `${provider}: upstream sent an error in a 200 response: ${describe(body, "unknown error")}`, { provider, status: numeric });
}

const CONNECTION_CODES = new Set([
  "ECONNREFUSED", "ECONNRESET", "EPIPE", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT",
  "UND_ERR_SOCKET", "UND_ERR_CLOSED", "UND_ERR_DESTROYED", "UND_ERR_CONNECT_TIMEOUT", "UND_ERR_ABORTED",
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
  if (code !== undefined && CONNECTION_CODES.has(code)) return new ProviderError("connection", `${provider}: cannot reach upstream (${code}: ${detail})`, { provider, cause: err });
  // Unknown failures are still reported as connection problems so the router can fall back;
  // the original error stays attached as `cause`.
  return new ProviderError("connection", `${provider}: request failed (${detail})`, { provider, cause: err });
}
