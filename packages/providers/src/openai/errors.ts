import type { IncomingHttpHeaders } from "node:http";
import { kindForStatus, parseRetryAfter } from "../http/errors";
import { ProviderError, type ProviderErrorKind } from "../types";

/** The `{"error": {...}}` body OpenAI-compatible APIs send, before or inside a stream. */
export interface OpenAIErrorBody {
  message?: string;
  type?: string;
  code?: string | number | null;
  param?: string | null;
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
