import type { ModelEntry, OutputLogprob, RouteJobPayload, ToolCall } from "@switchyard/contracts";
import { chatRequestForJob, isProviderError, ProviderError, type ChatProvider, type TokenLogprob, type TokenUsage } from "@switchyard/providers";
import { AttrNames, SpanKind, startSpan } from "@switchyard/telemetry";
import { SpanStatusCode } from "@opentelemetry/api";
import type { JobOutput } from "./job-output";

export type CallResult =
  | { ok: true; finishReason: string; usage: TokenUsage | null; mode: "stream" | "non_stream"; toolCalls: ToolCall[] }
  | { ok: false; canceled: true }
  | { ok: false; canceled: false; error: ProviderError | Error; partialText: string };

export interface CallHooks {
  onStall(): void;
}

/** In-stream failures worth one more streamed try, then a plain (non-stream) call. */
const RECOVERABLE = new Set(["timeout", "connection", "malformed"]);

/**
 * One model's turn: stream the answer into `out`. A stall, cut or malformed chunk gets one more
 * streamed try, then a non-stream call, each announced by a `restart` when output had begun.
 * Other failures (429, 5xx before the stream, 4xx) return at once so the caller can fall back.
 */
export async function callModel(
  provider: ChatProvider,
  entry: ModelEntry,
  payload: RouteJobPayload,
  out: JobOutput,
  signal: AbortSignal,
  hooks: CallHooks,
): Promise<CallResult> {
  const attrs = {
    [AttrNames.jobId]: payload.job_id,
    [AttrNames.model]: entry.id,
    "switchyard.provider": provider.name,
    "gen_ai.request.model": entry.upstream_model,
  };
  // One span per model attempt (its stream retries and non-stream fallback included), a child of "route job".
  return startSpan(
    "provider call",
    attrs,
    async (span) => {
      const tried = { mode: "stream" as "stream" | "non_stream", tries: 0 };
      const result = await callModelOnce(provider, entry, payload, out, signal, hooks, tried);
      const outcome = result.ok ? "ok" : result.canceled ? "canceled" : "error";
      span.setAttributes({
        "switchyard.provider.mode": result.ok ? result.mode : tried.mode,
        "switchyard.provider.tries": tried.tries,
        "switchyard.provider.outcome": outcome,
      });
      if (!result.ok && !result.canceled) {
        span.setAttribute("error.type", isProviderError(result.error) ? result.error.kind : result.error.name);
        span.setStatus({ code: SpanStatusCode.ERROR, message: result.error.message });
      }
      return result;
    },
    SpanKind.CLIENT,
  );
}

/** A provider's token log probabilities in the job's (OpenAI's) shape. */
function outputLogprobs(l: TokenLogprob[] | undefined): OutputLogprob[] | undefined {
  return l?.map((t) => ({ token: t.token, logprob: t.logprob, bytes: t.bytes, top_logprobs: t.topLogprobs }));
}

/**
 * The answer's end: its tool calls (a call that never named its function is malformed, so it is
 * retried like a malformed chunk) and the finish reason, `tool_calls` whenever it made calls.
 */
function ended(provider: ChatProvider, out: JobOutput, finishReason: string, usage: TokenUsage | null, mode: "stream" | "non_stream"): CallResult {
  const toolCalls = out.toolCalls();
  if (toolCalls === null) throw new ProviderError("malformed", `${provider.name}: a tool call of the answer has no function name`, { provider: provider.name });
  return { ok: true, finishReason: toolCalls.length > 0 && finishReason === "stop" ? "tool_calls" : finishReason, usage, mode, toolCalls };
}

async function callModelOnce(
  provider: ChatProvider,
  entry: ModelEntry,
  payload: RouteJobPayload,
  out: JobOutput,
  signal: AbortSignal,
  hooks: CallHooks,
  tried: { mode: "stream" | "non_stream"; tries: number },
): Promise<CallResult> {
  // A job with tools streams `tool_call` chunks too; they become `tool_call` events, in the order they come.
  const req = chatRequestForJob(payload.request, entry.upstream_model, signal);
  let lastError: ProviderError | Error | null = null;
  for (const mode of ["stream", "stream", "non_stream"] as const) {
    if (lastError) {
      if (!isProviderError(lastError) || !RECOVERABLE.has(lastError.kind)) break;
      await out.restart(lastError.kind === "timeout" ? "stall_retry" : "stream_retry");
      if (!out.live) return { ok: false, canceled: true };
    }
    tried.mode = mode;
    tried.tries++;
    try {
      if (mode === "stream") {
        let finishReason = "stop";
        let usage: TokenUsage | null = null;
        for await (const c of provider.streamChat(req)) {
          if (c.type === "delta") {
            if (!(await out.delta(c.text, outputLogprobs(c.logprobs)))) return { ok: false, canceled: true };
          } else if (c.type === "tool_call") {
            if (!(await out.toolCall({ index: c.index, id: c.id, name: c.name, arguments: c.argumentsDelta }))) return { ok: false, canceled: true };
          } else if (c.type === "usage") usage = c.usage;
          else finishReason = c.finishReason;
        }
        return ended(provider, out, finishReason, usage, mode);
      }
      const r = await provider.chat(req);
      if ((r.text || r.logprobs?.length) && !(await out.delta(r.text, outputLogprobs(r.logprobs)))) return { ok: false, canceled: true };
      // The whole answer's calls, each as one fragment (id, name and all its arguments).
      for (const [index, tc] of (r.toolCalls ?? []).entries()) {
        if (!(await out.toolCall({ index, id: tc.id, name: tc.function.name, arguments: tc.function.arguments }))) return { ok: false, canceled: true };
      }
      return ended(provider, out, r.finishReason, r.usage, mode);
    } catch (err) {
      if (signal.aborted || !out.live) return { ok: false, canceled: true };
      lastError = err as Error;
      if (isProviderError(err) && err.kind === "timeout" && mode === "stream") hooks.onStall();
    }
  }
  return { ok: false, canceled: false, error: lastError ?? new Error("no answer"), partialText: out.billableText };
}
