import { SimulatedBehaviour } from "@switchyard/contracts";
import type { ToolCall } from "@switchyard/contracts";
import { defineStreamChat } from "../define-stream-chat";
import { ProviderError, hasTools, type ChatChunk, type ChatProvider, type ChatRequest, type ChatResult } from "../types";
import { cutAtStop, estimateInputTokens, simulatedDeltas } from "./text";
import { refuseFields } from "../capabilities";
import { pieces, simulatedRefusals, simulatedToolCall, valueForSchema } from "./tools";

/** Characters per streamed piece of JSON output (tool arguments, JSON answers); each piece is one token. */
const JSON_PIECE = 8;

/**
 * The output of a simulated call as stream pieces, each one token: a tool call (id and name on
 * the first piece, the arguments' JSON in pieces), or text, shaped by `responseFormat` (JSON
 * made from the schema, or `{"answer": …}` for json_object) and cut at the first stop sequence.
 * Plain text is at least `textTokens` words long; tool calls and JSON end where their value does.
 */
function outputPieces(req: ChatRequest, textTokens: number): { chunks: ChatChunk[]; calledTool: boolean } {
  const call = hasTools(req) ? simulatedToolCall(req) : null;
  if (call) {
    const args = pieces(call.function.arguments, JSON_PIECE);
    const chunks: ChatChunk[] = (args.length > 0 ? args : [""]).map((argumentsDelta, i) =>
      i === 0 ? { type: "tool_call", index: 0, id: call.id, name: call.function.name, argumentsDelta } : { type: "tool_call", index: 0, argumentsDelta },
    );
    return { chunks, calledTool: true };
  }
  const format = req.responseFormat;
  let deltas: string[];
  if (format?.type === "json_schema")
    deltas = pieces(
      JSON.stringify(valueForSchema(format.json_schema.schema ?? { type: "object" }, simulatedDeltas(req.model, req.messages).join(""))),
      JSON_PIECE,
    );
  else if (format?.type === "json_object") deltas = pieces(JSON.stringify({ answer: simulatedDeltas(req.model, req.messages).join("") }), JSON_PIECE);
  else deltas = simulatedDeltas(req.model, req.messages, textTokens);
  return { chunks: cutAtStop(deltas, req.stop).map((text) => ({ type: "delta", text })), calledTool: false };
}

/**
 * Most tokens an answer may have: the request's `maxTokens` bounded by the model's
 * `max_output_tokens`, either one when the other is unset, undefined when neither is.
 */
function outputLimit(maxTokens: number | undefined, maxOutputTokens: number | undefined): number | undefined {
  const asked = maxTokens === undefined ? undefined : Math.max(0, Math.floor(maxTokens));
  if (asked === undefined) return maxOutputTokens;
  return maxOutputTokens === undefined ? asked : Math.min(asked, maxOutputTokens);
}

/** Options of {@link createSimulatedProvider}. */
export interface SimulatedProviderOptions {
  /** Name reported by the provider and in its errors. Default `"simulated"`. */
  name?: string;
  /**
   * The catalog entry's `max_output_tokens`: no answer is longer, whatever `maxTokens` asks
   * (a longer one is cut, finish reason `"length"`). Default: no bound but the request's.
   */
  maxOutputTokens?: number;
  /**
   * Source of randomness for failure injection, in [0, 1). Default `Math.random`.
   * Inject a fixed sequence in tests so `failure_rate` is exact.
   */
  random?: () => number;
}

/**
 * A built-in provider that needs no network: deterministic text derived from the request
 * (same model + messages → same answer), first token after `ttft_ms`, then `tokens_per_second`,
 * and a `failure_rate` share of calls failing like an overloaded upstream (503).
 * One "token" is one word delta. Without `maxTokens` a text answer is 16–64 tokens long; with
 * it, the answer runs on until it is cut at `maxTokens` (finish reason `"length"`), so a large
 * `maxTokens` streams a long answer at `tokens_per_second`. `maxOutputTokens` bounds both.
 * Tool calls and JSON answers keep their own length, cut only if the limit is shorter. Given
 * tools (and `tool_choice` not `none`), it calls one deterministically, unless the last
 * message is a tool result, which it answers in text. Usage reports the tokens streamed.
 */
export function createSimulatedProvider(behaviour: Partial<SimulatedBehaviour> = {}, opts: SimulatedProviderOptions = {}): ChatProvider {
  // Parsing fills the schema defaults and rejects nonsense (negative rates) at construction time.
  const b = SimulatedBehaviour.parse(behaviour);
  const name = opts.name ?? "simulated";
  const random = opts.random ?? Math.random;
  const { maxOutputTokens } = opts;
  if (maxOutputTokens !== undefined && !(Number.isInteger(maxOutputTokens) && maxOutputTokens > 0)) {
    throw new RangeError(`${name}: maxOutputTokens must be a positive integer, got ${maxOutputTokens}`);
  }
  const msPerToken = 1000 / b.tokens_per_second;

  const aborted = (): ProviderError => new ProviderError("aborted", `${name}: request aborted`, { provider: name });

  function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(aborted());
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(aborted());
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  async function* streamChat(req: ChatRequest): AsyncGenerator<ChatChunk> {
    const { signal } = req;
    if (signal?.aborted) throw aborted();
    if (b.failure_rate > 0 && random() < b.failure_rate) {
      throw new ProviderError("server_error", `${name}: simulated upstream failure (503 service unavailable)`, { status: 503, provider: name });
    }
    refuseFields(req, simulatedRefusals(req));
    const limit = outputLimit(req.maxTokens, maxOutputTokens);
    // Asked for at most N tokens, the model writes past N so the answer is cut there ("length"),
    // as a long answer from a real model is; unasked, it writes its natural 16–64.
    const textTokens = req.maxTokens !== undefined && limit !== undefined ? limit + 1 : 0;
    const { chunks: all, calledTool } = outputPieces(req, textTokens);
    const deltas = limit === undefined ? all : all.slice(0, limit);
    const start = performance.now();
    // Each token is due at an absolute time, so timer lateness does not accumulate and a
    // very high rate emits several tokens per timer tick instead of one timer per token.
    for (let i = 0; i < deltas.length; i++) {
      const wait = start + b.ttft_ms + i * msPerToken - performance.now();
      if (wait >= 1) await sleep(wait, signal);
      else if (signal?.aborted) throw aborted();
      const piece = deltas[i];
      if (piece) yield piece;
    }
    if (deltas.length === 0 && b.ttft_ms > 0) await sleep(b.ttft_ms, signal);
    if (signal?.aborted) throw aborted();
    yield { type: "finish", finishReason: all.length > deltas.length ? "length" : calledTool ? "tool_calls" : "stop" };
    yield { type: "usage", usage: { inputTokens: estimateInputTokens(req.messages), outputTokens: deltas.length } };
  }

  async function chat(req: ChatRequest): Promise<ChatResult> {
    let text = "";
    let finishReason = "stop";
    let usage: ChatResult["usage"] = null;
    const calls: ToolCall[] = [];
    for await (const chunk of streamChat(req)) {
      if (chunk.type === "delta") text += chunk.text;
      else if (chunk.type === "finish") finishReason = chunk.finishReason;
      else if (chunk.type === "usage") usage = chunk.usage;
      else {
        const call = (calls[chunk.index] ??= { id: chunk.id ?? "", type: "function", function: { name: chunk.name ?? "", arguments: "" } });
        call.function.arguments += chunk.argumentsDelta;
      }
    }
    return calls.length > 0 ? { text, finishReason, usage, toolCalls: calls } : { text, finishReason, usage };
  }

  return { name, chat, streamChat: defineStreamChat(name, streamChat) };
}
