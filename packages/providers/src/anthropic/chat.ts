import { ProviderError, type ChatRequest, type ChatResult, type TokenUsage } from "../types";
import { anthropicErrorFromEvent } from "./errors";
import { buildMessagesBody, type AnthropicContext } from "./request";
import { readToolUseBlocks } from "./tools";

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

/** The token counts of an Anthropic `usage` object, each possibly absent (as in `message_delta`). */
export interface AnthropicUsageFields {
  input?: number;
  output?: number;
  cacheRead?: number;
  cacheCreation?: number;
}

export function readUsageFields(u: unknown): AnthropicUsageFields {
  if (!isRecord(u)) return {};
  return {
    input: num(u.input_tokens),
    output: num(u.output_tokens),
    cacheRead: num(u.cache_read_input_tokens),
    cacheCreation: num(u.cache_creation_input_tokens),
  };
}

/**
 * Anthropic usage → TokenUsage. Anthropic's `input_tokens` excludes cached tokens (cache reads
 * and cache writes are separate, disjoint counts), while TokenUsage counts every prompt token in
 * `inputTokens` with `cachedTokens` as the cache-read subset. Cache writes are billed by
 * Anthropic at 1.25× the input price; they are counted here as ordinary input tokens.
 */
export function toTokenUsage(f: AnthropicUsageFields): TokenUsage | null {
  if (f.input === undefined || f.output === undefined) return null;
  const cacheRead = f.cacheRead ?? 0;
  return { inputTokens: f.input + cacheRead + (f.cacheCreation ?? 0), outputTokens: f.output, cachedTokens: cacheRead };
}

/** Anthropic `stop_reason` → the OpenAI-style finish reason the rest of Switchyard uses. */
export function finishReasonFor(stopReason: unknown): string {
  switch (stopReason) {
    case "end_turn":
    case "stop_sequence":
      return "stop";
    case "max_tokens":
    case "model_context_window_exceeded":
      return "length";
    case "tool_use":
      return "tool_calls";
    case "refusal":
      return "content_filter";
    default:
      return typeof stopReason === "string" && stopReason !== "" ? stopReason : "stop";
  }
}

/** Non-streaming `POST /v1/messages`: the text blocks joined, the tool_use blocks as tool calls, the stop reason and usage. */
export async function chat(ctx: AnthropicContext, req: ChatRequest): Promise<ChatResult> {
  const provider = ctx.http.name;
  const json = await ctx.http.postJson("/v1/messages", buildMessagesBody(req, { stream: false, defaultMaxTokens: ctx.defaultMaxTokens }), {
    signal: req.signal,
  });
  if (isRecord(json) && json.type === "error") throw anthropicErrorFromEvent(provider, json);
  if (!isRecord(json) || !Array.isArray(json.content)) throw new ProviderError("malformed", `${provider}: response has no content array`, { provider });
  // Only text blocks are answer text; tool_use blocks are tool calls; thinking blocks are neither.
  const out = json.content.map((b) => (isRecord(b) && b.type === "text" && typeof b.text === "string" ? b.text : "")).join("");
  const result: ChatResult = { text: out, finishReason: finishReasonFor(json.stop_reason), usage: toTokenUsage(readUsageFields(json.usage)) };
  const toolCalls = readToolUseBlocks(provider, json.content);
  if (toolCalls) result.toolCalls = toolCalls;
  return result;
}
