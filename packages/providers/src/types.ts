import type { AgentChatMessage, ChatMessage, ModelEntry, ResponseFormat, ToolCall, ToolChoice, ToolDefinition } from "@switchyard/contracts";

/** What every chat call may carry. `model` is the provider's upstream model name. */
export interface ChatRequestBase {
  model: string;
  /** Today's ChatMessages, or agent turns: assistant `tool_calls`, `tool` results, `developer` messages. */
  messages: ReadonlyArray<ChatMessage | AgentChatMessage>;
  maxTokens?: number;
  temperature?: number;
  /** End-user id, passed on where the API has a field for it. */
  user?: string;
  /** Stop sequences (OpenAI `stop`, Anthropic `stop_sequences`, Gemini `stopSequences`). */
  stop?: string[];
  seed?: number;
  /** Text (the default), any JSON object, or JSON matching a schema. */
  responseFormat?: ResponseFormat;
  presencePenalty?: number;
  frequencyPenalty?: number;
  /** Log probabilities of the output tokens (and the `topLogprobs` most likely alternatives at each position). */
  logprobs?: boolean;
  topLogprobs?: number;
  /** Aborting closes the upstream connection. */
  signal?: AbortSignal;
}

/** A call that declares no tools: the answer is text only (no `tool_call` chunks, no `toolCalls`). */
export interface TextChatRequest extends ChatRequestBase {
  tools?: undefined;
  toolChoice?: undefined;
  parallelToolCalls?: undefined;
}

/** A call that declares function tools: the answer may be tool calls instead of, or with, text. */
export interface ToolChatRequest extends ChatRequestBase {
  tools: ToolDefinition[];
  /** Default `auto` (as on every provider). */
  toolChoice?: ToolChoice;
  /** False asks for at most one call per turn. Default: the provider's (parallel allowed). */
  parallelToolCalls?: boolean;
}

/**
 * One call to a chat model. A request built without `tools` is typed as a TextChatRequest, and
 * `streamChat` then yields only text chunks (see ChatProvider).
 */
export type ChatRequest = TextChatRequest | ToolChatRequest;

/** True when the request declares at least one tool. */
export function hasTools(req: ChatRequest): req is ToolChatRequest {
  return req.tools !== undefined && req.tools.length > 0;
}

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  cachedTokens?: number;
}

/** Log probability of one output token, with the most likely alternatives when they were asked for (OpenAI's shape). */
export interface TokenLogprob {
  token: string;
  logprob: number;
  bytes: number[] | null;
  topLogprobs: Array<{ token: string; logprob: number; bytes: number[] | null }>;
}

/** What a text-only streaming call yields: text deltas, then (where the API reports it) usage and a finish reason. */
export type TextChatChunk =
  { type: "delta"; text: string; logprobs?: TokenLogprob[] } | { type: "usage"; usage: TokenUsage } | { type: "finish"; finishReason: string };

/**
 * A piece of a tool call, as OpenAI streams them: the first piece of call `index` carries `id`
 * and `name`, and the `argumentsDelta` pieces of one index joined are its arguments' JSON text.
 * Indexes count tool calls of the answer from 0, whatever else the provider interleaves.
 */
export interface ToolCallChunk {
  type: "tool_call";
  index: number;
  id?: string;
  name?: string;
  argumentsDelta: string;
}

/** What a streaming call yields; `tool_call` chunks only for a ToolChatRequest. */
export type ChatChunk = TextChatChunk | ToolCallChunk;

export interface ChatResult {
  text: string;
  /** `tool_calls` when the answer is tool calls. */
  finishReason: string;
  /** Null when the provider did not report usage. */
  usage: TokenUsage | null;
  /** The calls the model made, in order; absent when it made none. */
  toolCalls?: ToolCall[];
  /** Per-token log probabilities, when `logprobs` was asked for and the provider returns them. */
  logprobs?: TokenLogprob[];
}

/**
 * The small interface the router depends on; every adapter implements it. Implementations
 * build `streamChat` with `defineStreamChat`, which enforces the first overload at run time.
 */
export interface ChatProvider {
  readonly name: string;
  chat(req: ChatRequest): Promise<ChatResult>;
  streamChat(req: TextChatRequest): AsyncIterable<TextChatChunk>;
  streamChat(req: ChatRequest): AsyncIterable<ChatChunk>;
}

/**
 * The request fields a model cannot honour, named as in OpenAI's request (`tools`,
 * `response_format`, `logprobs` …), so the gateway can answer 400 naming the field instead of
 * dropping it. Empty when the request can be served as asked.
 */
export type UnsupportedFields = (req: ChatRequest, entry: ModelEntry) => string[];

/** Text embeddings, for providers that offer them (OpenAI-compatible APIs do; Anthropic does not). */
export interface EmbeddingProvider {
  readonly name: string;
  /** One vector per input text, in input order. `model` is the provider's upstream model name. */
  embed(texts: string[], model: string, opts?: { signal?: AbortSignal }): Promise<number[][]>;
}

/** One `POST /v1/embeddings` call as the gateway makes it. `model` is the provider's upstream model name. */
export interface EmbeddingRequest {
  model: string;
  /** Non-empty texts, embedded in this order. */
  input: string[];
  /** Shorter vectors (OpenAI `dimensions`, Gemini `outputDimensionality`); only for models that can. */
  dimensions?: number;
  /** End-user id, passed on where the API has a field for it (OpenAI). */
  user?: string;
  /** Aborting closes the upstream connection. */
  signal?: AbortSignal;
}

export interface EmbeddingResult {
  /** One vector per input, in input order. */
  vectors: number[][];
  /** Input tokens as the provider reported them; null when it reports none (Gemini, simulated). */
  usage: { inputTokens: number } | null;
}

/** Embeddings with the request fields and usage the OpenAI-compatible `/v1/embeddings` needs. */
export interface EmbeddingModelProvider {
  readonly name: string;
  createEmbeddings(req: EmbeddingRequest): Promise<EmbeddingResult>;
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
