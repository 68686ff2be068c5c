import { contentText, type ModelEntry, type ToolCall } from "@switchyard/contracts";
import { capabilityGaps } from "../capabilities";
import { ProviderError, type ChatRequest, type TokenLogprob, type ToolCallChunk } from "../types";

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * The Chat Completions `messages`: every role goes on the wire as it is (OpenAI's own roles);
 * an assistant turn with `tool_calls` and no text sends `content: null`, as the API does.
 */
export function openaiMessages(req: ChatRequest): Array<Record<string, unknown>> {
  return req.messages.map((m) => {
    if (m.role === "tool") return { role: "tool", tool_call_id: m.tool_call_id, content: m.content };
    if (m.role === "assistant" && "tool_calls" in m && m.tool_calls !== undefined) {
      return { role: "assistant", content: contentText(m.content) === "" ? null : m.content, tool_calls: m.tool_calls };
    }
    return { role: m.role, content: m.content };
  });
}

/**
 * Adds the agent fields to a Chat Completions body, each under its OpenAI name: `tools`,
 * `tool_choice`, `parallel_tool_calls`, `stop`, `seed`, `response_format`, `presence_penalty`,
 * `frequency_penalty`, `logprobs`, `top_logprobs`. Our shapes are OpenAI's, so nothing is translated.
 */
export function addOpenAIAgentFields(body: Record<string, unknown>, req: ChatRequest): void {
  if (req.tools !== undefined && req.tools.length > 0) {
    body.tools = req.tools;
    if (req.toolChoice !== undefined) body.tool_choice = req.toolChoice;
    if (req.parallelToolCalls !== undefined) body.parallel_tool_calls = req.parallelToolCalls;
  }
  if (req.stop !== undefined && req.stop.length > 0) body.stop = req.stop;
  if (req.seed !== undefined) body.seed = req.seed;
  if (req.responseFormat !== undefined) body.response_format = req.responseFormat;
  if (req.presencePenalty !== undefined) body.presence_penalty = req.presencePenalty;
  if (req.frequencyPenalty !== undefined) body.frequency_penalty = req.frequencyPenalty;
  if (req.logprobs !== undefined) body.logprobs = req.logprobs;
  if (req.topLogprobs !== undefined) body.top_logprobs = req.topLogprobs;
}

/** `message.tool_calls` of a chat.completion → ToolCalls; undefined when there are none. */
export function readToolCalls(provider: string, raw: unknown): ToolCall[] | undefined {
  if (!Array.isArray(raw) || raw.length === 0) return undefined;
  return raw.map((tc, i) => {
    const fn = isRecord(tc) ? tc.function : undefined;
    if (!isRecord(tc) || typeof tc.id !== "string" || !isRecord(fn) || typeof fn.name !== "string") {
      throw new ProviderError("malformed", `${provider}: tool_calls[${i}] has no id or function name`, { provider });
    }
    return { id: tc.id, type: "function" as const, function: { name: fn.name, arguments: typeof fn.arguments === "string" ? fn.arguments : "" } };
  });
}

/** `delta.tool_calls[]` of a stream chunk → ToolCallChunks (id and name on the first piece of an index only). */
export function readToolCallDeltas(provider: string, raw: unknown): ToolCallChunk[] {
  if (!Array.isArray(raw)) return [];
  return raw.map((tc) => {
    if (!isRecord(tc) || typeof tc.index !== "number" || !Number.isInteger(tc.index) || tc.index < 0) {
      throw new ProviderError("malformed", `${provider}: a delta.tool_calls item has no index`, { provider });
    }
    const fn = isRecord(tc.function) ? tc.function : {};
    const chunk: ToolCallChunk = { type: "tool_call", index: tc.index, argumentsDelta: typeof fn.arguments === "string" ? fn.arguments : "" };
    if (typeof tc.id === "string") chunk.id = tc.id;
    if (typeof fn.name === "string") chunk.name = fn.name;
    return chunk;
  });
}

const bytesOf = (v: unknown): number[] | null => (Array.isArray(v) && v.every((b) => typeof b === "number") ? v : null);

/** `choices[].logprobs.content` → TokenLogprobs; undefined when absent. */
export function readLogprobs(raw: unknown): TokenLogprob[] | undefined {
  if (!isRecord(raw) || !Array.isArray(raw.content)) return undefined;
  const out: TokenLogprob[] = [];
  for (const t of raw.content) {
    if (!isRecord(t) || typeof t.token !== "string" || typeof t.logprob !== "number") continue;
    const top = Array.isArray(t.top_logprobs) ? t.top_logprobs : [];
    out.push({
      token: t.token,
      logprob: t.logprob,
      bytes: bytesOf(t.bytes),
      topLogprobs: top
        .filter(isRecord)
        .filter((a) => typeof a.token === "string" && typeof a.logprob === "number")
        .map((a) => ({ token: a.token as string, logprob: a.logprob as number, bytes: bytesOf(a.bytes) })),
    });
  }
  return out;
}

/**
 * What an OpenAI-compatible model cannot honour: only what the catalog says it lacks. Every
 * other field is OpenAI's own and goes on the wire as asked; a compatible server that refuses
 * one answers 400, which fails the call without a silent drop.
 */
export function openaiUnsupportedFields(req: ChatRequest, entry: ModelEntry): string[] {
  return capabilityGaps(req, entry);
}
