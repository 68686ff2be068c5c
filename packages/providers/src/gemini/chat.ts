import { ProviderError, type ChatRequest, type ChatResult, type TokenUsage } from "../types";
import { geminiErrorFromPayload, readGeminiError } from "./errors";
import { buildGenerateContentBody, methodPath, type GeminiContext } from "./request";
import { readFunctionCalls, toolCallId, type GeminiFunctionCall } from "./tools";

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const count = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);

/**
 * `usageMetadata` → TokenUsage; null when absent. Zero counts are often left out (missing = 0).
 * `promptTokenCount` already includes cached tokens (`cachedContentTokenCount` is a subset), and
 * thinking tokens (`thoughtsTokenCount`) are billed as output but not part of
 * `candidatesTokenCount`, so output = candidates + thoughts; tool-use prompt tokens are input.
 */
export function readUsageMetadata(u: unknown): TokenUsage | null {
  if (!isRecord(u)) return null;
  return {
    inputTokens: count(u.promptTokenCount) + count(u.toolUsePromptTokenCount),
    outputTokens: count(u.candidatesTokenCount) + count(u.thoughtsTokenCount),
    cachedTokens: count(u.cachedContentTokenCount),
  };
}

const FILTERED = new Set(["SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY"]);

/** Gemini `finishReason` → the OpenAI-style finish reason: STOP → stop, MAX_TOKENS → length, safety-type reasons → content_filter. */
export function finishReasonFor(reason: string): string {
  if (reason === "STOP") return "stop";
  if (reason === "MAX_TOKENS") return "length";
  if (FILTERED.has(reason)) return "content_filter";
  return reason.toLowerCase();
}

/** What one GenerateContentResponse (a whole answer, or one stream chunk) says. */
export interface GeminiResponseParts {
  text: string;
  /** Raw `finishReason` of the first candidate; `"BLOCKED"` stands for a blocked prompt (no candidates, `promptFeedback.blockReason`). */
  finishReason?: string;
  usage: TokenUsage | null;
  /** The `functionCall` parts, in order; absent when there are none. */
  functionCalls?: GeminiFunctionCall[];
  responseId?: string;
}

/** Reads a GenerateContentResponse: the first candidate's text parts (thought summaries excluded), its finish reason, usage. */
export function readResponse(provider: string, json: unknown): GeminiResponseParts {
  if (!isRecord(json)) throw new ProviderError("malformed", `${provider}: response is not an object`, { provider });
  const error = readGeminiError(json);
  if (error) throw geminiErrorFromPayload(provider, error);
  const candidates: unknown[] = Array.isArray(json.candidates) ? json.candidates : [];
  // We never ask for candidateCount > 1; pick the candidate with index 0 (index may be omitted).
  const candidate = candidates.find((c) => isRecord(c) && (c.index === undefined || c.index === 0));
  let text = "";
  let finishReason: string | undefined;
  let functionCalls: GeminiFunctionCall[] = [];
  if (isRecord(candidate)) {
    const parts = isRecord(candidate.content) && Array.isArray(candidate.content.parts) ? candidate.content.parts : [];
    for (const p of parts) if (isRecord(p) && typeof p.text === "string" && p.thought !== true) text += p.text;
    functionCalls = readFunctionCalls(provider, parts);
    if (typeof candidate.finishReason === "string") finishReason = candidate.finishReason;
  } else if (isRecord(json.promptFeedback) && typeof json.promptFeedback.blockReason === "string") {
    finishReason = "BLOCKED";
  }
  const res: GeminiResponseParts = { text, finishReason, usage: readUsageMetadata(json.usageMetadata) };
  if (functionCalls.length > 0) res.functionCalls = functionCalls;
  if (typeof json.responseId === "string") res.responseId = json.responseId;
  return res;
}

/**
 * Maps the raw finish reason (including our `"BLOCKED"` for a blocked prompt). Gemini ends a
 * turn of function calls with STOP; that is `tool_calls` when the answer called a tool.
 */
export function mapFinish(raw: string, calledTools = false): string {
  if (raw === "STOP" && calledTools) return "tool_calls";
  return raw === "BLOCKED" ? "content_filter" : finishReasonFor(raw);
}

/** Non-streaming `POST /{version}/models/{model}:generateContent`. */
export async function chat(ctx: GeminiContext, req: ChatRequest): Promise<ChatResult> {
  const provider = ctx.http.name;
  const json = await ctx.http.postJson(methodPath(ctx, req.model, "generateContent"), buildGenerateContentBody(req), { signal: req.signal });
  const res = readResponse(provider, json);
  const calls = res.functionCalls ?? [];
  if (res.finishReason === undefined && res.text === "" && calls.length === 0)
    throw new ProviderError("malformed", `${provider}: response has no candidates`, { provider });
  const result: ChatResult = { text: res.text, finishReason: mapFinish(res.finishReason ?? "STOP", calls.length > 0), usage: res.usage };
  if (calls.length > 0) {
    result.toolCalls = calls.map((c, i) => ({
      id: toolCallId(c, res.responseId, i),
      type: "function",
      function: { name: c.name, arguments: JSON.stringify(c.args) },
    }));
  }
  return result;
}
