import type { IncomingHttpHeaders } from "node:http";
import { kindForStatus, parseRetryAfter } from "../http/errors";
import { ProviderError, type ProviderErrorKind } from "../types";

/** The `error` object of Google's `{"error":{code,message,status,details}}` envelope. */
export interface GeminiErrorBody {
  code?: number;
  message?: string;
  status?: string;
  details: unknown[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Reads `{"error": {...}}` out of parsed JSON (a JSON array of one such object too), tolerating anything else. */
export function readGeminiError(json: unknown): GeminiErrorBody | undefined {
  const outer: unknown = Array.isArray(json) ? json[0] : json;
  if (!isRecord(outer) || !isRecord(outer.error)) return undefined;
  const e = outer.error;
  return {
    code: typeof e.code === "number" ? e.code : undefined,
    message: typeof e.message === "string" ? e.message : undefined,
    status: typeof e.status === "string" ? e.status : undefined,
    details: Array.isArray(e.details) ? e.details : [],
  };
}

const STATUS_KINDS: Record<string, ProviderErrorKind> = {
  INVALID_ARGUMENT: "bad_request",
  FAILED_PRECONDITION: "bad_request",
  NOT_FOUND: "bad_request",
  OUT_OF_RANGE: "bad_request",
  UNAUTHENTICATED: "auth",
  PERMISSION_DENIED: "auth",
  RESOURCE_EXHAUSTED: "rate_limited",
  DEADLINE_EXCEEDED: "server_error",
  UNAVAILABLE: "server_error",
  INTERNAL: "server_error",
};

/** True when the details name an invalid API key, which Gemini reports as 400 INVALID_ARGUMENT. */
function isBadKey(body: GeminiErrorBody | undefined): boolean {
  return !!body?.details.some((d) => isRecord(d) && d.reason === "API_KEY_INVALID");
}

/** Parses a protobuf Duration in JSON form (`"47s"`, `"0.5s"`) to milliseconds. */
export function parseDuration(s: unknown): number | undefined {
  if (typeof s !== "string") return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)s\s*$/.exec(s);
  return m ? Math.round(Number(m[1]) * 1000) : undefined;
}

/**
 * Milliseconds to wait before retrying: the `google.rpc.RetryInfo` detail's `retryDelay` (how
 * Gemini signals it), else a `Retry-After`/`retry-after-ms` header (not documented for Gemini,
 * honoured when a proxy adds one), else the "Please retry in 47.17s." hint in the message.
 */
export function geminiRetryAfterMs(body: GeminiErrorBody | undefined, headers: IncomingHttpHeaders): number | undefined {
  for (const d of body?.details ?? []) {
    if (isRecord(d) && typeof d["@type"] === "string" && d["@type"].endsWith("google.rpc.RetryInfo")) {
      const ms = parseDuration(d.retryDelay);
      if (ms !== undefined) return ms;
    }
  }
  const header = parseRetryAfter(headers);
  if (header !== undefined) return header;
  const hint = /retry in (\d+(?:\.\d+)?)\s*s\b/i.exec(body?.message ?? "");
  return hint ? Math.round(Number(hint[1]) * 1000) : undefined;
}

function describe(body: GeminiErrorBody | undefined, fallback: string): string {
  return body?.status ? `${body.status}: ${body.message ?? fallback}` : (body?.message ?? fallback);
}

/**
 * Maps a non-2xx Gemini response: 400 → bad_request (but `API_KEY_INVALID` → auth), 401/403 →
 * auth, 404 → bad_request, 429 RESOURCE_EXHAUSTED → rate_limited with the RetryInfo delay,
 * 5xx (500 INTERNAL, 503 UNAVAILABLE, 504 DEADLINE_EXCEEDED) → server_error.
 */
export function geminiErrorFromResponse(provider: string, status: number, headers: IncomingHttpHeaders, bodyText: string): ProviderError {
  let body: GeminiErrorBody | undefined;
  try {
    body = readGeminiError(JSON.parse(bodyText));
  } catch {
    body = undefined;
  }
  const snippet = bodyText.length > 200 ? `${bodyText.slice(0, 200)}…` : bodyText;
  const kind = isBadKey(body) ? "auth" : kindForStatus(status);
  const retryAfterMs = kind === "rate_limited" || kind === "server_error" ? geminiRetryAfterMs(body, headers) : undefined;
  return new ProviderError(kind, `${provider}: HTTP ${status} ${describe(body, snippet || "(empty body)")}`, { status, provider, retryAfterMs });
}

/** Maps an `{"error": …}` object that arrived with status 200, inside a stream or as its body. */
export function geminiErrorFromPayload(provider: string, body: GeminiErrorBody): ProviderError {
  let kind: ProviderErrorKind = "server_error";
  if (isBadKey(body)) kind = "auth";
  else if (body.code !== undefined && body.code >= 400) kind = kindForStatus(body.code);
  else if (body.status !== undefined) kind = STATUS_KINDS[body.status] ?? "server_error";
  const retryAfterMs = kind === "rate_limited" || kind === "server_error" ? geminiRetryAfterMs(body, {}) : undefined;
  return new ProviderError(kind, `${provider}: upstream sent an error in a 200 response: ${describe(body, "unknown error")}`, {
    provider,
    status: body.code,
    retryAfterMs,
  });
}
