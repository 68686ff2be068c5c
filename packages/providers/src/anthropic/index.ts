import { ProviderHttp } from "../http/provider-http";
import { defineStreamChat } from "../define-stream-chat";
import type { ChatProvider } from "../types";
import { chat } from "./chat";
import { anthropicErrorFromResponse } from "./errors";
import type { AnthropicContext } from "./request";
import { streamChat } from "./stream";

/** Options of {@link createAnthropicProvider}. */
export interface AnthropicProviderOptions {
  /**
   * API origin, optionally with a path prefix (a proxy's); `/v1/messages` is appended, as the
   * official SDK does with its `baseURL`. Default `https://api.anthropic.com`.
   */
  baseUrl?: string;
  /** Sent as `x-api-key`. */
  apiKey: string;
  /** `anthropic-version` header. Default `"2023-06-01"` (the current and only stable version). */
  version?: string;
  /** Name in errors and metrics. Default `"anthropic"`. */
  name?: string;
  /** Time allowed for the response headers (and, when not streaming, between body bytes). Default 60 000 ms. */
  timeoutMs?: number;
  /** A stream with no bytes for this long fails with a `timeout` ("stream stalled"). 0 disables. Default 10 000 ms. */
  streamIdleTimeoutMs?: number;
  /** Keep-alive sockets to the API origin. Default 64. */
  maxConnections?: number;
  /**
   * `max_tokens` sent when the request has no `maxTokens`: the Messages API requires the field.
   * Anthropic bills only the tokens generated, so a generous cap costs nothing by itself; a cut
   * answer ends with finish reason `length`. Default 4096.
   */
  defaultMaxTokens?: number;
  /** Extra headers on every request (e.g. `anthropic-beta`). */
  headers?: Record<string, string>;
}

/** An Anthropic Messages API provider over one keep-alive pool. No embeddings: Anthropic has no embeddings API. */
export interface AnthropicProvider extends ChatProvider {
  /** Closes the connection pool. */
  close(): Promise<void>;
}

/** Creates an adapter for the Anthropic Messages API (`POST /v1/messages`, JSON and SSE). */
export function createAnthropicProvider(opts: AnthropicProviderOptions): AnthropicProvider {
  const name = opts.name ?? "anthropic";
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const http = new ProviderHttp({
    baseUrl: opts.baseUrl ?? "https://api.anthropic.com",
    name,
    timeoutMs,
    maxConnections: opts.maxConnections ?? 64,
    headers: { "x-api-key": opts.apiKey, "anthropic-version": opts.version ?? "2023-06-01", ...opts.headers },
    errorFromResponse: anthropicErrorFromResponse,
  });
  const ctx: AnthropicContext = {
    http,
    timeoutMs,
    streamIdleTimeoutMs: opts.streamIdleTimeoutMs ?? 10_000,
    defaultMaxTokens: opts.defaultMaxTokens ?? 4096,
  };
  return {
    name,
    chat: (req) => chat(ctx, req),
    streamChat: defineStreamChat(name, (req) => streamChat(ctx, req)),
    close: () => http.close(),
  };
}

export { anthropicErrorFromResponse, anthropicErrorFromEvent, kindForErrorType } from "./errors";
export { buildMessagesBody } from "./request";
export { anthropicUnsupportedFields } from "./tools";
