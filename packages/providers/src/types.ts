import type { ChatMessage } from "@switchyard/contracts";

/** One call to a chat model. `model` is the provider's upstream model name. */
export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  maxTokens?: number;
  temperature?: number;
  /** End-user id, passed on where the API has a field for it. */
  user?: string;
  /** Aborting closes the upstream connection. */
  signal?: AbortSignal;
}

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  cachedTokens?: number;
}

/** What a streaming call yields: text deltas, then (where the API reports it) usage and a finish reason. */
export type ChatChunk =
  | { type: "delta"; text: string }
  | { type: "usage"; usage: TokenUsage }
  | { type: "finish"; finishReason: string };

export interface ChatResult {
  text: string;
  finishReason: string;
  /** Null when the provider did not report usage. */
  usage: TokenUsage | null;
}

/** The small interface the router depends on; every adapter implements it. */
export interface ChatProvider {
  readonly name: string;
  chat(req: ChatRequest): Promise<ChatResult>;
  streamChat(req: ChatRequest): AsyncIterable<ChatChunk>;
}

/** Text embeddings, for providers that offer them (OpenAI-compatible APIs do; Anthropic does not). */
export interface EmbeddingProvider {
  readonly name: string;
  /** One vector per input text, in input order. `model` is the provider's upstream model name. */
  embed(texts: string[], model: string, opts?: { signal?: AbortSignal }): Promise<number[][]>;
}

export type ProviderErrorKind =
  | "bad_request" // 400/404/422: never retried, never counts against a breaker
  | "auth" // 401/403: never retried
  | "rate_limited" // 429
  | "server_error" // 5xx, 529, Anthropic overloaded_error
  | "timeout"
  | "connection" // refused, reset, cut mid-stream
  | "malformed" // a chunk or body that does not parse
  | "aborted"; // our own AbortSignal fired

/**
 * A provider call failed. `retryable` says whether trying again (or another model) can help;
 * `countsForBreaker` is true only for 429, 5xx, timeouts and connection errors.
 */
export class ProviderError extends Error {
  override readonly name = "ProviderError";
  readonly retryable: boolean;
  readonly countsForBreaker: boolean;
  constructor(
    readonly kind: ProviderErrorKind,
    message: string,
    readonly opts: { status?: number; retryAfterMs?: number; provider?: string; cause?: unknown } = {},
  ) {
    super(message, { cause: opts.cause });
    this.retryable = ["rate_limited", "server_error", "timeout", "connection", "malformed"].includes(kind);
    this.countsForBreaker = ["rate_limited", "server_error", "timeout", "connection"].includes(kind);
  }
  get status(): number | undefined {
    return this.opts.status;
  }
  get retryAfterMs(): number | undefined {
    return this.opts.retryAfterMs;
  }
}

export function isProviderError(err: unknown): err is ProviderError {
  return typeof err === "object" && err !== null && (err as { name?: unknown }).name === "ProviderError" && "kind" in err;
}
