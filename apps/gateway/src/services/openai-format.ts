import {
  ApiError,
  CreateJobRequest,
  type ChatCompletion,
  type JobEvent,
  type JobView,
  type OpenAIChatRequest,
  type OutputLogprob,
} from "@switchyard/contracts";
import { parseBody } from "./validation";

const given = <T>(v: T | null | undefined): T | undefined => (v === null ? undefined : v);

/**
 * Map an OpenAI chat request onto a Switchyard job (after `unsupportedParameter` said nothing in
 * it is refused outright), validated as a job: a malformed tool schema, a `tool` message that
 * answers no earlier call or a `tool_choice` naming no declared tool is a 400 naming the field
 * (`tools.0.function.parameters`, `messages.3.tool_call_id` …), with OpenAI's indexes.
 */
export function toJobRequest(req: OpenAIChatRequest): CreateJobRequest {
  const messages = req.messages.map((m) => {
    if (m.role === "tool") return { role: "tool", tool_call_id: m.tool_call_id, content: m.content };
    if (m.role === "assistant") return { role: "assistant", content: m.content, ...(m.tool_calls !== undefined ? { tool_calls: m.tool_calls } : {}) };
    // `developer` is OpenAI's newer name for `system`; every compatible server knows `system`.
    return { role: m.role === "developer" ? "system" : m.role, content: m.content };
  });
  const stop = given(req.stop);
  const raw = {
    model: req.model,
    messages,
    max_tokens: given(req.max_completion_tokens) ?? given(req.max_tokens),
    temperature: given(req.temperature),
    user: req.user,
    metadata: given(req.metadata),
    priority: "normal",
    tools: req.tools,
    tool_choice: req.tool_choice,
    parallel_tool_calls: req.parallel_tool_calls,
    // `text` is the default: asking for it changes nothing and every provider honours it.
    response_format: req.response_format?.type === "text" ? undefined : req.response_format,
    stop: Array.isArray(stop) && stop.length === 0 ? undefined : stop,
    seed: given(req.seed),
    presence_penalty: given(req.presence_penalty),
    frequency_penalty: given(req.frequency_penalty),
    // `logprobs: false` is the default: only `true` asks for anything.
    logprobs: req.logprobs === true ? true : undefined,
    top_logprobs: given(req.top_logprobs),
  };
  return parseBody(CreateJobRequest, JSON.parse(JSON.stringify(raw)) as unknown);
}

export const completionId = (jobId: string) => `chatcmpl-${jobId}`;
export const createdSeconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);

/** OpenAI's `choices[].logprobs` for the job's token log probabilities; null without them. */
export function choiceLogprobs(l: OutputLogprob[] | undefined) {
  return l && l.length > 0 ? { content: l, refusal: null } : null;
}

/** `chat.completion` for a finished job: `message.tool_calls` (and `content: null` without text) when it made calls. */
export function chatCompletion(view: JobView): ChatCompletion {
  const usage = view.usage ?? { input_tokens: 0, output_tokens: 0 };
  const text = view.output?.text ?? "";
  const calls = view.output?.tool_calls ?? [];
  const message =
    calls.length > 0
      ? { role: "assistant" as const, content: text === "" ? null : text, refusal: null, annotations: [], tool_calls: calls }
      : { role: "assistant" as const, content: text, refusal: null, annotations: [] };
  return {
    id: completionId(view.id),
    object: "chat.completion" as const,
    created: createdSeconds(view.created_at),
    model: view.served_model ?? view.model,
    choices: [{ index: 0, message, logprobs: choiceLogprobs(view.output?.logprobs), finish_reason: view.output?.finish_reason ?? "stop" }],
    usage: { prompt_tokens: usage.input_tokens, completion_tokens: usage.output_tokens, total_tokens: usage.input_tokens + usage.output_tokens },
    system_fingerprint: null,
    service_tier: "default",
  };
}

/** One `chat.completion.chunk`. */
export function chunk(
  base: { id: string; created: number; model: string },
  delta: Record<string, unknown>,
  finishReason: string | null = null,
  logprobs: OutputLogprob[] | undefined = undefined,
) {
  return {
    id: base.id,
    object: "chat.completion.chunk" as const,
    created: base.created,
    model: base.model,
    system_fingerprint: null,
    choices: [{ index: 0, delta, logprobs: choiceLogprobs(logprobs), finish_reason: finishReason }],
  };
}

/**
 * A `tool_call` event as OpenAI's `delta.tool_calls` item: the first fragment of a call carries
 * `index`, `id`, `type` and `function.name` (with the arguments so far, usually ""), the later
 * ones `index` and `function.arguments` only.
 */
export function toolCallDelta(e: Extract<JobEvent, { type: "tool_call" }>["data"]) {
  if (e.id !== undefined || e.name !== undefined) {
    return {
      tool_calls: [
        {
          index: e.index,
          ...(e.id !== undefined ? { id: e.id } : {}),
          type: "function" as const,
          function: { ...(e.name !== undefined ? { name: e.name } : {}), arguments: e.arguments },
        },
      ],
    };
  }
  return { tool_calls: [{ index: e.index, function: { arguments: e.arguments } }] };
}

/** Job failures that are the caller's budget, not the upstream's fault: answered as themselves (402). */
const BUDGET_FAILURES = new Set<string>(["budget_exhausted", "insufficient_credits"]);

/** The `type` of a failed job's in-stream error object. */
export function failureType(code: string, canceled: boolean): "conflict_error" | "budget_error" | "api_error" {
  return canceled ? "conflict_error" : BUDGET_FAILURES.has(code) ? "budget_error" : "api_error";
}

/** The job's failure as the error an OpenAI client expects. */
export function jobFailure(code: string, message: string, status: string): ApiError {
  if (status === "canceled") return new ApiError("job_canceled", message);
  if (BUDGET_FAILURES.has(code)) return new ApiError(code as "budget_exhausted" | "insufficient_credits", message);
  return new ApiError("upstream_error", `${code}: ${message}`);
}
