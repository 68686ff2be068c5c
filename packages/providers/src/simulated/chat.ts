import { SimulatedBehaviour } from "@switchyard/contracts";
import { ProviderError, type ChatChunk, type ChatProvider, type ChatRequest, type ChatResult } from "../types";
import { estimateInputTokens, simulatedDeltas } from "./text";

/** Options of {@link createSimulatedProvider}. */
export interface SimulatedProviderOptions {
  /** Name reported by the provider and in its errors. Default `"simulated"`. */
  name?: string;
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
 * One "token" is one word delta. Answers are 16–64 tokens long, cut to `maxTokens` if smaller
 * (finish reason `"length"`).
 */
export function createSimulatedProvider(behaviour: Partial<SimulatedBehaviour> = {}, opts: SimulatedProviderOptions = {}): ChatProvider {
  // Parsing fills the schema defaults and rejects nonsense (negative rates) at construction time.
  const b = SimulatedBehaviour.parse(behaviour);
  const name = opts.name ?? "simulated";
  const random = opts.random ?? Math.random;
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
    const all = simulatedDeltas(req.model, req.messages);
    const cap = req.maxTokens === undefined ? all.length : Math.max(0, Math.floor(req.maxTokens));
    const deltas = all.slice(0, cap);
    const start = performance.now();
    // Each token is due at an absolute time, so timer lateness does not accumulate and a
    // very high rate emits several tokens per timer tick instead of one timer per token.
    for (let i = 0; i < deltas.length; i++) {
      const wait = start + b.ttft_ms + i * msPerToken - performance.now();
      if (wait >= 1) await sleep(wait, signal);
      else if (signal?.aborted) throw aborted();
      yield { type: "delta", text: deltas[i] ?? "" };
    }
    if (deltas.length === 0 && b.ttft_ms > 0) await sleep(b.ttft_ms, signal);
    if (signal?.aborted) throw aborted();
    yield { type: "finish", finishReason: all.length > deltas.length ? "length" : "stop" };
    yield { type: "usage", usage: { inputTokens: estimateInputTokens(req.messages), outputTokens: deltas.length } };
  }

  async function chat(req: ChatRequest): Promise<ChatResult> {
    let text = "";
    let finishReason = "stop";
    let usage: ChatResult["usage"] = null;
    for await (const chunk of streamChat(req)) {
      if (chunk.type === "delta") text += chunk.text;
      else if (chunk.type === "finish") finishReason = chunk.finishReason;
      else usage = chunk.usage;
    }
    return { text, finishReason, usage };
  }

  return { name, chat, streamChat };
}
