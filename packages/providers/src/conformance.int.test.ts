/**
 * One conformance suite for every ChatProvider adapter, each run against a fake upstream that
 * speaks that provider's real wire format. A new adapter adds a row to `adapters` with a fake
 * implementing the same fault modes (FakeOpenAIMode's vocabulary) and token counting rule:
 * prompt tokens = ceil(characters / 4), one completion token per word of the reply. Fault
 * points count stream events, so each row says how many events precede the first word.
 */
import { startFakeAnthropic, startFakeGemini, startFakeOpenAI, type FakeToolReply } from "@switchyard/testkit";
import { request } from "undici";
import { createAnthropicProvider } from "./anthropic";
import { createGeminiProvider } from "./gemini";
import { createOpenAIProvider } from "./openai";
import {
  CHOICES,
  EVERY_FIELD,
  EXPECTED_CALLS,
  FOLLOW_UP,
  TOOLS,
  TOOL_WIRES,
  entryFor,
  toolReplyUnlessAnswered,
  type ToolWire,
} from "./tool-wires.test-helpers";
import { isProviderError, type ChatChunk, type ChatProvider, type ChatRequest, type ProviderError, type TextChatRequest, type ToolChatRequest } from "./types";
import { unsupportedFields } from "./unsupported-fields";

/** The fault vocabulary every fake implements (a subset of each fake's own mode type). */
type FaultMode =
  | { kind: "ok" }
  | { kind: "error"; status: number; headers?: Record<string, string> }
  | { kind: "cut_after"; chunks: number }
  | { kind: "malformed_after"; chunks: number }
  | { kind: "stall_after"; chunks: number }
  | { kind: "stream_error_after"; chunks: number; message?: string }
  | { kind: "slow"; delayMs?: number };

interface RecordedCall {
  path: string;
  body: unknown;
  query?: Record<string, string>;
}

interface FakeUpstream {
  url: string;
  requests: RecordedCall[];
  setMode(mode: FaultMode): void;
  connections(): number;
  abortedRequests(): number;
  waitForClientAbort(timeoutMs?: number, count?: number): Promise<void>;
  close(): Promise<void>;
}

interface FakeOptions {
  reply: string;
  toolReply?: (rec: { body: unknown }) => FakeToolReply | undefined;
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
  sent(call: RecordedCall | undefined): SentRequest;
  /** Stream events the fake writes before the first word (OpenAI's role chunk; Anthropic's message_start, content_block_start, ping). */
  preamble: number;
  /** Statuses the provider documents for each class of failure. */
  statuses: { badRequest: number[]; auth: number[]; serverError: number[] };
  /** How tool calls, tool turns and the other agent fields look on this wire. */
  wire: ToolWire;
  provider: "openai" | "anthropic" | "gemini";
}

type TextOf = { content?: unknown; parts?: Array<{ text?: unknown }> };

const adapters: AdapterCase[] = [
  {
    name: "openai-compatible",
    model: "gpt-4o-mini",
    startFake: (opts) => startFakeOpenAI(opts),
    makeProvider: (url, opts) => createOpenAIProvider({ baseUrl: url, apiKey: "sk-test", ...opts }),
    sent: (call) => {
      const b = (call?.body ?? {}) as {
        model?: unknown;
        messages?: TextOf[];
        max_tokens?: unknown;
        stream?: unknown;
        stream_options?: { include_usage?: unknown };
      };
      return {
        model: b.model,
        texts: (b.messages ?? []).map((m) => m.content),
        maxTokens: b.max_tokens,
        streamWithUsage: b.stream === true && b.stream_options?.include_usage === true,
      };
    },
    preamble: 1,
    statuses: { badRequest: [400, 404, 422], auth: [401, 403], serverError: [500, 502, 503, 504, 529] },
    wire: TOOL_WIRES.openai,
    provider: "openai",
  },
  {
    name: "anthropic",
    model: "claude-haiku-4-5",
    startFake: (opts) => startFakeAnthropic(opts),
    makeProvider: (url, opts) => createAnthropicProvider({ baseUrl: url, apiKey: "sk-ant-test", ...opts }),
    sent: (call) => {
      const b = (call?.body ?? {}) as { model?: unknown; system?: unknown; messages?: TextOf[]; max_tokens?: unknown; stream?: unknown };
      return {
        model: b.model,
        texts: [...(b.system === undefined ? [] : [b.system]), ...(b.messages ?? []).map((m) => m.content)],
        maxTokens: b.max_tokens,
        // Anthropic streams always carry usage (message_start and message_delta).
        streamWithUsage: b.stream === true && call?.path === "/v1/messages",
      };
    },
    preamble: 3,
    statuses: { badRequest: [400, 404, 413], auth: [401, 403], serverError: [500, 502, 503, 504, 529] },
    wire: TOOL_WIRES.anthropic,
    provider: "anthropic",
  },
  {
    name: "gemini",
    model: "gemini-2.5-flash",
    startFake: (opts) => startFakeGemini(opts),
    makeProvider: (url, opts) => createGeminiProvider({ baseUrl: url, apiKey: "AIza-test", ...opts }),
    sent: (call) => {
      const b = (call?.body ?? {}) as { systemInstruction?: TextOf; contents?: TextOf[]; generationConfig?: { maxOutputTokens?: unknown } };
      const model = /^\/v1beta\/models\/([^:]+):/.exec(call?.path ?? "")?.[1];
      return {
        model,
        texts: [...(b.systemInstruction?.parts ?? []), ...(b.contents ?? []).flatMap((c) => c.parts ?? [])].map((p) => p.text),
        maxTokens: b.generationConfig?.maxOutputTokens,
        // Every chunk of an alt=sse stream carries usageMetadata.
        streamWithUsage: (call?.path ?? "").endsWith(":streamGenerateContent") && call?.query?.alt === "sse",
      };
    },
    preamble: 0,
    // Gemini documents 500 INTERNAL, 503 UNAVAILABLE and 504 DEADLINE_EXCEEDED; 502 and 529 stand for proxies in between.
    statuses: { badRequest: [400, 404], auth: [401, 403], serverError: [500, 502, 503, 504, 529] },
    wire: TOOL_WIRES.gemini,
    provider: "gemini",
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
  const req = (extra: Partial<TextChatRequest> = {}): TextChatRequest => ({ model: adapter.model, messages: MESSAGES, ...extra });
  const stream = (extra: Partial<TextChatRequest> = {}, seen?: string[]): Promise<ChatChunk[]> => collect(provider.streamChat(req(extra)), seen);

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
    const sent = adapter.sent(fake.requests.at(-1));
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
    expect(adapter.sent(fake.requests.at(-1)).streamWithUsage).toBe(true);
  });

  it("reports finish reason length when maxTokens cuts the answer", async () => {
    const chunks = await stream({ maxTokens: 3 });
    expect(chunks.map((c) => (c.type === "delta" ? c.text : "")).join("")).toBe(REPLY_WORDS.slice(0, 3).join(" "));
    expect(chunks).toContainEqual({ type: "finish", finishReason: "length" });
    expect(adapter.sent(fake.requests.at(-1)).maxTokens).toBe(3);
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
    fake.setMode({ kind: "cut_after", chunks: adapter.preamble + 2 }); // the preamble and two words
    const seen: string[] = [];
    const err = await failure(() => stream({}, seen));
    expect(err.kind).toBe("connection");
    expect(err.message).toMatch(/cut/);
    expect(seen.join("")).toBe(REPLY_WORDS.slice(0, 2).join(" "));
  });

  it("a chunk that is not JSON → malformed", async () => {
    fake.setMode({ kind: "malformed_after", chunks: adapter.preamble + 1 });
    const seen: string[] = [];
    const err = await failure(() => stream({}, seen));
    expect([err.kind, err.retryable]).toEqual(["malformed", true]);
    expect(seen).toEqual([REPLY_WORDS[0]]);
  });

  it("an error event inside the stream → server_error", async () => {
    fake.setMode({ kind: "stream_error_after", chunks: adapter.preamble + 1, message: "overloaded mid-stream" });
    const err = await failure(() => stream());
    expect(err.kind).toBe("server_error");
    expect(err.message).toContain("overloaded mid-stream");
  });

  it("a stream that stalls → timeout naming the stall, and the upstream socket is closed", async () => {
    fake.setMode({ kind: "stall_after", chunks: adapter.preamble + 1 });
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

type ToolPiece = Extract<ChatChunk, { type: "tool_call" }>;

/** Tool-call pieces joined per index, as a client of OpenAI's stream does. */
function assemble(chunks: ChatChunk[]): Array<{ id?: string; name?: string; arguments: string; pieces: number }> {
  const calls: Array<{ id?: string; name?: string; arguments: string; pieces: number }> = [];
  for (const c of chunks.filter((x): x is ToolPiece => x.type === "tool_call")) {
    const call = (calls[c.index] ??= { arguments: "", pieces: 0 });
    if (c.id !== undefined) call.id = c.id;
    if (c.name !== undefined) call.name = c.name;
    call.arguments += c.argumentsDelta;
    call.pieces++;
  }
  return calls;
}

describe.each(adapters)("ChatProvider conformance, tool calls: $name", (adapter) => {
  let fake: FakeUpstream;
  let provider: ChatProvider & { close(): Promise<void> };
  const { wire } = adapter;
  const ask: ChatRequest["messages"] = [
    { role: "system", content: "You are terse." },
    { role: "user", content: "Weather and time in Paris?" },
  ];
  const toolReq = (extra: Partial<ToolChatRequest> = {}): ToolChatRequest => ({ model: adapter.model, messages: ask, tools: TOOLS, ...extra });
  const sent = (): Record<string, unknown> => (fake.requests.at(-1)?.body ?? {}) as Record<string, unknown>;
  const readBack = (calls: Array<{ id?: string; name?: string; arguments: string }>) =>
    calls.map((c) => ({ id: c.id, name: c.name, args: JSON.parse(c.arguments) as unknown }));

  beforeAll(async () => {
    fake = await adapter.startFake({ reply: REPLY, toolReply: toolReplyUnlessAnswered });
    provider = adapter.makeProvider(fake.url, { streamIdleTimeoutMs: 2000, timeoutMs: 2000 });
  });
  afterAll(async () => {
    await provider.close();
    await fake.close();
  });

  it("sends the tools, and reads two parallel calls from a whole answer with finish reason tool_calls", async () => {
    const res = await provider.chat(toolReq());
    expect(wire.tools(sent())).toEqual(wire.expectedTools);
    expect(res.finishReason).toBe("tool_calls");
    expect(res.text).toBe("Checking both.");
    const calls = (res.toolCalls ?? []).map((c) => ({ id: c.id, name: c.function.name, arguments: c.function.arguments }));
    expect(res.toolCalls?.every((c) => c.type === "function")).toBe(true);
    if (wire.idsFromWire) expect(readBack(calls)).toEqual(EXPECTED_CALLS);
    else {
      expect(readBack(calls).map(({ name, args }) => ({ name, args }))).toEqual(EXPECTED_CALLS.map(({ name, args }) => ({ name, args })));
      expect(calls.map((c) => c.id)).toEqual([expect.stringMatching(/^call_[A-Za-z0-9_-]+$/), expect.stringMatching(/^call_[A-Za-z0-9_-]+$/)]);
      expect(new Set(calls.map((c) => c.id)).size).toBe(2);
    }
  });

  it("streams the two calls as pieces by index that join to the same calls, then finish tool_calls and usage", async () => {
    const chunks = await collect(provider.streamChat(toolReq()));
    const pieces = chunks.filter((c): c is ToolPiece => c.type === "tool_call");
    // Id and name come on the first piece of each call only, as OpenAI streams them.
    for (const index of [0, 1]) {
      const own = pieces.filter((p) => p.index === index);
      expect(own[0]?.name).toBeDefined();
      expect(own.slice(1).every((p) => p.id === undefined && p.name === undefined)).toBe(true);
    }
    expect(new Set(pieces.map((p) => p.index))).toEqual(new Set([0, 1]));
    const calls = assemble(chunks);
    if (wire.idsFromWire) expect(readBack(calls)).toEqual(EXPECTED_CALLS);
    else expect(readBack(calls).map(({ name, args }) => ({ name, args }))).toEqual(EXPECTED_CALLS.map(({ name, args }) => ({ name, args })));
    // Arguments arrive in fragments where the wire fragments them, whole where it does not.
    for (const c of calls) {
      if (wire.fragmented) expect(c.pieces).toBeGreaterThan(2);
      else expect(c.pieces).toBe(1);
    }
    expect(chunks.map((c) => (c.type === "delta" ? c.text : "")).join("")).toBe("Checking both.");
    expect(chunks.filter((c) => c.type === "finish")).toEqual([{ type: "finish", finishReason: "tool_calls" }]);
    expect(chunks.at(-1)?.type).toBe("usage");
  });

  it("maps a follow-up turn with the tool results to the wire format, and reads the text answer", async () => {
    const req: ToolChatRequest = { model: adapter.model, messages: FOLLOW_UP, tools: TOOLS };
    const res = await provider.chat(req);
    expect(wire.conversation(sent())).toEqual(wire.expectedFollowUp);
    expect(res).toMatchObject({ text: REPLY, finishReason: "stop" });
    expect(res.toolCalls).toBeUndefined();
    const chunks = await collect(provider.streamChat(req));
    expect(wire.conversation(sent())).toEqual(wire.expectedFollowUp);
    expect(chunks.map((c) => (c.type === "delta" ? c.text : "")).join("")).toBe(REPLY);
  });

  it.each(Object.keys(CHOICES) as Array<keyof typeof CHOICES>)("maps tool_choice %s", async (choice) => {
    const res = await provider.chat(toolReq({ toolChoice: CHOICES[choice] }));
    expect(wire.choice(sent())).toEqual(wire.expectedChoice[choice]);
    // The fakes, like the APIs, call no tool when told none.
    expect(res.finishReason).toBe(choice === "none" ? "stop" : "tool_calls");
  });

  it("leaves tool choice to the provider's default when none is asked for", async () => {
    await provider.chat(toolReq());
    expect(wire.choice(sent())).toBeUndefined();
  });

  it("maps stop sequences, seed, penalties and response format where the provider has them", async () => {
    const res = await provider.chat({ model: adapter.model, messages: MESSAGES, ...wire.optionsRequest });
    expect(wire.options(sent())).toEqual(wire.expectedOptions);
    expect(res.text).toBe(REPLY);
  });

  // OpenAI-compatible servers are sent every field as asked; the others refuse what they cannot map.
  (wire.refused ? it : it.skip)("refuses at call time a field the provider cannot honour, naming it, without a request", async () => {
    const refused = wire.refused!;
    const count = fake.requests.length;
    for (const run of [() => provider.chat({ model: adapter.model, messages: MESSAGES, ...refused.extra }), () => stream(refused.extra)]) {
      const err = await failure(run);
      expect([err.kind, err.retryable]).toEqual(["bad_request", false]);
      expect(err.message).toContain(refused.field);
    }
    expect(fake.requests).toHaveLength(count);
  });

  it("unsupportedFields names what this provider cannot honour, and the catalog's missing capabilities", () => {
    expect(unsupportedFields(EVERY_FIELD, entryFor(adapter.provider, { tools: true, json_schema: true }))).toEqual(wire.unsupported);
    const lacking = unsupportedFields(EVERY_FIELD, entryFor(adapter.provider, { tools: false, json_schema: false }));
    expect(lacking.slice(0, 2)).toEqual(["tools", "response_format"]);
    // Served by the simulated provider (no key configured), only what it cannot do counts.
    expect(unsupportedFields(EVERY_FIELD, entryFor(adapter.provider, { tools: true, json_schema: true }), { simulated: true })).toEqual([
      "logprobs",
      "top_logprobs",
    ]);
    expect(unsupportedFields({ model: "m", messages: MESSAGES }, entryFor(adapter.provider, { tools: false, json_schema: false }))).toEqual([]);
  });

  function stream(extra: Partial<TextChatRequest>): Promise<ChatChunk[]> {
    return collect(provider.streamChat({ model: adapter.model, messages: MESSAGES, ...extra }));
  }
});

/** Cases only one wire format has, run through the same fakes and the same assertions style. */
describe("ChatProvider conformance extras: anthropic", () => {
  let fake: Awaited<ReturnType<typeof startFakeAnthropic>>;
  let provider: ReturnType<typeof createAnthropicProvider>;
  const req = (extra: Partial<TextChatRequest> = {}): TextChatRequest => ({ model: "claude-haiku-4-5", messages: MESSAGES, ...extra });

  beforeAll(async () => {
    fake = await startFakeAnthropic({ reply: REPLY, cachedTokens: 4 });
    provider = createAnthropicProvider({ baseUrl: fake.url, apiKey: "sk-ant-test", streamIdleTimeoutMs: 400, timeoutMs: 800 });
  });
  afterEach(() => fake.setMode({ kind: "ok" }));
  afterAll(async () => {
    await provider.close();
    await fake.close();
  });

  it("event: error with overloaded_error after output started → retryable server_error naming the type", async () => {
    fake.setMode({ kind: "stream_error_after", chunks: 3 + 2, type: "overloaded_error", message: "Overloaded" });
    const seen: string[] = [];
    const err = await failure(() => collect(provider.streamChat(req()), seen));
    expect([err.kind, err.retryable, err.countsForBreaker]).toEqual(["server_error", true, true]);
    expect(err.message).toContain("overloaded_error: Overloaded");
    expect(seen.join("")).toBe(REPLY_WORDS.slice(0, 2).join(" "));
  });

  it.each([
    ["rate_limit_error", "rate_limited", true],
    ["api_error", "server_error", true],
    ["invalid_request_error", "bad_request", false],
  ] as const)("event: error with %s → %s", async (type, kind, retryable) => {
    fake.setMode({ kind: "stream_error_after", chunks: 1, type });
    const err = await failure(() => collect(provider.streamChat(req())));
    expect([err.kind, err.retryable]).toEqual([kind, retryable]);
  });

  it("HTTP 529 overloaded_error with retry-after → server_error with retryAfterMs", async () => {
    fake.setMode({ kind: "error", status: 529, headers: { "retry-after": "7" } });
    const err = await failure(() => provider.chat(req()));
    expect([err.kind, err.status, err.retryAfterMs]).toEqual(["server_error", 529, 7000]);
    expect(err.message).toMatch(/overloaded_error: Overloaded \(request_id req_/);
  });

  it("counts cache reads into input tokens and reports them as cached, streamed or not", async () => {
    const usage = { inputTokens: 6, outputTokens: REPLY_WORDS.length, cachedTokens: 4 };
    expect((await provider.chat(req())).usage).toEqual(usage);
    expect((await collect(provider.streamChat(req()))).at(-1)).toEqual({ type: "usage", usage });
  });
});

describe("ChatProvider conformance extras: gemini", () => {
  let fake: Awaited<ReturnType<typeof startFakeGemini>>;
  let provider: ReturnType<typeof createGeminiProvider>;
  const req = (extra: Partial<TextChatRequest> = {}): TextChatRequest => ({ model: "gemini-2.5-flash", messages: MESSAGES, ...extra });

  beforeAll(async () => {
    fake = await startFakeGemini({ reply: REPLY });
    provider = createGeminiProvider({ baseUrl: fake.url, apiKey: "AIza-test", streamIdleTimeoutMs: 400, timeoutMs: 800 });
  });
  afterEach(() => fake.setMode({ kind: "ok" }));
  afterAll(async () => {
    await provider.close();
    await fake.close();
  });

  it("the fake frames alt=sse with CRLF by default, and the adapter reads it", async () => {
    const res = await request(`${fake.url}/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse`, {
      method: "POST",
      headers: { "x-goog-api-key": "k", "content-type": "application/json" },
      body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "Say hello." }] }] }),
    });
    const raw = await res.body.text();
    expect(raw.split("\r\n\r\n").filter(Boolean)).toHaveLength(REPLY_WORDS.length);
    expect(raw.replace(/\r\n/g, "")).not.toMatch(/[\r\n]/);
    const chunks = await collect(provider.streamChat(req()));
    expect(chunks.map((c) => (c.type === "delta" ? c.text : "")).join("")).toBe(REPLY);
  });

  it.each([["\n"], ["\r"]] as const)("also reads %j framing, split into 3-byte pieces", async (lineEnding) => {
    const other = await startFakeGemini({ reply: REPLY, lineEnding, fragmentBytes: 3 });
    const p = createGeminiProvider({ baseUrl: other.url, apiKey: "k", streamIdleTimeoutMs: 2000 });
    try {
      const chunks = await collect(p.streamChat(req()));
      expect(chunks.map((c) => (c.type === "delta" ? c.text : "")).join("")).toBe(REPLY);
      expect(chunks.filter((c) => c.type !== "delta")).toHaveLength(2);
    } finally {
      await p.close();
      await other.close();
    }
  });

  it("reports the last cumulative usageMetadata once (not a sum), thoughts as output, cached as a subset", async () => {
    const own = await startFakeGemini({ reply: REPLY, cachedTokens: 2, thoughtsTokens: 5 });
    const p = createGeminiProvider({ baseUrl: own.url, apiKey: "k" });
    try {
      const chunks = await collect(p.streamChat(req()));
      const usages = chunks.filter((c) => c.type === "usage");
      expect(usages).toEqual([{ type: "usage", usage: { inputTokens: 6, outputTokens: REPLY_WORDS.length + 5, cachedTokens: 2 } }]);
      expect((await p.chat(req())).usage).toEqual({ inputTokens: 6, outputTokens: REPLY_WORDS.length + 5, cachedTokens: 2 });
    } finally {
      await p.close();
      await own.close();
    }
  });

  it("HTTP 429 RESOURCE_EXHAUSTED with RetryInfo retryDelay → rate_limited, retryAfterMs from the body", async () => {
    fake.setMode({ kind: "error", status: 429, retryDelay: "47s" });
    for (const run of [() => provider.chat(req()), () => collect(provider.streamChat(req()))]) {
      const err = await failure(run);
      expect([err.kind, err.status, err.retryable, err.retryAfterMs]).toEqual(["rate_limited", 429, true, 47_000]);
      expect(err.message).toContain("RESOURCE_EXHAUSTED");
    }
  });

  it("an invalid key (400 INVALID_ARGUMENT, API_KEY_INVALID) → auth, not retryable", async () => {
    const own = await startFakeGemini({ reply: REPLY, apiKey: "right" });
    const p = createGeminiProvider({ baseUrl: own.url, apiKey: "wrong" });
    try {
      const err = await failure(() => p.chat(req()));
      expect([err.kind, err.status, err.retryable, err.countsForBreaker]).toEqual(["auth", 400, false, false]);
      expect(err.message).toContain("API key not valid");
    } finally {
      await p.close();
      await own.close();
    }
  });

  it.each([
    [{ bare: true }, "server_error"],
    [{ code: 429 }, "rate_limited"],
    [{ code: 400, bare: true }, "bad_request"],
  ] as const)("an error object inside the stream %j → %s, after the text that arrived", async (fields, kind) => {
    fake.setMode({ kind: "stream_error_after", chunks: 2, message: "mid-stream trouble", ...fields });
    const seen: string[] = [];
    const err = await failure(() => collect(provider.streamChat(req()), seen));
    expect(err.kind).toBe(kind);
    expect(err.message).toContain("mid-stream trouble");
    expect(seen.join("")).toBe(REPLY_WORDS.slice(0, 2).join(" "));
  });
});
