import { ApiError, type CreateJobRequest, type JobView, type OpenAIChatRequest } from "@switchyard/contracts";

/** Map an OpenAI chat request onto a Switchyard job (after `unsupportedParameter` said it can be served). */
export function toJobRequest(req: OpenAIChatRequest): CreateJobRequest {
  return {
    model: req.model,
    messages: req.messages.map((m) => ({
      role: m.role === "developer" ? "system" : (m.role as "system" | "user" | "assistant"),
      content: m.content as CreateJobRequest["messages"][number]["content"],
    })),
    max_tokens: req.max_completion_tokens ?? req.max_tokens ?? undefined,
    temperature: req.temperature ?? undefined,
    user: req.user,
    metadata: req.metadata ?? undefined,
    priority: "normal",
  };
}

export const completionId = (jobId: string) => `chatcmpl-${jobId}`;
export const createdSeconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);

/** `chat.completion` for a finished job. */
export function chatCompletion(view: JobView) {
  const usage = view.usage ?? { input_tokens: 0, output_tokens: 0 };
  return {
    id: completionId(view.id),
    object: "chat.completion" as const,
    created: createdSeconds(view.created_at),
    model: view.served_model ?? view.model,
    choices: [{ index: 0, message: { role: "assistant" as const, content: view.output?.text ?? "", refusal: null, annotations: [] }, logprobs: null, finish_reason: view.output?.finish_reason ?? "stop" }],
    usage: { prompt_tokens: usage.input_tokens, completion_tokens: usage.output_tokens, total_tokens: usage.input_tokens + usage.output_tokens },
    system_fingerprint: null,
    service_tier: "default",
  };
}

/** One `chat.completion.chunk`. */
export function chunk(base: { id: string; created: number; model: string }, delta: Record<string, string>, finishReason: string | null = null) {
  return { id: base.id, object: "chat.completion.chunk" as const, created: base.created, model: base.model, system_fingerprint: null, choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }] };
}

/** The job's failure as the error an OpenAI client expects. */
export function jobFailure(code: string, message: string, status: string): ApiError {
  if (status === "canceled") return new ApiError("job_canceled", message);
  return new ApiError("upstream_error", `${code}: ${message}`);
}
