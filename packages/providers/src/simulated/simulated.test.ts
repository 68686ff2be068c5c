import type { ChatChunk, TextChatRequest } from "../types";
import { isProviderError, type ProviderError } from "../types";
import { createSimulatedProvider } from "./chat";

const fast = { ttft_ms: 0, tokens_per_second: 1_000_000, failure_rate: 0 };
const req = (content: string, extra: Partial<TextChatRequest> = {}): TextChatRequest => ({
  model: "sim-flash",
  messages: [{ role: "user", content }],
  ...extra,
});

async function collect(it: AsyncIterable<ChatChunk>): Promise<ChatChunk[]> {
  const out: ChatChunk[] = [];
  for await (const c of it) out.push(c);
  return out;
}

async function caught(p: Promise<unknown>): Promise<ProviderError> {
  try {
    await p;
  } catch (err) {
    if (isProviderError(err)) return err;
    throw err;
  }
  throw new Error("expected a ProviderError");
}

describe("simulated provider", () => {
  it("answers the same input with the same text, and different input with different text", async () => {
    const p = createSimulatedProvider(fast);
    const a = await p.chat(req("What is a queue?"));
    const b = await createSimulatedProvider(fast).chat(req("What is a queue?"));
    const c = await p.chat(req("What is a breaker?"));
    expect(a.text).toBe(b.text);
    expect(a.text).not.toBe(c.text);
    expect(a.text).toMatch(/^[A-Z][a-z]+( [A-Za-z]+\.?)+\.$/);
    expect(a.finishReason).toBe("stop");
  });

  it("streams the same text as chat, one word per delta, then finish and usage", async () => {
    const p = createSimulatedProvider(fast);
    const chunks = await collect(p.streamChat(req("abcdefghij")));
    const deltas = chunks.filter((c): c is Extract<ChatChunk, { type: "delta" }> => c.type === "delta");
    expect(deltas.map((d) => d.text).join("")).toBe((await p.chat(req("abcdefghij"))).text);
    expect(deltas.every((d) => d.text.trim().split(" ").length === 1)).toBe(true);
    expect(deltas.length).toBeGreaterThanOrEqual(16);
    expect(deltas.length).toBeLessThanOrEqual(64);
    expect(chunks.slice(-2)).toEqual([
      { type: "finish", finishReason: "stop" },
      // 10 characters → ceil(10 / 4) = 3 input tokens
      { type: "usage", usage: { inputTokens: 3, outputTokens: deltas.length } },
    ]);
  });

  it("cuts the answer at maxTokens with finish reason length", async () => {
    const p = createSimulatedProvider(fast);
    const full = await p.chat(req("tell me everything"));
    const cut = await p.chat(req("tell me everything", { maxTokens: 5 }));
    expect(cut.usage?.outputTokens).toBe(5);
    expect(cut.finishReason).toBe("length");
    expect(full.text.startsWith(cut.text)).toBe(true);
    expect(cut.text.split(" ")).toHaveLength(5);
  });

  describe("answer length follows the limit", () => {
    const deltasOf = (chunks: ChatChunk[]): string[] => chunks.flatMap((c) => (c.type === "delta" ? [c.text] : []));
    const ending = (chunks: ChatChunk[]): ChatChunk[] => chunks.filter((c) => c.type === "finish" || c.type === "usage");
    const ask = (maxTokens?: number): TextChatRequest => req("tell me everything", maxTokens === undefined ? {} : { maxTokens });

    it("streams exactly maxTokens=500 tokens, past the natural answer, finish length, usage equal to what streamed", async () => {
      const p = createSimulatedProvider(fast);
      const natural = (await p.chat(ask())).text;
      const chunks = await collect(p.streamChat(ask(500)));
      const deltas = deltasOf(chunks);
      expect(deltas).toHaveLength(500);
      expect(ending(chunks)).toEqual([
        { type: "finish", finishReason: "length" },
        // "tell me everything": 18 characters → ceil(18 / 4) = 5 input tokens
        { type: "usage", usage: { inputTokens: 5, outputTokens: 500 } },
      ]);
      // Still one word per delta, and it goes on from the natural answer (whose last word alone gains a full stop).
      expect(deltas.every((d) => /^ ?[A-Za-z]+\.?$/.test(d))).toBe(true);
      expect(deltas.join("").startsWith(natural.slice(0, -1))).toBe(true);
      // Deterministic: the same request gives the same long answer.
      expect((await createSimulatedProvider(fast).chat(ask(500))).text).toBe(deltas.join(""));
    });

    it("streams maxTokens=3 as 3 tokens, the first 3 of the natural answer", async () => {
      const p = createSimulatedProvider(fast);
      const natural = (await p.chat(ask())).text;
      const chunks = await collect(p.streamChat(ask(3)));
      expect(deltasOf(chunks)).toHaveLength(3);
      expect(natural.startsWith(deltasOf(chunks).join(""))).toBe(true);
      expect(ending(chunks)).toEqual([
        { type: "finish", finishReason: "length" },
        { type: "usage", usage: { inputTokens: 5, outputTokens: 3 } },
      ]);
    });

    it("without a limit keeps the natural 16–64 tokens, finish stop, whatever the model's cap above that", async () => {
      const uncapped = await collect(createSimulatedProvider(fast).streamChat(ask()));
      const capped = await collect(createSimulatedProvider(fast, { maxOutputTokens: 4096 }).streamChat(ask()));
      const n = deltasOf(uncapped).length;
      expect(n).toBeGreaterThanOrEqual(16);
      expect(n).toBeLessThanOrEqual(64);
      expect(capped).toEqual(uncapped);
      expect(ending(uncapped)).toEqual([
        { type: "finish", finishReason: "stop" },
        { type: "usage", usage: { inputTokens: 5, outputTokens: n } },
      ]);
    });

    it("bounds the answer by the model's maxOutputTokens when it is lower than maxTokens, or than the natural length", async () => {
      const p = createSimulatedProvider(fast, { maxOutputTokens: 120 });
      const bounded = await collect(p.streamChat(ask(500)));
      expect(deltasOf(bounded)).toHaveLength(120);
      expect(ending(bounded)).toEqual([
        { type: "finish", finishReason: "length" },
        { type: "usage", usage: { inputTokens: 5, outputTokens: 120 } },
      ]);
      // Under the cap, the request's own limit still rules.
      expect(deltasOf(await collect(p.streamChat(ask(90))))).toHaveLength(90);
      // A cap below the natural length cuts even an answer that asked for no limit.
      const tiny = await collect(createSimulatedProvider(fast, { maxOutputTokens: 10 }).streamChat(ask()));
      expect(deltasOf(tiny)).toHaveLength(10);
      expect(ending(tiny)[0]).toEqual({ type: "finish", finishReason: "length" });
    });

    it("keeps a JSON answer whole under a large maxTokens instead of padding it", async () => {
      const p = createSimulatedProvider(fast);
      const plain = await p.chat(req("json please", { responseFormat: { type: "json_object" } }));
      const asked = await p.chat(req("json please", { responseFormat: { type: "json_object" }, maxTokens: 500 }));
      expect(asked).toEqual(plain);
      expect(asked.finishReason).toBe("stop");
      expect(JSON.parse(asked.text)).toEqual({ answer: expect.any(String) });
    });

    it("rejects a maxOutputTokens that is not a positive integer", () => {
      expect(() => createSimulatedProvider(fast, { maxOutputTokens: 0 })).toThrow(/maxOutputTokens/);
      expect(() => createSimulatedProvider(fast, { maxOutputTokens: 1.5 })).toThrow(/maxOutputTokens/);
    });

    it("paces a long answer at tokens_per_second, so it streams proportionally longer", async () => {
      const p = createSimulatedProvider({ ttft_ms: 0, tokens_per_second: 2000, failure_rate: 0 });
      const start = performance.now();
      const chunks = await collect(p.streamChat(ask(301)));
      const total = performance.now() - start;
      expect(deltasOf(chunks)).toHaveLength(301);
      // 300 intervals of 0.5 ms after the first token
      expect(total).toBeGreaterThanOrEqual(148);
    });
  });

  it("fails exactly the share of calls the injected random falls under failure_rate", async () => {
    const draws = [0.05, 0.5, 0.19, 0.2];
    const p = createSimulatedProvider({ ...fast, failure_rate: 0.2 }, { random: () => draws.shift() ?? 1 });
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) {
      try {
        await p.chat(req("x"));
        outcomes.push("ok");
      } catch (err) {
        if (!isProviderError(err)) throw err;
        outcomes.push(`${err.kind}:${err.status}:${err.retryable}`);
      }
    }
    expect(outcomes).toEqual(["server_error:503:true", "ok", "server_error:503:true", "ok"]);
  });

  it("waits ttft_ms before the first token and paces tokens at tokens_per_second", async () => {
    const p = createSimulatedProvider({ ttft_ms: 60, tokens_per_second: 200, failure_rate: 0 });
    const start = performance.now();
    let first = 0;
    for await (const c of p.streamChat(req("pace me", { maxTokens: 11 }))) {
      if (c.type === "delta" && first === 0) first = performance.now() - start;
    }
    const total = performance.now() - start;
    expect(first).toBeGreaterThanOrEqual(55);
    // 10 intervals of 5 ms after the first token
    expect(total).toBeGreaterThanOrEqual(60 + 45);
  });

  it("stops emitting and throws aborted promptly when the signal fires", async () => {
    const p = createSimulatedProvider({ ttft_ms: 0, tokens_per_second: 20, failure_rate: 0 });
    const ac = new AbortController();
    const seen: string[] = [];
    const run = (async () => {
      for await (const c of p.streamChat(req("slow one", { signal: ac.signal }))) if (c.type === "delta") seen.push(c.text);
    })();
    await new Promise((r) => setTimeout(r, 120)); // ~3 tokens at 50 ms each
    ac.abort();
    const abortedAt = performance.now();
    const err = await caught(run);
    expect(performance.now() - abortedAt).toBeLessThan(30);
    expect(err.kind).toBe("aborted");
    expect(err.retryable).toBe(false);
    const count = seen.length;
    expect(count).toBeGreaterThan(0);
    expect(count).toBeLessThan(6);
    await new Promise((r) => setTimeout(r, 120));
    expect(seen).toHaveLength(count);
  });

  it("throws aborted without output when the signal is already aborted", async () => {
    const p = createSimulatedProvider(fast);
    const err = await caught(p.chat(req("x", { signal: AbortSignal.abort() })));
    expect(err.kind).toBe("aborted");
  });

  it("fills defaults for a partial behaviour and rejects an invalid one", async () => {
    expect(() => createSimulatedProvider({ failure_rate: 2 })).toThrow();
    const p = createSimulatedProvider({ ttft_ms: 0, tokens_per_second: 100_000 });
    expect((await p.chat(req("y"))).text.length).toBeGreaterThan(0);
  });
});
