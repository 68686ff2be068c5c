import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { startFakeGemini, type FakeGemini } from "@switchyard/testkit";
import { isProviderError } from "../types";
import { createGeminiProvider, type GeminiProvider } from "./index";

/** Gemini-specific behaviour beyond the shared ChatProvider conformance suite. */
describe("Gemini adapter", () => {
  let fake: FakeGemini;
  const providers: GeminiProvider[] = [];
  const make = (opts: Partial<Parameters<typeof createGeminiProvider>[0]> = {}): GeminiProvider => {
    const p = createGeminiProvider({ baseUrl: fake.url, apiKey: "AIza-right", ...opts });
    providers.push(p);
    return p;
  };
  const messages = [{ role: "user" as const, content: "hi" }];

  beforeAll(async () => {
    fake = await startFakeGemini({ apiKey: "AIza-right", reply: "Fine, thanks." });
  });
  afterEach(() => fake.setMode({ kind: "ok" }));
  afterAll(async () => {
    await Promise.all(providers.map((p) => p.close()));
    await fake.close();
  });

  it("sends the key as x-goog-api-key (never in the URL) to the model method paths", async () => {
    const p = make();
    await p.chat({ model: "gemini-2.5-flash", messages });
    expect(fake.requests.at(-1)).toMatchObject({
      path: "/v1beta/models/gemini-2.5-flash:generateContent",
      query: {},
      headers: { "x-goog-api-key": "AIza-right", "content-type": "application/json" },
    });
    for await (const _ of p.streamChat({ model: "gemini-2.5-flash", messages })) void _;
    expect(fake.requests.at(-1)).toMatchObject({ path: "/v1beta/models/gemini-2.5-flash:streamGenerateContent", query: { alt: "sse" } });
    await make({ apiVersion: "v1" }).chat({ model: "models/gemini-2.5-pro", messages });
    expect(fake.requests.at(-1)?.path).toBe("/v1/models/gemini-2.5-pro:generateContent");
  });

  it("a request the real API accepts: systemInstruction, user/model roles, inlineData and fileData parts, generationConfig", async () => {
    const res = await make().chat({
      model: "gemini-2.5-flash",
      messages: [
        { role: "system", content: "Be brief." },
        {
          role: "user",
          content: [
            { type: "text", text: "Compare" },
            { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
            { type: "image_url", image_url: { url: "https://example.com/b.gif" } },
          ],
        },
        { role: "assistant", content: "Which aspect?" },
        { role: "user", content: "Colour." },
      ],
      maxTokens: 1,
      temperature: 1.5,
    });
    expect(res).toEqual({ text: "Fine,", finishReason: "length", usage: { inputTokens: 9, outputTokens: 1, cachedTokens: 0 } }); // 36 characters of text
    expect(fake.requests.at(-1)?.body).toEqual({
      systemInstruction: { parts: [{ text: "Be brief." }] },
      contents: [
        {
          role: "user",
          parts: [
            { text: "Compare" },
            { inlineData: { mimeType: "image/png", data: "iVBORw0KGgo=" } },
            { fileData: { mimeType: "image/gif", fileUri: "https://example.com/b.gif" } },
          ],
        },
        { role: "model", parts: [{ text: "Which aspect?" }] },
        { role: "user", parts: [{ text: "Colour." }] },
      ],
      generationConfig: { maxOutputTokens: 1, temperature: 1.5 },
    });
  });

  it("embeds through batchEmbedContents in batches of at most 100, keeping input order", async () => {
    const p = make();
    const texts = Array.from({ length: 230 }, (_, i) => `text ${i % 7}`);
    const before = fake.requests.length;
    const vectors = await p.embed(texts, "text-embedding-004");
    const calls = fake.requests.slice(before);
    expect(calls.map((c) => [c.path, (c.body as { requests: unknown[] }).requests.length])).toEqual([
      ["/v1beta/models/text-embedding-004:batchEmbedContents", 100],
      ["/v1beta/models/text-embedding-004:batchEmbedContents", 100],
      ["/v1beta/models/text-embedding-004:batchEmbedContents", 30],
    ]);
    expect((calls[0]?.body as { requests: unknown[] }).requests[0]).toEqual({ model: "models/text-embedding-004", content: { parts: [{ text: "text 0" }] } });
    expect(vectors).toHaveLength(230);
    expect(vectors[7]).toEqual(vectors[0]);
    expect(vectors[229]).toEqual(vectors[5]);
    expect(vectors[1]).not.toEqual(vectors[0]);
    expect(Math.hypot(...(vectors[0] ?? []))).toBeCloseTo(1, 5);
    expect(await p.embed([], "text-embedding-004")).toEqual([]);
    expect(fake.requests.length).toBe(before + 3);
  });

  it("maps an embeddings error like a chat error", async () => {
    fake.setMode({ kind: "error", status: 429, retryDelay: "3s" });
    await expect(make().embed(["x"], "text-embedding-004")).rejects.toMatchObject({ kind: "rate_limited", retryAfterMs: 3000 });
  });

  it("a wrong key is a non-retryable auth error even though Gemini answers 400", async () => {
    const err = await make({ apiKey: "AIza-wrong" })
      .chat({ model: "gemini-2.5-flash", messages })
      .catch((e: unknown) => e);
    expect(isProviderError(err) && [err.kind, err.status, err.retryable]).toEqual(["auth", 400, false]);
  });

  it("a 200 whose JSON body is cut short → malformed, not an empty answer", async () => {
    fake.setMode({ kind: "malformed_after", chunks: 0 });
    await expect(make().chat({ model: "gemini-2.5-flash", messages })).rejects.toMatchObject({ kind: "malformed" });
  });

  it("a stream that ends cleanly before any finishReason → connection error, never a silent truncation", async () => {
    const chunk = { candidates: [{ content: { parts: [{ text: "Partial" }], role: "model" } }], usageMetadata: { promptTokenCount: 2, totalTokenCount: 2 } };
    const server = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(`data: ${JSON.stringify(chunk)}\r\n\r\n`);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const p = make({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
      const seen: string[] = [];
      const run = async () => {
        for await (const c of p.streamChat({ model: "gemini-2.5-flash", messages })) if (c.type === "delta") seen.push(c.text);
      };
      await expect(run()).rejects.toMatchObject({ kind: "connection", message: expect.stringContaining("before a finishReason") });
      expect(seen).toEqual(["Partial"]);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
