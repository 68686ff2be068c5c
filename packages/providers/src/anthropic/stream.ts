import { toProviderError } from "../http/errors";
import { readSseEvents, type SseEvent } from "../http/sse";
import { ProviderError, type ChatChunk, type ChatRequest, type ToolCallChunk } from "../types";
import { finishReasonFor, isRecord, readUsageFields, toTokenUsage, type AnthropicUsageFields } from "./chat";
import { anthropicErrorFromEvent } from "./errors";
import { buildMessagesBody, type AnthropicContext } from "./request";

/** What a Messages stream has told us so far. */
interface StreamState {
  usage: AnthropicUsageFields;
  stopReason: unknown;
  /** `message_stop` arrived: the answer is complete. */
  stopped: boolean;
  /** Content block index of each tool_use block → its tool-call index (calls counted from 0). */
  toolBlocks: Map<number, { call: number; argumentChars: number }>;
}

function merge(into: AnthropicUsageFields, from: AnthropicUsageFields): void {
  for (const key of ["input", "output", "cacheRead", "cacheCreation"] as const) if (from[key] !== undefined) into[key] = from[key];
}

/**
 * Applies one SSE event of a Messages stream to `state` and returns the chunks it carries.
 * `message_start` brings the input usage, `text_delta` the text, a `tool_use` block start a tool
 * call's id and name and its `input_json_delta`s the arguments' JSON in pieces (a call whose
 * input arrived empty gets `{}` at its `content_block_stop`), `message_delta` the stop reason and
 * the cumulative output usage (and, in newer streams, the input counts again), `message_stop`
 * the end. `ping`, thinking deltas and unknown events carry nothing. `event: error` throws.
 */
export function interpretEvent(provider: string, ev: SseEvent, state: StreamState): ChatChunk[] {
  let json: unknown;
  try {
    json = JSON.parse(ev.data);
  } catch (cause) {
    if (ev.event === "error") throw anthropicErrorFromEvent(provider, { error: { type: "api_error", message: ev.data } });
    throw new ProviderError("malformed", `${provider}: stream event ${ev.event} is not JSON: ${ev.data.slice(0, 120)}`, { provider, cause });
  }
  if (!isRecord(json)) throw new ProviderError("malformed", `${provider}: stream event ${ev.event} is not an object: ${ev.data.slice(0, 120)}`, { provider });
  const type = typeof json.type === "string" ? json.type : ev.event;
  if (type === "error" || ev.event === "error") throw anthropicErrorFromEvent(provider, json);
  const text = (t: unknown): ChatChunk[] => (typeof t === "string" && t !== "" ? [{ type: "delta", text: t }] : []);
  const blockIndex = typeof json.index === "number" ? json.index : -1;
  switch (type) {
    case "message_start":
      if (isRecord(json.message)) merge(state.usage, readUsageFields(json.message.usage));
      return [];
    case "content_block_start": {
      const block = json.content_block;
      if (!isRecord(block)) return [];
      if (block.type === "text") return text(block.text);
      if (block.type !== "tool_use") return [];
      if (typeof block.id !== "string" || typeof block.name !== "string")
        throw new ProviderError("malformed", `${provider}: a tool_use block starts without id or name`, { provider });
      const call = state.toolBlocks.size;
      state.toolBlocks.set(blockIndex, { call, argumentChars: 0 });
      return [{ type: "tool_call", index: call, id: block.id, name: block.name, argumentsDelta: "" }];
    }
    case "content_block_delta": {
      const delta = json.delta;
      if (!isRecord(delta)) return [];
      if (delta.type === "text_delta") return text(delta.text);
      const tool = state.toolBlocks.get(blockIndex);
      if (delta.type !== "input_json_delta" || !tool || typeof delta.partial_json !== "string" || delta.partial_json === "") return [];
      tool.argumentChars += delta.partial_json.length;
      return [{ type: "tool_call", index: tool.call, argumentsDelta: delta.partial_json }];
    }
    case "content_block_stop": {
      const tool = state.toolBlocks.get(blockIndex);
      const empty: ToolCallChunk[] = tool && tool.argumentChars === 0 ? [{ type: "tool_call", index: tool.call, argumentsDelta: "{}" }] : [];
      if (tool) tool.argumentChars = Math.max(tool.argumentChars, 2);
      return empty;
    }
    case "message_delta":
      if (isRecord(json.delta) && typeof json.delta.stop_reason === "string") state.stopReason = json.delta.stop_reason;
      merge(state.usage, readUsageFields(json.usage));
      return [];
    case "message_stop":
      state.stopped = true;
      return [];
    default: // ping and event types added later
      return [];
  }
}

/**
 * Streaming `POST /v1/messages`: yields text deltas and tool-call pieces, then the finish reason and usage once the
 * message is complete (`message_stop`, or a clean end of body after the `message_delta` that
 * carries the stop reason). A body that ends earlier is a `connection` error; no bytes for
 * `streamIdleTimeoutMs` is a `timeout`; aborting the signal, or returning early, closes the socket.
 */
export async function* streamChat(ctx: AnthropicContext, req: ChatRequest): AsyncGenerator<ChatChunk> {
  const provider = ctx.http.name;
  const { signal } = req;
  const idleMs = ctx.streamIdleTimeoutMs;
  const body = await ctx.http.post("/v1/messages", buildMessagesBody(req, { stream: true, defaultMaxTokens: ctx.defaultMaxTokens }), {
    signal,
    accept: "text/event-stream",
    // readSseEvents' idle timer replaces undici's body timeout (consumer time is not upstream silence).
    bodyTimeoutMs: idleMs > 0 ? 0 : ctx.timeoutMs,
  });
  const state: StreamState = { usage: {}, stopReason: undefined, stopped: false, toolBlocks: new Map() };
  const ending = (): ChatChunk[] => {
    const usage = toTokenUsage(state.usage);
    return [{ type: "finish", finishReason: finishReasonFor(state.stopReason) }, ...(usage ? [{ type: "usage" as const, usage }] : [])];
  };
  let done = false;
  try {
    // After message_stop we read on to the end of the body (it follows at once), so the socket
    // goes back to the pool instead of being destroyed.
    for await (const ev of readSseEvents(body, { provider, idleMs })) {
      if (done) continue;
      yield* interpretEvent(provider, ev, state);
      if (state.stopped) {
        done = true;
        yield* ending();
      }
    }
  } catch (err) {
    if (done && !signal?.aborted) return; // everything arrived; trouble after message_stop costs nothing
    throw toProviderError(err, { provider, signal, phase: "body" });
  }
  if (done) return;
  if (state.stopReason === undefined) throw new ProviderError("connection", `${provider}: upstream cut the stream before message_stop`, { provider });
  yield* ending();
}
