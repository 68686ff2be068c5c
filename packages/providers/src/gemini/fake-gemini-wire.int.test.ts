import { startFakeGemini, type FakeGemini } from "@switchyard/testkit";
import { request } from "undici";

/**
 * The fake's wire format checked against provider-wire-formats.md §3 with raw HTTP, so the
 * conformance suite's fake is itself known to speak Gemini's format (not just our parser's).
 */
describe("fake Gemini server wire format", () => {
  let fake: FakeGemini;
  beforeAll(async () => {
    fake = await startFakeGemini({ reply: "Hi there!" });
  });
  afterAll(() => fake.close());

  const post = (path: string, body: unknown, headers: Record<string, string> = { "x-goog-api-key": "k" }) =>
    request(`${fake.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
  const ask = { contents: [{ role: "user", parts: [{ text: "Hello!" }] }] };

  it("streams CRLF-framed data: chunks with only new text, cumulative usage, finishReason last, no sentinel", async () => {
    const res = await post("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", ask);
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("text/event-stream");
    const raw = await res.body.text();
    expect(raw.endsWith("\r\n\r\n")).toBe(true);
    const events = raw.split("\r\n\r\n").filter(Boolean);
    expect(events.every((e) => e.startsWith("data: ") && !e.includes("\n"))).toBe(true);
    const chunks = events.map((e) => JSON.parse(e.slice(6)) as Record<string, unknown>);
    expect(chunks).toEqual([
      {
        candidates: [{ content: { parts: [{ text: "Hi" }], role: "model" } }],
        usageMetadata: { promptTokenCount: 2, totalTokenCount: 2, promptTokensDetails: [{ modality: "TEXT", tokenCount: 2 }] },
        modelVersion: "gemini-2.5-flash",
        responseId: expect.any(String),
      },
      {
        candidates: [{ content: { parts: [{ text: " there!" }], role: "model" }, finishReason: "STOP" }],
        usageMetadata: {
          promptTokenCount: 2,
          candidatesTokenCount: 2,
          totalTokenCount: 4,
          promptTokensDetails: [{ modality: "TEXT", tokenCount: 2 }],
          candidatesTokensDetails: [{ modality: "TEXT", tokenCount: 2 }],
        },
        modelVersion: "gemini-2.5-flash",
        responseId: chunks[0]?.responseId,
      },
    ]);
  });

  it("answers generateContent with a GenerateContentResponse, accepting snake_case fields and ?key=", async () => {
    const res = await post(
      "/v1beta/models/gemini-2.5-pro:generateContent?key=k",
      {
        system_instruction: { parts: [{ text: "Be nice." }] },
        contents: [{ parts: [{ inline_data: { mime_type: "image/png", data: "iVBORw0KGgo=" } }, { text: "Hello!" }] }],
        generation_config: { max_output_tokens: 1 },
      },
      {},
    );
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toMatchObject({
      candidates: [{ content: { parts: [{ text: "Hi" }], role: "model" }, finishReason: "MAX_TOKENS" }],
      usageMetadata: { promptTokenCount: 4, candidatesTokenCount: 1, totalTokenCount: 5 },
      modelVersion: "gemini-2.5-pro",
    });
  });

  it("sends Google's pretty-printed error envelope: 403 without a key, 400 API_KEY_INVALID for a wrong one, 429 with RetryInfo", async () => {
    const noKey = await post("/v1beta/models/m:generateContent", ask, {});
    expect(noKey.statusCode).toBe(403);
    expect(await noKey.body.json()).toMatchObject({ error: { code: 403, status: "PERMISSION_DENIED" } });
    const strict = await startFakeGemini({ apiKey: "right" });
    try {
      const bad = await request(`${strict.url}/v1beta/models/m:generateContent`, {
        method: "POST",
        headers: { "x-goog-api-key": "wrong" },
        body: JSON.stringify(ask),
      });
      expect(bad.statusCode).toBe(400);
      expect(await bad.body.json()).toMatchObject({
        error: { code: 400, status: "INVALID_ARGUMENT", details: [{ reason: "API_KEY_INVALID" }, { locale: "en-US" }] },
      });
    } finally {
      await strict.close();
    }
    fake.setMode({ kind: "error", status: 429, retryDelay: "47s" });
    const limited = await post("/v1beta/models/gemini-2.5-flash:generateContent", ask);
    fake.setMode({ kind: "ok" });
    const text = await limited.body.text();
    expect(text).toContain('\n  "error": {\n');
    expect(JSON.parse(text)).toMatchObject({
      error: {
        code: 429,
        status: "RESOURCE_EXHAUSTED",
        details: expect.arrayContaining([{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "47s" }]),
      },
    });
  });

  it("rejects what the API rejects: the assistant role, empty contents, over 100 batch requests, a model mismatch", async () => {
    const cases: Array<[string, unknown, RegExp]> = [
      ["/v1beta/models/m:generateContent", { contents: [{ role: "assistant", parts: [{ text: "x" }] }] }, /valid role: user, model/],
      ["/v1beta/models/m:generateContent", { contents: [] }, /contents is not specified/],
      [
        "/v1beta/models/e:batchEmbedContents",
        { requests: Array.from({ length: 101 }, () => ({ model: "models/e", content: { parts: [{ text: "x" }] } })) },
        /at most 100 requests/,
      ],
      [
        "/v1beta/models/e:batchEmbedContents",
        { requests: [{ model: "models/other", content: { parts: [{ text: "x" }] } }] },
        /must match the model in the URL/,
      ],
    ];
    for (const [path, body, message] of cases) {
      const res = await post(path, body);
      expect(res.statusCode).toBe(400);
      expect(((await res.body.json()) as { error: { status: string; message: string } }).error).toMatchObject({
        status: "INVALID_ARGUMENT",
        message: expect.stringMatching(message),
      });
    }
  });

  it("answers embedContent and, without alt=sse, streamGenerateContent as a JSON array", async () => {
    const one = (await (
      await post("/v1beta/models/text-embedding-004:embedContent", { content: { parts: [{ text: "same" }] }, outputDimensionality: 4 })
    ).body.json()) as { embedding: { values: number[] } };
    expect(one.embedding.values).toHaveLength(4);
    const arr = (await (await post("/v1beta/models/gemini-2.5-flash:streamGenerateContent", ask)).body.json()) as unknown[];
    expect(arr).toHaveLength(2);
  });
});
