import OpenAI from "openai";
import type { ModelCatalog } from "@switchyard/contracts";
import {
  apiClient,
  readSse,
  startFakeAnthropic,
  startFakeGemini,
  startFakeOpenAI,
  startStack,
  writeTestCatalog,
  type FakeAnthropic,
  type FakeGemini,
  type FakeOpenAI,
  type FakeToolReply,
  type RecordedRequest,
  type Stack,
} from "@switchyard/testkit";

type Json = Record<string, any>;
type Family = "openai" | "anthropic" | "gemini" | "simulated";

const entry = (id: string, provider: Family, upstream: string, caps: { tools: boolean; json_schema: boolean }) => ({
  id,
  provider,
  upstream_model: upstream,
  tier: "flash" as const,
  capabilities: { vision: false, long_context: false, ...caps },
  context_window: 128000,
  max_output_tokens: 4096,
  pricing: { input: 1, output: 4, cached_input: 0.1 },
  ...(provider === "simulated" ? { simulated: { ttft_ms: 5, tokens_per_second: 2000, failure_rate: 0 } } : {}),
});
// One tool-capable model per family (each alone in its provider, so an explicit request is served by it),
// and an OpenAI-compatible model whose catalog entry says it cannot call tools.
const CATALOG: ModelCatalog = {
  default_model: "oa-tools",
  models: [
    entry("oa-tools", "openai", "gpt-4o-mini", { tools: true, json_schema: true }),
    entry("an-tools", "anthropic", "claude-sonnet-4-5", { tools: true, json_schema: false }),
    entry("ge-tools", "gemini", "gemini-2.5-flash", { tools: true, json_schema: true }),
    entry("sim-tools", "simulated", "sim-tools", { tools: true, json_schema: true }),
    { ...entry("oa-plain", "openai", "gpt-3.5-turbo", { tools: false, json_schema: false }), tier: "lite" as const },
  ],
};

const TOOLS: OpenAI.ChatCompletionFunctionTool[] = [
  {
    type: "function",
    function: {
      name: "get_weather",
      description: "Current weather of a city",
      parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    },
  },
  {
    type: "function",
    function: {
      name: "get_time",
      description: "Local time in a time zone",
      parameters: { type: "object", properties: { tz: { type: "string" } }, required: ["tz"] },
    },
  },
];
const CALLS = [
  { id: "call_weather_1", name: "get_weather", arguments: '{"city":"Paris, France"}' },
  { id: "call_time_2", name: "get_time", arguments: '{"tz":"Europe/Paris"}' },
];
const RESULT = "sunny, 21 degrees";
// Two parallel calls, unless the conversation already carries our tool results (then: text).
const toolReply = (req: RecordedRequest): FakeToolReply | undefined => (JSON.stringify(req.body).includes(RESULT) ? undefined : { calls: CALLS });
const MODELS: Array<[Family, string]> = [
  ["openai", "oa-tools"],
  ["anthropic", "an-tools"],
  ["gemini", "ge-tools"],
  ["simulated", "sim-tools"],
];
const ASK: OpenAI.ChatCompletionMessageParam[] = [{ role: "user", content: "What's the weather and the time in Paris?" }];

let openai: FakeOpenAI;
let anthropic: FakeAnthropic;
let gemini: FakeGemini;
let s: Stack;
let client: OpenAI;

beforeAll(async () => {
  openai = await startFakeOpenAI({ reply: "It is sunny in Paris.", toolReply });
  anthropic = await startFakeAnthropic({ reply: "It is sunny in Paris.", toolReply });
  gemini = await startFakeGemini({ reply: "It is sunny in Paris.", toolReply });
  s = await startStack({
    env: {
      MODEL_CATALOG_PATH: writeTestCatalog(CATALOG),
      OPENAI_BASE_URL: openai.url,
      OPENAI_API_KEY: "sk-oa",
      ANTHROPIC_BASE_URL: anthropic.url,
      ANTHROPIC_API_KEY: "sk-an",
      GEMINI_BASE_URL: gemini.url,
      GEMINI_API_KEY: "sk-ge",
      MAX_UPSTREAM_WAIT_MS: "1000",
    },
  });
  client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: s.key, maxRetries: 0 });
}, 60_000);
afterAll(async () => {
  await s?.stop();
  await Promise.all([openai?.close(), anthropic?.close(), gemini?.close()]);
});

/** The last chat request the family's fake received (the simulated provider has none). */
function lastWire(family: Family): Json {
  const reqs =
    family === "openai"
      ? openai.requests.filter((r) => r.path.endsWith("/chat/completions"))
      : family === "anthropic"
        ? anthropic.requests.filter((r) => r.path.endsWith("/messages"))
        : gemini.requests.filter((r) => /generatecontent$/i.test(r.path));
  return reqs.at(-1)!.body as Json;
}

/** What each family's calls must be: the scripted pair on the fakes, the simulated model's one call of the first tool. */
function expectCalls(family: Family, calls: OpenAI.ChatCompletionMessageToolCall[] | undefined): void {
  if (family === "simulated") {
    expect(calls).toHaveLength(1);
    expect(calls![0]).toMatchObject({ type: "function", function: { name: "get_weather" } });
    expect(typeof JSON.parse((calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall).function.arguments).city).toBe("string");
    return;
  }
  const fns = calls!.map((c) => (c as OpenAI.ChatCompletionMessageFunctionToolCall).function);
  expect(fns.map((f) => f.name)).toEqual(CALLS.map((c) => c.name));
  expect(fns.map((f) => JSON.parse(f.arguments))).toEqual(CALLS.map((c) => JSON.parse(c.arguments)));
  // Gemini sends no call ids: the adapter makes them; the others keep the provider's.
  if (family !== "gemini") expect(calls!.map((c) => c.id)).toEqual(CALLS.map((c) => c.id));
  expect(new Set(calls!.map((c) => c.id)).size).toBe(2);
}

describe.each(MODELS)("%s (%s)", (family, model) => {
  test("tools, not streamed: message.tool_calls and finish_reason tool_calls; the provider got the tools on its wire", async () => {
    const r = await client.chat.completions.create({ model, messages: ASK, tools: TOOLS, tool_choice: "auto" });
    expect(r.choices[0]!.finish_reason).toBe("tool_calls");
    expect(r.choices[0]!.message.content).toBeNull();
    expectCalls(family, r.choices[0]!.message.tool_calls);
    if (family === "openai") expect(lastWire(family)).toMatchObject({ tools: TOOLS, tool_choice: "auto" });
    if (family === "anthropic")
      expect(lastWire(family).tools).toEqual(
        TOOLS.map((t) => ({ name: t.function.name, description: t.function.description, input_schema: t.function.parameters })),
      );
    if (family === "gemini") expect(lastWire(family).tools[0].functionDeclarations.map((d: Json) => d.name)).toEqual(["get_weather", "get_time"]);
  });

  test("tools, streamed: OpenAI's delta.tool_calls fragments, reassembled by the SDK's stream helper", async () => {
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    const stream = client.chat.completions.stream({ model, messages: ASK, tools: TOOLS });
    stream.on("chunk", (c) => void chunks.push(c));
    const final = await stream.finalChatCompletion();
    expect(final.choices[0]!.finish_reason).toBe("tool_calls");
    expectCalls(family, final.choices[0]!.message.tool_calls);
    // The first fragment of each call carries index, id, type and name; later ones arguments only.
    const fragments = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    const seen = new Set<number>();
    for (const f of fragments) {
      if (!seen.has(f.index)) {
        expect(f).toMatchObject({ id: expect.any(String), type: "function", function: { name: expect.any(String) } });
        seen.add(f.index);
      } else {
        expect(Object.keys(f).sort()).toEqual(["function", "index"]);
        expect(Object.keys(f.function!)).toEqual(["arguments"]);
      }
    }
    expect([...seen]).toEqual(family === "simulated" ? [0] : [0, 1]);
    // The fakes stream arguments in 7-character pieces: several fragments per call (Gemini sends each call whole).
    if (family === "openai" || family === "anthropic") expect(fragments.length).toBeGreaterThan(4);
    expect(chunks.filter((c) => c.choices[0]?.finish_reason).map((c) => c.choices[0]!.finish_reason)).toEqual(["tool_calls"]);
  });

  test("a follow-up turn with the tool results is mapped onto the provider's wire and answered in text", async () => {
    const first = await client.chat.completions.create({ model, messages: ASK, tools: TOOLS });
    const assistant = first.choices[0]!.message;
    const results: OpenAI.ChatCompletionToolMessageParam[] = assistant.tool_calls!.map((c) => ({ role: "tool", tool_call_id: c.id, content: RESULT }));
    // The assistant message goes back exactly as the SDK returned it (refusal, annotations and all).
    const r = await client.chat.completions.create({ model, messages: [...ASK, assistant, ...results], tools: TOOLS });
    expect(r.choices[0]!.finish_reason).toBe("stop");
    expect(r.choices[0]!.message.content).toEqual(expect.any(String));
    expect(r.choices[0]!.message.content!.length).toBeGreaterThan(0);
    expect(r.choices[0]!.message.tool_calls).toBeUndefined();
    const ids = assistant.tool_calls!.map((c) => c.id);
    if (family === "openai") {
      const msgs = lastWire(family).messages as Json[];
      expect(msgs.at(-3)).toMatchObject({ role: "assistant", content: null, tool_calls: assistant.tool_calls });
      expect(msgs.slice(-2)).toEqual(ids.map((id) => ({ role: "tool", tool_call_id: id, content: RESULT })));
    }
    if (family === "anthropic") {
      const msgs = lastWire(family).messages as Json[];
      expect(msgs.at(-2)).toEqual({
        role: "assistant",
        content: CALLS.map((c) => ({ type: "tool_use", id: c.id, name: c.name, input: JSON.parse(c.arguments) })),
      });
      expect(msgs.at(-1)).toEqual({ role: "user", content: ids.map((id) => ({ type: "tool_result", tool_use_id: id, content: RESULT })) });
    }
    if (family === "gemini") {
      const contents = lastWire(family).contents as Json[];
      expect(contents.at(-2)).toMatchObject({ role: "model", parts: CALLS.map((c) => ({ functionCall: { name: c.name, args: JSON.parse(c.arguments) } })) });
      expect(contents.at(-1)).toMatchObject({ role: "user", parts: CALLS.map((c) => ({ functionResponse: { name: c.name, response: { result: RESULT } } })) });
    }
  });

  test("stop sequences reach the provider (the simulated answer stops before one)", async () => {
    if (family === "simulated") {
      const full = (await client.chat.completions.create({ model, messages: [{ role: "user", content: "Tell me about queues" }] })).choices[0]!.message
        .content!;
      const word = full.split(" ")[3]!;
      const r = await client.chat.completions.create({ model, messages: [{ role: "user", content: "Tell me about queues" }], stop: [word] });
      expect(r.choices[0]!.message.content).toBe(full.slice(0, full.indexOf(word)));
      return;
    }
    await client.chat.completions.create({ model, messages: [{ role: "user", content: "count" }], stop: ["END", "\n\n"] });
    const wire = lastWire(family);
    if (family === "openai") expect(wire.stop).toEqual(["END", "\n\n"]);
    if (family === "anthropic") expect(wire.stop_sequences).toEqual(["END", "\n\n"]);
    if (family === "gemini") expect(wire.generationConfig.stopSequences).toEqual(["END", "\n\n"]);
  });

  test("response_format json_schema goes to a model that can honour it, and is a 400 naming the field where it cannot", async () => {
    const schema = {
      type: "object",
      properties: { city: { type: "string" }, temp_c: { type: "number" } },
      required: ["city", "temp_c"],
      additionalProperties: false,
    };
    const req = client.chat.completions.create({
      model,
      messages: [{ role: "user", content: "weather as JSON" }],
      response_format: { type: "json_schema", json_schema: { name: "weather", schema, strict: true } },
    });
    if (family === "anthropic") {
      await expect(req).rejects.toMatchObject({ status: 400, param: "response_format", code: "unsupported_parameter" });
      return;
    }
    const r = await req;
    if (family === "simulated") expect(Object.keys(JSON.parse(r.choices[0]!.message.content!)).sort()).toEqual(["city", "temp_c"]);
    if (family === "openai") expect(lastWire(family).response_format).toEqual({ type: "json_schema", json_schema: { name: "weather", schema, strict: true } });
    if (family === "gemini") expect(lastWire(family).generationConfig).toMatchObject({ responseMimeType: "application/json", responseJsonSchema: schema });
  });
});

test("a field the chosen model cannot honour is a 400 naming it, before any job runs", async () => {
  const strictTools = TOOLS.map((t) => ({ ...t, function: { ...t.function, strict: true } }));
  await expect(client.chat.completions.create({ model: "an-tools", messages: ASK, tools: strictTools })).rejects.toMatchObject({
    status: 400,
    param: "tools.0.function.strict",
    code: "unsupported_parameter",
  });
  await expect(client.chat.completions.create({ model: "ge-tools", messages: ASK, tools: TOOLS, parallel_tool_calls: false })).rejects.toMatchObject({
    status: 400,
    param: "parallel_tool_calls",
  });
  await expect(client.chat.completions.create({ model: "an-tools", messages: ASK, seed: 7 })).rejects.toMatchObject({ status: 400, param: "seed" });
  await expect(client.chat.completions.create({ model: "sim-tools", messages: ASK, logprobs: true })).rejects.toMatchObject({ status: 400, param: "logprobs" });
  await expect(client.chat.completions.create({ model: "an-tools", messages: ASK, logprobs: true })).rejects.toMatchObject({ status: 400, param: "logprobs" });
  await expect(client.chat.completions.create({ model: "ge-tools", messages: ASK, logprobs: true, top_logprobs: 2 })).rejects.toMatchObject({
    status: 400,
    param: "logprobs",
  });
  // The catalog says oa-plain cannot call tools.
  await expect(client.chat.completions.create({ model: "oa-plain", messages: ASK, tools: TOOLS })).rejects.toMatchObject({ status: 400, param: "tools" });
  // What stays unsupported everywhere.
  await expect(client.chat.completions.create({ model: "oa-tools", messages: ASK, n: 2 })).rejects.toMatchObject({ status: 400, param: "n" });
  await expect(
    client.chat.completions.create({ model: "oa-tools", messages: ASK, functions: [{ name: "f", parameters: { type: "object" } }] }),
  ).rejects.toMatchObject({ status: 400, param: "functions" });
});

test("with auto, a request with tools is routed only to tool-capable models", async () => {
  const r = await client.chat.completions.create({ model: "auto", messages: ASK, tools: TOOLS });
  expect(r.choices[0]!.finish_reason).toBe("tool_calls");
  expect(["oa-tools", "an-tools", "ge-tools", "sim-tools"]).toContain(r.model);
});

test("bad agent input is a 400 naming the field", async () => {
  const a = apiClient(s.url, s.key);
  const bad = async (body: Json) => (await a.post<Json>("/v1/chat/completions", { model: "oa-tools", ...body })).body.error;
  expect(await bad({ messages: ASK, tools: [{ type: "function", function: { name: "f", parameters: { type: "string" } } }] })).toMatchObject({
    param: "tools.0.function.parameters",
    type: "invalid_request_error",
  });
  expect(await bad({ messages: ASK, tools: [{ type: "function", function: { name: "bad name!" } }] })).toMatchObject({ param: "tools.0.function.name" });
  expect(await bad({ messages: [...ASK, { role: "tool", tool_call_id: "call_nowhere", content: "x" }], tools: TOOLS })).toMatchObject({
    param: "messages.1.tool_call_id",
  });
  expect(await bad({ messages: ASK, tools: TOOLS, tool_choice: { type: "function", function: { name: "nope" } } })).toMatchObject({
    param: "tool_choice.function.name",
  });
  expect(await bad({ messages: ASK, tool_choice: "required" })).toMatchObject({ param: "tool_choice" });
  expect(await bad({ messages: ASK, stop: ["a", "b", "c", "d", "e"] })).toMatchObject({ param: "stop" });
  // The same schemas guard POST /v1/jobs.
  const job = await a.post<Json>("/v1/jobs", { model: "oa-tools", messages: [...ASK, { role: "tool", tool_call_id: "call_nowhere", content: "x" }] });
  expect(job.status).toBe(400);
  expect(job.body.error).toMatchObject({ param: "messages.1.tool_call_id" });
});

test("POST /v1/jobs with tools: tool_call events on SSE, tool calls in the done event and in GET /v1/jobs/{id}", async () => {
  const a = apiClient(s.url, s.key);
  const created = await a.post<Json>("/v1/jobs", { model: "an-tools", messages: ASK, tools: TOOLS, tool_choice: "required", max_tokens: 200 });
  expect(created.status).toBe(202);
  const id = created.body.id as string;
  const events = (await readSse(`${s.url}/v1/jobs/${id}/events`, { headers: { authorization: `Bearer ${s.key}` } })).events;
  const fragments = events.filter((e) => e.event === "tool_call").map((e) => JSON.parse(e.data) as Json);
  expect(fragments.length).toBeGreaterThan(2);
  expect(fragments[0]).toMatchObject({ index: 0, id: CALLS[0]!.id, name: CALLS[0]!.name });
  const joined = [0, 1].map((i) =>
    fragments
      .filter((f) => f.index === i)
      .map((f) => f.arguments)
      .join(""),
  );
  expect(joined.map((j) => JSON.parse(j))).toEqual(CALLS.map((c) => JSON.parse(c.arguments)));
  const done = JSON.parse(events.find((e) => e.event === "done")!.data) as Json;
  const want = CALLS.map((c, i) => ({ id: c.id, type: "function", function: { name: c.name, arguments: joined[i] } }));
  expect(done.job.output).toMatchObject({ finish_reason: "tool_calls", tool_calls: want });
  const job = (await a.get<Json>(`/v1/jobs/${id}`)).body;
  expect(job).toMatchObject({ status: "succeeded", served_model: "an-tools", output: { finish_reason: "tool_calls", tool_calls: want } });
  // The wire got tool_choice required as Anthropic's "any".
  expect(lastWire("anthropic").tool_choice).toEqual({ type: "any" });
});

describe("logprobs on an OpenAI model", () => {
  const REPLY = "It is sunny in Paris.";
  /** Each item as OpenAI sends it: its bytes are its token's UTF-8, and it has `top` alternatives, each with bytes too. */
  function expectTokens(content: OpenAI.ChatCompletionTokenLogprob[] | null | undefined, top: number): void {
    expect(content).toHaveLength(5); // the fake's tokens: "It", " is", " sunny", " in", " Paris."
    expect(content!.map((t) => t.token).join("")).toBe(REPLY);
    for (const t of content!) {
      expect(t.logprob).toBeLessThan(0);
      expect(Buffer.from(t.bytes!).toString("utf8")).toBe(t.token);
      expect(t.top_logprobs).toHaveLength(top);
      if (top > 0) expect(t.top_logprobs[0]).toEqual({ token: t.token, logprob: t.logprob, bytes: t.bytes });
      for (const a of t.top_logprobs) expect(Buffer.from(a.bytes!).toString("utf8")).toBe(a.token);
    }
  }

  test("not streamed: choices[0].logprobs.content, one item per token with top_logprobs N; logprobs and top_logprobs went on the wire", async () => {
    const r = await client.chat.completions.create({ model: "oa-tools", messages: [{ role: "user", content: "weather?" }], logprobs: true, top_logprobs: 3 });
    expect(r.choices[0]!.message.content).toBe(REPLY);
    expectTokens(r.choices[0]!.logprobs?.content, 3);
    expect(r.choices[0]!.logprobs!.content!.map((t) => t.token).join("")).toBe(r.choices[0]!.message.content);
    expect(lastWire("openai")).toMatchObject({ logprobs: true, top_logprobs: 3 });
    // Without logprobs, nothing is asked and none come back.
    const plain = await client.chat.completions.create({ model: "oa-tools", messages: [{ role: "user", content: "weather?" }] });
    expect(plain.choices[0]!.logprobs).toBeNull();
    expect(lastWire("openai")).not.toHaveProperty("logprobs");
    expect(lastWire("openai")).not.toHaveProperty("top_logprobs");
  });

  test("streamed: each chunk's logprobs.content carries its tokens, which concatenate to the streamed text", async () => {
    const stream = await client.chat.completions.create({
      model: "oa-tools",
      messages: [{ role: "user", content: "weather?" }],
      logprobs: true,
      top_logprobs: 2,
      stream: true,
    });
    let text = "";
    const tokens: OpenAI.ChatCompletionTokenLogprob[] = [];
    for await (const c of stream) {
      const choice = c.choices[0];
      text += choice?.delta.content ?? "";
      const content = choice?.logprobs?.content ?? [];
      // A chunk's tokens are its own text.
      expect(content.map((t) => t.token).join("")).toBe(choice?.delta.content ?? "");
      tokens.push(...content);
    }
    expect(text).toBe(REPLY);
    expectTokens(tokens, 2);
    expect(lastWire("openai")).toMatchObject({ stream: true, logprobs: true, top_logprobs: 2 });
  });

  test("a streamed answer cut twice is answered by a plain call: its logprobs replace the cut ones, none twice", async () => {
    openai.setMode({ kind: "cut_after", chunks: 3, streamOnly: true });
    try {
      const r = await client.chat.completions.create({ model: "oa-tools", messages: [{ role: "user", content: "weather?" }], logprobs: true, top_logprobs: 1 });
      expect(r.choices[0]!.message.content).toBe(REPLY);
      expectTokens(r.choices[0]!.logprobs?.content, 1);
      expect(lastWire("openai")).toMatchObject({ logprobs: true, top_logprobs: 1 });
      expect(lastWire("openai").stream).not.toBe(true);
    } finally {
      openai.setMode({ kind: "ok" });
    }
  });

  test("POST /v1/jobs with logprobs: on the delta events and in GET /v1/jobs/{id} output", async () => {
    const a = apiClient(s.url, s.key);
    const created = await a.post<Json>("/v1/jobs", { model: "oa-tools", messages: [{ role: "user", content: "weather?" }], logprobs: true });
    expect(created.status).toBe(202);
    const id = created.body.id as string;
    const events = (await readSse(`${s.url}/v1/jobs/${id}/events`, { headers: { authorization: `Bearer ${s.key}` } })).events;
    const deltas = events.filter((e) => e.event === "delta").map((e) => JSON.parse(e.data) as { text: string; logprobs?: OpenAI.ChatCompletionTokenLogprob[] });
    for (const d of deltas) expect(d.logprobs!.map((t) => t.token).join("")).toBe(d.text);
    expectTokens(
      deltas.flatMap((d) => d.logprobs!),
      0,
    );
    const job = (await a.get<Json>(`/v1/jobs/${id}`)).body;
    expect(job).toMatchObject({ status: "succeeded", served_model: "oa-tools", output: { text: REPLY } });
    expectTokens(job.output.logprobs, 0);
    expect(job.output.logprobs).toEqual(deltas.flatMap((d) => d.logprobs!));
    expect(lastWire("openai")).toMatchObject({ logprobs: true });
    expect(lastWire("openai")).not.toHaveProperty("top_logprobs");
  });
});
