import { ProviderHttp } from "../http/provider-http";
import { defineStreamChat } from "../define-stream-chat";
import type { ChatProvider, EmbeddingModelProvider, EmbeddingProvider } from "../types";
import { chat } from "./chat";
import { createEmbeddings, embed } from "./embeddings";
import { geminiErrorFromResponse } from "./errors";
import type { GeminiContext } from "./request";
import { streamChat } from "./stream";

/** Options of {@link createGeminiProvider}. */
export interface GeminiProviderOptions {
  /**
   * API origin, optionally with a path prefix (a proxy's); `/{apiVersion}/models/…` is appended.
   * Default `https://generativelanguage.googleapis.com`.
   */
  baseUrl?: string;
  /** Sent as `x-goog-api-key` (never in the query string, where it would end up in logs). */
  apiKey: string;
  /** API version path segment. Default `"v1beta"` (what the official SDK uses). */
  apiVersion?: string;
  /** Name in errors and metrics. Default `"gemini"`. */
  name?: string;
  /** Time allowed for the response headers (and, when not streaming, between body bytes). Default 60 000 ms. */
  timeoutMs?: number;
  /** A stream with no bytes for this long fails with a `timeout` ("stream stalled"). 0 disables. Default 10 000 ms. */
  streamIdleTimeoutMs?: number;
  /** Keep-alive sockets to the API origin. Default 64. */
  maxConnections?: number;
  /** Texts per `batchEmbedContents` request. Default 100 (the API's per-request limit). */
  embedBatchSize?: number;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
}

/** A Google Gemini API provider: chat, streaming chat and embeddings over one keep-alive pool. */
export interface GeminiProvider extends ChatProvider, EmbeddingProvider, EmbeddingModelProvider {
  /** Closes the connection pool. */
  close(): Promise<void>;
}

/** Creates an adapter for the Gemini API (`generateContent`, `streamGenerateContent?alt=sse`, `batchEmbedContents`). */
export function createGeminiProvider(opts: GeminiProviderOptions): GeminiProvider {
  const name = opts.name ?? "gemini";
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const http = new ProviderHttp({
    baseUrl: opts.baseUrl ?? "https://generativelanguage.googleapis.com",
    name,
    timeoutMs,
    maxConnections: opts.maxConnections ?? 64,
    headers: { "x-goog-api-key": opts.apiKey, ...opts.headers },
    errorFromResponse: geminiErrorFromResponse,
  });
  const ctx: GeminiContext = {
    http,
    apiVersion: opts.apiVersion ?? "v1beta",
    timeoutMs,
    streamIdleTimeoutMs: opts.streamIdleTimeoutMs ?? 10_000,
    embedBatchSize: Math.max(1, opts.embedBatchSize ?? 100),
  };
  return {
    name,
    chat: (req) => chat(ctx, req),
    streamChat: defineStreamChat(name, (req) => streamChat(ctx, req)),
    embed: (texts, model, embedOpts) => embed(ctx, texts, model, embedOpts),
    createEmbeddings: (req) => createEmbeddings(ctx, req),
    close: () => http.close(),
  };
}

export { geminiErrorFromResponse, geminiRetryAfterMs } from "./errors";
export { buildGenerateContentBody } from "./request";
export { geminiUnsupportedFields } from "./tools";
