import type { IncomingHttpHeaders } from "node:http";
import { kindForStatus, parseRetryAfter } from "../http/errors";
import { ProviderError, type ProviderErrorKind } from "../types";

/** The `error` object of Anthropic's `{"type":"error","error":{type,message},"request_id"}` body. */
export interface AnthropicErrorBody {
  type?: string;
  message?: string;
  requestId?: string;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Reads Anthropic's error envelope (or a bare `{type,message}` error object), tolerating anything else. */
export function readAnthropicError(json: unknown): AnthropicErrorBody | undefined {
  if (!isRecord(json)) return undefined;
  const inner = isRecord(json.error) ? json.error : json;
  const out: AnthropicErrorBody = {
    type: typeof inner.type === "string" && inner.type !== "error" ? inner.type : undefined,
    message: typeof inner.message === "string" ? inner.message : undefined,
    requestId: typeof json.request_id === "string" ? json.request_id : undefined,
  };
  return out.type === undefined && out.message === undefined ? undefined : out;
}

/**
 * Error kind for an Anthropic `error.type` received inside a stream, where there is no HTTP
 * status: `overloaded_error` (the streamed form of HTTP 529) and `api_error` are server errors.
 */
export function kindForErrorType(type: string | undefined): ProviderErrorKind {
  switch (type) {
    case "invalid_request_error":
    case "not_found_error":
    case "request_too_large":
      return "bad_request";
    case "authentication_error":
    case "permission_error":
    case "billing_error": // an account problem: retrying cannot help, another provider can
      return "auth";
    case "rate_limit_error":
      return "rate_limited";
    case "timeout_error":
      return "timeout";
    default: // overloaded_error, api_error and anything new
      return "server_error";
  }
}

function describe(body: AnthropicErrorBody | undefined, fallback: string): string {
  const text = body?.type ? `${body.type}: ${body.message ?? fallback}` : (body?.message ?? fallback);
  return body?.requestId ? `${text} (request_id ${body.requestId})` : text;
}

/**
 * Maps a non-2xx Messages API response: 400/404/413 → bad_request, 401/403 → auth, 429 →
 * rate_limited, 5xx and 529 (overloaded) → server_error; `retry-after-ms`/`retry-after` become
 * `retryAfterMs` on 429 and 5xx.
 */
export function anthropicErrorFromResponse(provider: string, status: number, headers: IncomingHttpHeaders, bodyText: string): ProviderError {
  let body: AnthropicErrorBody | undefined;
  try {
    body = readAnthropicError(JSON.parse(bodyText));
  } catch {
    body = undefined;
  }
  const requestId = headers["request-id"];
  if (body && body.requestId === undefined && typeof requestId === "string") body.requestId = requestId;
  const snippet = bodyText.length > 200 ? `${bodyText.slice(0, 200)}…` : bodyText;
  const kind = kindForStatus(status);
  const retryAfterMs = kind === "rate_limited" || kind === "server_error" ? parseRetryAfter(headers) : undefined;
  return new ProviderError(kind, `${provider}: HTTP ${status} ${describe(body, snippet || "(empty body)")}`, { status, provider, retryAfterMs });
}

/** Maps an `event: error` payload that arrived after the 200 (e.g. `overloaded_error`). */
export function anthropicErrorFromEvent(provider: string, payload: unknown): ProviderError {
  const body = readAnthropicError(payload);
  return new ProviderError(kindForErrorType(body?.type), `${provider}: upstream sent an error event mid-stream: ${describe(body, "unknown error")}`, {
    provider,
  });
}
