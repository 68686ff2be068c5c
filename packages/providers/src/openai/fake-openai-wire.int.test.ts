import { startFakeOpenAI, type FakeOpenAI } from "@switchyard/testkit";
import { request } from "undici";

/**
 * The fake's wire format checked against provider-wire-formats.md §1 with raw HTTP, so the
 * conformance suite's fake is itself known to speak OpenAI's format (not just our parser's).
 */
describe("fake OpenAI server wire format", () => {
  let fake: FakeOpenAI;
  beforeAll(async () => {
    fake = await startFakeOpenAI({ reply: "Hi there!" });
  });
  afterAll(() => fake.close());

  const post = (path: string, body: unknown) =>
    request(`${fake.url}${path}`, { method: "POST", headers: { authorization: "Bearer k", "content-type": "application/json" }, body: JSON.stringify(body) });

  it("streams chat.completion.chunk events, a usage chunk with empty choices, then [DONE]", async () => {
    const res = await post("/chat/completions", {
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "Hello!" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/event-stream/);
    expect(res.headers).toMatchObject({ "openai-version": "2020-10-01", "x-ratelimit-limit-requests": "10000" });
    expect(res.headers["x-request-id"]).toMatch(/^req_/);
    const text = await res.body.text();
    const events = text.split("\n\n").filter(Boolean);
    expect(events.every((e) => e.startsWith("data: "))).toBe(true);
    expect(events.at(-1)).toBe("data: [DONE]");
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.slice(6)) as Record<string, unknown>);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(
      chunks.every(
        (c) => c.object === "chat.completion.chunk" && c.model === "gpt-4o-mini" && typeof c.created === "number" && typeof c.obfuscation === "string",
      ),
    ).toBe(true);
    expect(chunks[0]?.choices).toEqual([{ index: 0, delta: { role: "assistant", content: "", refusal: null }, logprobs: null, finish_reason: null }]);
    expect(chunks.slice(1, 3).map((c) => c.choices)).toEqual([
      [{ index: 0, delta: { content: "Hi" }, logprobs: null, finish_reason: null }],
      [{ index: 0, delta: { content: " there!" }, logprobs: null, finish_reason: null }],
    ]);
    expect(chunks[3]?.choices).toEqual([{ index: 0, delta: {}, logprobs: null, finish_reason: "stop" }]);
    expect(chunks.slice(0, 4).every((c) => c.usage === null)).toBe(true);
    expect(chunks[4]).toMatchObject({ choices: [], usage: { prompt_tokens: 2, completion_tokens: 2, total_tokens: 4 } });
  });

  it("omits usage fields and the usage chunk without include_usage", async () => {
    const res = await post("/chat/completions", {
      model: "m",
      messages: [{ role: "user", content: "x" }],
      stream: true,
      stream_options: { include_obfuscation: false },
    });
    const chunks = (await res.body.text())
      .split("\n\n")
      .filter(Boolean)
      .slice(0, -1)
      .map((e) => JSON.parse(e.slice(6)) as Record<string, unknown>);
    expect(chunks).toHaveLength(4);
    expect(chunks.some((c) => "usage" in c || "obfuscation" in c)).toBe(false);
  });

  it("answers non-streaming with a chat.completion object", async () => {
    const res = await post("/chat/completions", { model: "gpt-4o-mini", messages: [{ role: "user", content: "Hello!" }] });
    expect(await res.body.json()).toMatchObject({
      object: "chat.completion",
      model: "gpt-4o-mini",
      choices: [{ index: 0, message: { role: "assistant", content: "Hi there!", refusal: null }, logprobs: null, finish_reason: "stop" }],
      usage: { prompt_tokens: 2, completion_tokens: 2, total_tokens: 4, prompt_tokens_details: { cached_tokens: 0 } },
    });
  });

  it("answers logprobs: true with choices[].logprobs.content, one token per piece with top_logprobs alternatives, streamed and not", async () => {
    const ask = { model: "m", messages: [{ role: "user", content: "x" }], logprobs: true, top_logprobs: 2 };
    const plain = (await (await post("/chat/completions", ask)).body.json()) as { choices: Array<{ logprobs: unknown }> };
    const hi = {
      token: "Hi",
      logprob: expect.any(Number),
      bytes: [72, 105],
      top_logprobs: [
        { token: "Hi", logprob: expect.any(Number), bytes: [72, 105] },
        { token: "alt1", logprob: expect.any(Number), bytes: [97, 108, 116, 49] },
      ],
    };
    const there = {
      token: " there!",
      logprob: expect.any(Number),
      bytes: [...Buffer.from(" there!")],
      top_logprobs: [expect.objectContaining({ token: " there!" }), expect.objectContaining({ token: " alt1" })],
    };
    expect(plain.choices[0]?.logprobs).toEqual({ content: [hi, there], refusal: null });
    const text = await (await post("/chat/completions", { ...ask, stream: true })).body.text();
    const choices = text
      .split("\n\n")
      .filter(Boolean)
      .slice(0, -1)
      .map((e) => (JSON.parse(e.slice(6)) as { choices: Array<{ logprobs: unknown }> }).choices[0]?.logprobs);
    // As OpenAI streams them: content [] on the role chunk, each token on its piece's chunk, null on the finish chunk.
    expect(choices).toEqual([{ content: [], refusal: null }, { content: [hi], refusal: null }, { content: [there], refusal: null }, null]);
    const bad = await post("/chat/completions", { model: "m", messages: [{ role: "user", content: "x" }], top_logprobs: 2 });
    expect(bad.statusCode).toBe(400);
    expect(await bad.body.json()).toMatchObject({ error: { param: "top_logprobs" } });
  });

  it("sends OpenAI's error body, status and headers; rejects stream_options without stream", async () => {
    fake.setMode({ kind: "error", status: 429, headers: { "retry-after": "2" } });
    const res = await post("/chat/completions", { model: "m", messages: [{ role: "user", content: "x" }] });
    fake.setMode({ kind: "ok" });
    expect(res.statusCode).toBe(429);
    expect(res.headers["retry-after"]).toBe("2");
    expect(await res.body.json()).toEqual({
      error: { message: expect.stringContaining("Rate limit reached"), type: "tokens", param: null, code: "rate_limit_exceeded" },
    });
    const bad = await post("/chat/completions", { model: "m", messages: [{ role: "user", content: "x" }], stream_options: { include_usage: true } });
    expect(bad.statusCode).toBe(400);
    expect(await bad.body.json()).toMatchObject({ error: { param: "stream_options", type: "invalid_request_error" } });
  });

  it("serves base64 embeddings that decode to the float vectors, and lists models", async () => {
    const floats = (await (await post("/embeddings", { model: "e", input: "same" })).body.json()) as { data: Array<{ embedding: number[] }> };
    const b64 = (await (await post("/embeddings", { model: "e", input: ["same"], encoding_format: "base64" })).body.json()) as {
      data: Array<{ embedding: string }>;
    };
    // Copy out of Node's shared Buffer pool before viewing the bytes as float32.
    const decoded = Array.from(new Float32Array(Uint8Array.from(Buffer.from(b64.data[0]?.embedding ?? "", "base64")).buffer));
    expect(decoded).toEqual(floats.data[0]?.embedding);
    const models = await request(`${fake.url}/models`, { headers: { authorization: "Bearer k" } });
    expect(await models.body.json()).toMatchObject({
      object: "list",
      data: expect.arrayContaining([{ id: "gpt-4o-mini", object: "model", created: 1686935002, owned_by: "system" }]),
    });
  });
});
