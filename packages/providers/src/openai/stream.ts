import { ProviderError, type ChatChunk, type ChatRequest } from "../types";
import { buildChatBody, isRecord, readUsage, type OpenAIContext } from "./chat";
import { errorFromStreamPayload } from "./errors";
import { toProviderError } from "../http/errors";
import { SseDecoder, type SseEvent } from "../http/sse";
import { readLogprobs, readToolCallDeltas } from "./tools";

const DONE = Symbol("done");

/**
 * Turns one SSE event of a Chat Completions stream into chunks (`DONE` for `data: [DONE]`).
 * Unknown fields (`obfuscation`, `system_fingerprint`, …) are ignored; an `{"error":…}` payload
 * or an `event: error` throws.
 */
export function interpretEvent(provider: string, ev: SseEvent): ChatChunk[] | typeof DONE {
  if (ev.data === "[DONE]") return DONE;
  let json: unknown;
  try {
    json = JSON.parse(ev.data);
  } catch (cause) {
    if (ev.event === "error") throw errorFromStreamPayload(provider, ev.data);
    throw new ProviderError("malformed", `${provider}: stream chunk is not JSON: ${ev.data.slice(0, 120)}`, { provider, cause });
  }
  if (!isRecord(json)) throw new ProviderError("malformed", `${provider}: stream chunk is not an object: ${ev.data.slice(0, 120)}`, { provider });
  if (ev.event === "error" || (json.error !== undefined && json.error !== null)) throw errorFromStreamPayload(provider, json.error ?? json);
  const out: ChatChunk[] = [];
  if (Array.isArray(json.choices)) {
    for (const choice of json.choices) {
      // We always ask for n=1; any other choice index would not belong to this answer.
      if (!isRecord(choice) || (choice.index !== undefined && choice.index !== 0)) continue;
      const delta = choice.delta;
      // A chunk with no text may still carry a token's logprobs (part of a multi-byte character).
      const logprobs = readLogprobs(choice.logprobs);
      if (isRecord(delta) && typeof delta.content === "string" && (delta.content !== "" || (logprobs?.length ?? 0) > 0)) {
        out.push(logprobs ? { type: "delta", text: delta.content, logprobs } : { type: "delta", text: delta.content });
      }
      if (isRecord(delta)) out.push(...readToolCallDeltas(provider, delta.tool_calls));
      if (typeof choice.finish_reason === "string") out.push({ type: "finish", finishReason: choice.finish_reason });
    }
  }
  const usage = readUsage(json.usage);
  if (usage) out.push({ type: "usage", usage });
  return out;
}

/**
 * Streaming `POST /chat/completions`: yields deltas, then the finish reason, then usage (the
 * `include_usage` chunk). Ends cleanly only at `data: [DONE]` (or a clean end of body after a
 * finish reason, for servers that omit `[DONE]`); a socket closed earlier is a `connection`
 * error, and no bytes for `streamIdleTimeoutMs` is a `timeout` ("stream stalled"). Aborting the
 * signal, or returning from the iteration early, destroys the upstream socket.
 */
export async function* streamChat(ctx: OpenAIContext, req: ChatRequest): AsyncGenerator<ChatChunk> {
  const provider = ctx.http.name;
  const { signal } = req;
  const idleMs = ctx.streamIdleTimeoutMs;
  const body = await ctx.http.post("/chat/completions", buildChatBody(req, { stream: true, maxTokensField: ctx.maxTokensField }), {
    signal,
    accept: "text/event-stream",
    // Our own idle timer replaces undici's body timeout, so that time the consumer spends
    // handling a chunk does not count as upstream silence.
    bodyTimeoutMs: idleMs > 0 ? 0 : ctx.timeoutMs,
  });
  const decoder = new SseDecoder();
  let done = false;
  let finished = false;
  let consumerHasChunk = false;
  const idle =
    idleMs > 0
      ? setTimeout(function onIdle() {
          if (consumerHasChunk) return void idle?.refresh();
          body.destroy(new ProviderError("timeout", `${provider}: stream stalled: no data for ${idleMs} ms`, { provider }));
        }, idleMs)
      : undefined;
  idle?.unref();

  async function* emit(events: SseEvent[]): AsyncGenerator<ChatChunk> {
    for (const ev of events) {
      if (done) return;
      const chunks = interpretEvent(provider, ev);
      if (chunks === DONE) {
        done = true;
        return;
      }
      for (const chunk of chunks) {
        if (chunk.type === "finish") finished = true;
        consumerHasChunk = true;
        yield chunk;
        consumerHasChunk = false;
        idle?.refresh();
      }
    }
  }

  try {
    // After [DONE] we keep reading to the end of the body (it follows at once) so the socket
    // goes back to the pool instead of being destroyed.
    for await (const bytes of body) {
      idle?.refresh();
      if (!done) yield* emit(decoder.push(bytes as Buffer));
    }
    if (!done) yield* emit(decoder.end());
    if (!done && !finished) {
      throw new ProviderError("connection", `${provider}: upstream cut the stream before [DONE]`, { provider });
    }
  } catch (err) {
    if (done && !signal?.aborted) return; // everything arrived; trouble after [DONE] costs nothing
    throw toProviderError(err, { provider, signal, phase: "body" });
  } finally {
    if (idle) clearTimeout(idle);
    if (!body.destroyed) body.destroy();
  }
}
