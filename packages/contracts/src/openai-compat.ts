import { z } from "zod";
import { ContentPart } from "./chat-message";

/**
 * OpenAI's chat completion request, whole: every field OpenAI documents is accepted by the
 * schema (anything else is an unknown field, as OpenAI itself answers). Which of them Switchyard
 * can honour is decided by `unsupportedParameter`, so nothing is silently dropped.
 */
const OpenAIMessage = z
  .object({
    role: z.enum(["system", "developer", "user", "assistant", "tool", "function"]),
    content: z.union([z.string(), z.array(ContentPart), z.null()]).optional(),
    name: z.string().optional(),
    tool_calls: z.array(z.unknown()).optional(),
    tool_call_id: z.string().optional(),
    function_call: z.unknown().optional(),
    refusal: z.string().nullable().optional(),
    /** Sent back by clients that replay an assistant message as the SDK returned it. */
    annotations: z.array(z.unknown()).nullable().optional(),
    audio: z.unknown().optional(),
  })
  .strict();

export const OpenAIChatRequest = z.strictObject({
  model: z.string().min(1),
  messages: z.array(OpenAIMessage).min(1, "messages must contain at least one message"),
  max_tokens: z.number().int().min(1).nullable().optional(),
  max_completion_tokens: z.number().int().min(1).nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  n: z.number().int().min(1).max(128).nullable().optional(),
  stop: z.union([z.string(), z.array(z.string()), z.null()]).optional(),
  stream: z.boolean().nullable().optional(),
  stream_options: z.strictObject({ include_usage: z.boolean().optional(), include_obfuscation: z.boolean().optional() }).nullable().optional(),
  user: z.string().max(256).optional(),
  metadata: z.record(z.string().max(64), z.string().max(512)).nullable().optional(),
  store: z.boolean().nullable().optional(),
  seed: z.number().int().nullable().optional(),
  frequency_penalty: z.number().min(-2).max(2).nullable().optional(),
  presence_penalty: z.number().min(-2).max(2).nullable().optional(),
  logit_bias: z.record(z.string(), z.number()).nullable().optional(),
  logprobs: z.boolean().nullable().optional(),
  top_logprobs: z.number().int().nullable().optional(),
  tools: z.array(z.unknown()).optional(),
  tool_choice: z.unknown().optional(),
  parallel_tool_calls: z.boolean().optional(),
  functions: z.array(z.unknown()).optional(),
  function_call: z.unknown().optional(),
  response_format: z.object({ type: z.string() }).passthrough().optional(),
  reasoning_effort: z.string().nullable().optional(),
  service_tier: z.string().nullable().optional(),
  modalities: z.array(z.string()).nullable().optional(),
  audio: z.unknown().optional(),
  prediction: z.unknown().optional(),
  web_search_options: z.unknown().optional(),
  verbosity: z.string().nullable().optional(),
  prompt_cache_key: z.string().optional(),
  safety_identifier: z.string().optional(),
});
export type OpenAIChatRequest = z.infer<typeof OpenAIChatRequest>;

/**
 * The first parameter set to something Switchyard cannot honour at all (several choices, audio,
 * the legacy `functions`…), with why; null when the request can go on. What only some models
 * can honour (`tools`, `response_format` json_schema, `logprobs` …) is judged later, per model,
 * by the gateway (catalog capabilities and the adapter's unsupported fields).
 */
export function unsupportedParameter(req: OpenAIChatRequest): { param: string; message: string } | null {
  const set = (v: unknown) => v !== undefined && v !== null;
  const checks: Array<[boolean, string, string]> = [
    [set(req.n) && req.n !== 1, "n", "only n=1 is supported"],
    [
      !!req.functions?.length || set(req.function_call),
      req.functions?.length ? "functions" : "function_call",
      "the deprecated functions/function_call are not supported; use tools and tool_choice",
    ],
    [set(req.logit_bias) && Object.keys(req.logit_bias ?? {}).length > 0, "logit_bias", "logit_bias is not supported"],
    [set(req.top_p) && req.top_p !== 1, "top_p", "top_p is not supported; use temperature"],
    [set(req.modalities) && (req.modalities ?? []).some((m) => m !== "text"), "modalities", "only text output is supported"],
    [set(req.audio), "audio", "audio output is not supported"],
    [set(req.prediction), "prediction", "predicted outputs are not supported"],
    [set(req.web_search_options), "web_search_options", "web search is not supported"],
    [req.store === true, "store", "store=true is not supported: Switchyard keeps jobs itself"],
    [set(req.reasoning_effort), "reasoning_effort", "reasoning_effort is not supported yet"],
    [set(req.verbosity), "verbosity", "verbosity is not supported"],
    [set(req.service_tier) && req.service_tier !== "auto" && req.service_tier !== "default", "service_tier", "service_tier is not supported"],
    [
      set(req.max_tokens) && set(req.max_completion_tokens) && req.max_tokens !== req.max_completion_tokens,
      "max_completion_tokens",
      "set max_completion_tokens or max_tokens, not both",
    ],
    // As OpenAI answers: top_logprobs means nothing without logprobs, so it is refused, not dropped.
    [set(req.top_logprobs) && req.logprobs !== true, "top_logprobs", "top_logprobs needs logprobs: true"],
  ];
  for (const [bad, param, message] of checks) if (bad) return { param, message };
  for (const [i, m] of req.messages.entries()) {
    if (m.role === "function")
      return { param: `messages.${i}.role`, message: "role function (the deprecated function calling) is not supported; use tool messages" };
    if (set(m.function_call)) return { param: `messages.${i}.function_call`, message: "the deprecated function_call is not supported; use tool_calls" };
    if (m.tool_calls !== undefined && m.role !== "assistant") return { param: `messages.${i}.tool_calls`, message: "only assistant messages carry tool_calls" };
    if (m.tool_call_id !== undefined && m.role !== "tool") return { param: `messages.${i}.tool_call_id`, message: "only tool messages carry tool_call_id" };
    if (m.name !== undefined) return { param: `messages.${i}.name`, message: "participant names are not supported" };
    if (set(m.audio)) return { param: `messages.${i}.audio`, message: "audio is not supported" };
    if (m.annotations?.length) return { param: `messages.${i}.annotations`, message: "annotations on input messages are not supported" };
    if (set(m.refusal) && m.refusal !== "")
      return { param: `messages.${i}.refusal`, message: "refusal on input messages is not supported; put the text in content" };
    const empty = m.content === undefined || m.content === null || m.content === "" || (Array.isArray(m.content) && m.content.length === 0);
    const answersCalls = m.role === "assistant" && (m.tool_calls?.length ?? 0) > 0;
    if (empty && !answersCalls && m.role !== "tool") return { param: `messages.${i}.content`, message: "content must not be empty" };
  }
  return null;
}
