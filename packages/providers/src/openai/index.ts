import { defineStreamChat } from "../define-stream-chat";
import type { ChatProvider, EmbeddingModelProvider, EmbeddingProvider } from "../types";
import { chat, type MaxTokensField, type OpenAIContext } from "./chat";
import { createEmbeddings, embed } from "./embeddings";
import { OpenAIHttp } from "./http";
import { streamChat } from "./stream";

/** Options of {@link createOpenAIProvider}. */
export interface OpenAIProviderOptions {
  /**
   * API base URL including its version prefix, exactly like the official SDK's
   * `OPENAI_BASE_URL`: `https://api.openai.com/v1`, `http://127.0.0.1:11434/v1` (Ollama),
   * `https://api.groq.com/openai/v1`. A trailing slash is ignored; `/v1` is NOT added, because
   * compatible servers mount the API under different prefixes. A query string is kept.
   */
  baseUrl: string;
  apiKey: string;
  /** Name in errors and metrics. Default `"openai"`. */
  name?: string;
  /** Time allowed for the response headers (and, when not streaming, between body bytes). Default 60 000 ms. */
  timeoutMs?: number;
  /** Keep-alive sockets to the base URL's origin. Default 64. */
  maxConnections?: number;
  /** A stream with no bytes for this long fails with a `timeout` ("stream stalled"). 0 disables. Default 10 000 ms. */
  streamIdleTimeoutMs?: number;
  /**
   * Field that carries `maxTokens`. Default `"max_tokens"`: every OpenAI-compatible server
   * (vLLM, Ollama, llama.cpp, Groq, OpenRouter) and the non-reasoning OpenAI models accept it;
   * set `"max_completion_tokens"` for OpenAI o-series/reasoning models, which reject `max_tokens`.
   */
  maxTokensField?: MaxTokensField;
  /** Extra headers on every request (e.g. `OpenAI-Organization`, `OpenAI-Project`). */
  headers?: Record<string, string>;
}

/** An OpenAI-compatible provider: chat, streaming chat and embeddings over one keep-alive pool. */
export interface OpenAIProvider extends ChatProvider, EmbeddingProvider, EmbeddingModelProvider {
  /** Closes the connection pool. */
  close(): Promise<void>;
}

/** Creates an adapter for any OpenAI-compatible Chat Completions API. */
export function createOpenAIProvider(opts: OpenAIProviderOptions): OpenAIProvider {
  const name = opts.name ?? "openai";
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const http = new OpenAIHttp({
    baseUrl: opts.baseUrl,
    apiKey: opts.apiKey,
    name,
    timeoutMs,
    maxConnections: opts.maxConnections ?? 64,
    headers: opts.headers,
  });
  const ctx: OpenAIContext = {
    http,
    timeoutMs,
    streamIdleTimeoutMs: opts.streamIdleTimeoutMs ?? 10_000,
    maxTokensField: opts.maxTokensField ?? "max_tokens",
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

export type { MaxTokensField } from "./chat";
export { parseRetryAfter, kindForStatus, toProviderError } from "../http/errors";
export { SseDecoder, type SseEvent } from "../http/sse";
export { openaiUnsupportedFields, openaiMessages } from "./tools";
