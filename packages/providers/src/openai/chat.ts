import { ProviderError, type ChatRequest, type ChatResult, type TokenUsage } from "../types";
import { errorFromStreamPayload } from "./errors";
import type { OpenAIHttp } from "./http";
import { addOpenAIAgentFields, openaiMessages, readLogprobs, readToolCalls } from "./tools";

/** Which request field carries the output cap; see `OpenAIProviderOptions.maxTokensField`. */
export type MaxTokensField = "max_tokens" | "max_completion_tokens";

/** What chat and streamChat share: the pool and the per-provider settings. */
export interface OpenAIContext {
  http: OpenAIHttp;
  timeoutMs: number;
  streamIdleTimeoutMs: number;
  maxTokensField: MaxTokensField;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The Chat Completions request body for a ChatRequest. */
export function buildChatBody(req: ChatRequest, opts: { stream: boolean; maxTokensField: MaxTokensField }): Record<string, unknown> {
  const body: Record<string, unknown> = {
    model: req.model,
    messages: openaiMessages(req),
  };
  addOpenAIAgentFields(body, req);
  if (req.maxTokens !== undefined) body[opts.maxTokensField] = req.maxTokens;
  if (req.temperature !== undefined) body.temperature = req.temperature;
  if (req.user !== undefined) body.user = req.user;
  if (opts.stream) {
    body.stream = true;
    // Without this the stream carries no usage at all, and spend could only be estimated.
    body.stream_options = { include_usage: true };
  }
  return body;
}

/** OpenAI `usage` → TokenUsage; null when absent or not the documented shape. */
export function readUsage(u: unknown): TokenUsage | null {
  if (!isRecord(u) || typeof u.prompt_tokens !== "number" || typeof u.completion_tokens !== "number") return null;
  const usage: TokenUsage = { inputTokens: u.prompt_tokens, outputTokens: u.completion_tokens };
  const details = u.prompt_tokens_details;
  if (isRecord(details) && typeof details.cached_tokens === "number") usage.cachedTokens = details.cached_tokens;
  return usage;
}

/** Non-streaming `POST /chat/completions`. */
export async function chat(ctx: OpenAIContext, req: ChatRequest): Promise<ChatResult> {
  const provider = ctx.http.name;
  const json = await ctx.http.postJson("/chat/completions", buildChatBody(req, { stream: false, maxTokensField: ctx.maxTokensField }), { signal: req.signal });
  if (isRecord(json) && json.error !== undefined && json.error !== null) throw errorFromStreamPayload(provider, json.error);
  const choice: unknown = isRecord(json) && Array.isArray(json.choices) ? json.choices[0] : undefined;
  const message = isRecord(choice) ? choice.message : undefined;
  if (!isRecord(choice) || !isRecord(message)) {
    throw new ProviderError("malformed", `${provider}: response has no choices[0].message`, { provider });
  }
  const result: ChatResult = {
    text: typeof message.content === "string" ? message.content : "",
    finishReason: typeof choice.finish_reason === "string" ? choice.finish_reason : "stop",
    usage: readUsage(isRecord(json) ? json.usage : undefined),
  };
  const toolCalls = readToolCalls(provider, message.tool_calls);
  if (toolCalls) result.toolCalls = toolCalls;
  const logprobs = readLogprobs(choice.logprobs);
  if (logprobs) result.logprobs = logprobs;
  return result;
}
