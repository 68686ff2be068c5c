/**
 * One conformance suite for every ChatProvider adapter, each run against a fake upstream that
 * speaks that provider's real wire format. A new adapter adds a row to `adapters` with a fake
 * implementing the same fault modes (FakeOpenAIMode's vocabulary) and token counting rule:
 * prompt tokens = ceil(characters / 4), one completion token per word of the reply.
 */
import { startFakeOpenAI, type FakeOpenAIMode } from "@switchyard/testkit";
import { createOpenAIProvider } from "./openai";
import { isProviderError, type ChatChunk, type ChatProvider, type ChatRequest, type ProviderError } from "./types";

interface FakeUpstream {
  url: string;
  requests: Array<{ path: string; body: unknown }>;
  setMode(mode: FakeOpenAIMode): void;
  connections(): number;
  abortedRequests(): number;
  waitForClientAbort(timeoutMs?: number, count?: number): Promise<void>;
  close(): Promise<void>;
}

interface FakeOptions {
  reply: string;
  lineEnding?: "\n" | "\r\n";
  fragmentBytes?: number;
}

/** What the adapter put on the wire, in provider-neutral terms. */
interface SentRequest {
  model: unknown;
  texts: unknown[];
  maxTokens: unknown;
  /** Streaming was asked for, with usage reporting. */
  streamWithUsage: boolean;
}

interface AdapterCase {
  name: string;
  model: string;
  startFake(opts: FakeOptions): Promise<FakeUpstream>;
  makeProvider(url: string, opts: { streamIdleTimeoutMs: number; timeoutMs: number }): ChatProvider & { close(): Promise<void> };
  sent(body: unknown): SentRequest;
  /** Statuses the provider documents for each class of failure. */
  statuses: { badRequest: number[]; auth: number[]; serverError: number[] };
}

const adapters: AdapterCase[] = [
  {
    name: "openai-compatible",
    model: "gpt-4o-mini",
    startFake: (opts) => startFakeOpenAI(opts),
    makeProvider: (url, opts) => createOpenAIProvider({ baseUrl: url, apiKey: "sk-test", ...opts }),
    sent: (body) => {
      const b = body as { model?: unknown; messages?: Array<{ content?: unknown }>; max_tokens?: unknown; stream?: unknown; stream_options?: { include_usage?: unknown } };
      return {
        model: b.model,
        texts: (b.messages ?? []).map((m) => m.content),
        maxTokens: b.max_tokens,
        streamWithUsage: b.stream === true && b.stream_options?.include_usage === true,
      };
    },
    statuses: { badRequest: [400, 404, 422], auth: [401, 403], serverError: [500, 502, 503, 504, 529] },
  },
];

const REPLY = "Hello there, this is the fake reply with ünïcödé and 🌍 in it.";
const REPLY_WORDS = REPLY.split(" ");
const MESSAGES: ChatRequest["messages"] = [
  { role: "system", content: "You are terse." }, // 14 chars
  { role: "user", content: "Say hello." }, // 10 chars → ceil(24 / 4) = 6 prompt tokens
];

async function collect(it: AsyncIterable<ChatChunk>, seen: string[] = []): Promise<ChatChunk[]> {
  const out: ChatChunk[] = [];
  for await (const c of it) {
    out.push(c);
    if (c.type === "delta") seen.push(c.text);
  }
  return out;
}

async function failure(run: () => Promise<unknown>): Promise<ProviderError> {
  try {
    await run();
  } catch (err) {
    if (isProviderError(err)) return err;
    throw new Error(`expected a ProviderError, got ${String(err)}`, { cause: err });
  }
  throw new Error("expected the call to fail");
}

describe.each(adapters)("ChatProvider conformance: $name", (adapter) => {
  let fake: FakeUpstream;
  let provider: ChatProvider & { close(): Promise<void> };
  const req = (extra: Partial<ChatRequest> = {}): ChatRequest => ({ model: adapter.model, messages: MESSAGES, ...extra });
  const stream = (extra: Partial<ChatRequest> = {}, seen?: string[]): Promise<ChatChunk[]> => collect(provider.streamChat(req(extra)), seen);

  beforeAll(async () => {
    fake = await adapter.startFake({ reply: REPLY });
    provider = adapter.makeProvider(fake.url, { streamIdleTimeoutMs: 400, timeoutMs: 800 });
  });
  afterEach(() => fake.setMode({ kind: "ok" }));
  afterAll(async () => {
    await provider.close();
    await fake.close();
  });

  it("answers a plain call with the reply, finish reason and reported usage", async () => {
    const res = await provider.chat(req({ maxTokens: 100 }));
    expect(res).toEqual({ text: REPLY, finishReason: "stop", usage: { inputTokens: 6, outputTokens: REPLY_WORDS.length, cachedTokens: 0 } });
    const sent = adapter.sent(fake.requests.at(-1)?.body);
    expect(sent).toEqual({ model: adapter.model, texts: ["You are terse.", "Say hello."], maxTokens: 100, streamWithUsage: false });
  });

  it("streams deltas that join to the reply, then finish and usage", async () => {
    const chunks = await stream();
    const text = chunks.map((c) => (c.type === "delta" ? c.text : "")).join("");
    expect(text).toBe(REPLY);
    expect(chunks.filter((c) => c.type === "delta").length).toBe(REPLY_WORDS.length);
    expect(chunks.filter((c) => c.type !== "delta")).toEqual([
      { type: "finish", finishReason: "stop" },
      { type: "usage", usage: { inputTokens: 6, outputTokens: REPLY_WORDS.length, cachedTokens: 0 } },
    ]);
    expect(adapter.sent(fake.requests.at(-1)?.body).streamWithUsage).toBe(true);
  });

  it("reports finish reason length when maxTokens cuts the answer", async () => {
    const chunks = await stream({ maxTokens: 3 });
    expect(chunks.map((c) => (c.type === "delta" ? c.text : "")).join("")).toBe(REPLY_WORDS.slice(0, 3).join(" "));
    expect(chunks).toContainEqual({ type: "finish", finishReason: "length" });
    expect(adapter.sent(fake.requests.at(-1)?.body).maxTokens).toBe(3);
  });

  it("parses CRLF framing and UTF-8 characters split across network chunks", async () => {
    const crlf = await adapter.startFake({ reply: REPLY, lineEnding: "\r\n", fragmentBytes: 5 });
    const p = adapter.makeProvider(crlf.url, { streamIdleTimeoutMs: 2000, timeoutMs: 2000 });
    try {
      const chunks = await collect(p.streamChat(req()));
      expect(chunks.map((c) => (c.type === "delta" ? c.text : "")).join("")).toBe(REPLY);
      expect(chunks.at(-1)).toEqual({ type: "usage", usage: { inputTokens: 6, outputTokens: REPLY_WORDS.length, cachedTokens: 0 } });
    } finally {
      await p.close();
      await crlf.close();
    }
  });

  it("reuses keep-alive connections for sequential calls", async () => {
    const own = await adapter.startFake({ reply: REPLY });
    const p = adapter.makeProvider(own.url, { streamIdleTimeoutMs: 2000, timeoutMs: 2000 });
    try {
      for (let i = 0; i < 4; i++) {
        await p.chat(req());
        await collect(p.streamChat(req()));
      }
      expect(own.requests).toHaveLength(8);
      // undici's pool marks a fresh connection busy until its first "drain" event, so a call made
      // right after the first one may open a second socket; after that, sockets are reused.
      expect(own.connections()).toBeLessThanOrEqual(2);
    } finally {
      await p.close();
      await own.close();
    }
  });

  describe.each([
    ["bad_request", () => adapter.statuses.badRequest],
    ["auth", () => adapter.statuses.auth],
  ] as const)("non-retryable %s", (kind, statuses) => {
    it.each(statuses())("HTTP %i fails chat and streamChat without retry or breaker count", async (status) => {
      fake.setMode({ kind: "error", status });
      for (const run of [() => provider.chat(req()), () => stream()]) {
        const err = await failure(run);
        expect([err.kind, err.status, err.retryable, err.countsForBreaker]).toEqual([kind, status, false, false]);
      }
    });
  });

  it.each(adapter.statuses.serverError)("HTTP %i → retryable server_error", async (status) => {
    fake.setMode({ kind: "error", status });
    for (const run of [() => provider.chat(req()), () => stream()]) {
      const err = await failure(run);
      expect([err.kind, err.status, err.retryable, err.countsForBreaker]).toEqual(["server_error", status, true, true]);
    }
  });

  it.each([
    [{ "retry-after": "2" }, 2000],
    [{ "retry-after-ms": "1500" }, 1500],
    [{}, undefined],
  ])("HTTP 429 with %j → rate_limited, retryAfterMs %s", async (headers, expected) => {
    fake.setMode({ kind: "error", status: 429, headers });
    for (const run of [() => provider.chat(req()), () => stream()]) {
      const err = await failure(run);
      expect([err.kind, err.status, err.retryable, err.retryAfterMs]).toEqual(["rate_limited", 429, true, expected]);
    }
  });

  it("a connection cut mid-stream → connection, after the deltas that did arrive", async () => {
    fake.setMode({ kind: "cut_after", chunks: 3 }); // the role chunk and two words
    const seen: string[] = [];
    const err = await failure(() => stream({}, seen));
    expect(err.kind).toBe("connection");
    expect(err.message).toMatch(/cut/);
    expect(seen.join("")).toBe(REPLY_WORDS.slice(0, 2).join(" "));
  });

  it("a chunk that is not JSON → malformed", async () => {
    fake.setMode({ kind: "malformed_after", chunks: 2 });
    const seen: string[] = [];
    const err = await failure(() => stream({}, seen));
    expect([err.kind, err.retryable]).toEqual(["malformed", true]);
    expect(seen).toEqual([REPLY_WORDS[0]]);
  });

  it("an error event inside the stream → server_error", async () => {
    fake.setMode({ kind: "stream_error_after", chunks: 2, message: "overloaded mid-stream" });
    const err = await failure(() => stream());
    expect(err.kind).toBe("server_error");
    expect(err.message).toContain("overloaded mid-stream");
  });

  it("a stream that stalls → timeout naming the stall, and the upstream socket is closed", async () => {
    fake.setMode({ kind: "stall_after", chunks: 2 });
    const before = fake.abortedRequests();
    const started = performance.now();
    const err = await failure(() => stream());
    const elapsed = performance.now() - started;
    expect([err.kind, err.retryable, err.countsForBreaker]).toEqual(["timeout", true, true]);
    expect(err.message).toMatch(/stall/);
    expect(elapsed).toBeGreaterThanOrEqual(350);
    expect(elapsed).toBeLessThan(3000);
    await fake.waitForClientAbort(2000, before + 1);
  });

  it("a non-streaming body that stalls → timeout", async () => {
    fake.setMode({ kind: "stall_after", chunks: 0 });
    const err = await failure(() => provider.chat(req()));
    expect(err.kind).toBe("timeout");
  });

  it("aborting mid-stream → aborted promptly, and the fake sees the socket close", async () => {
    fake.setMode({ kind: "slow", delayMs: 300 });
    const before = fake.abortedRequests();
    const ac = new AbortController();
    const seen: string[] = [];
    const run = (async () => {
      for await (const c of provider.streamChat(req({ signal: ac.signal }))) {
        if (c.type !== "delta") continue;
        seen.push(c.text);
        ac.abort();
      }
    })();
    const err = await failure(() => run);
    expect([err.kind, err.retryable]).toEqual(["aborted", false]);
    expect(seen).toEqual([REPLY_WORDS[0]]);
    await fake.waitForClientAbort(2000, before + 1);
    expect(fake.abortedRequests()).toBe(before + 1);
  });

  it("aborting a non-streaming call → aborted, and the fake sees the socket close", async () => {
    fake.setMode({ kind: "slow", delayMs: 1000 });
    const before = fake.abortedRequests();
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const started = performance.now();
    const err = await failure(() => provider.chat(req({ signal: ac.signal })));
    expect(err.kind).toBe("aborted");
    expect(performance.now() - started).toBeLessThan(600);
    await fake.waitForClientAbort(2000, before + 1);
  });

  it("a signal aborted before the call → aborted without any request", async () => {
    const count = fake.requests.length;
    const err = await failure(() => stream({ signal: AbortSignal.abort() }));
    expect(err.kind).toBe("aborted");
    expect(fake.requests).toHaveLength(count);
  });

  it("a consumer that stops iterating early closes the upstream socket", async () => {
    fake.setMode({ kind: "slow", delayMs: 200 });
    const before = fake.abortedRequests();
    for await (const c of provider.streamChat(req())) if (c.type === "delta") break;
    await fake.waitForClientAbort(2000, before + 1);
  });

  it("an unreachable upstream → connection", async () => {
    const gone = await adapter.startFake({ reply: REPLY });
    await gone.close();
    const p = adapter.makeProvider(gone.url, { streamIdleTimeoutMs: 1000, timeoutMs: 1000 });
    try {
      for (const run of [() => p.chat(req()), () => collect(p.streamChat(req()))]) {
        const err = await failure(run);
        expect([err.kind, err.retryable, err.countsForBreaker]).toEqual(["connection", true, true]);
      }
    } finally {
      await p.close();
    }
  });
});
