import { startFakeOpenAI, type FakeOpenAI } from "@switchyard/testkit";
import { isProviderError } from "../types";
import { createOpenAIProvider, type OpenAIProvider } from "./index";

/** OpenAI-specific behaviour beyond the shared ChatProvider conformance suite. */
describe("OpenAI-compatible adapter", () => {
  let fake: FakeOpenAI;
  const providers: OpenAIProvider[] = [];
  const make = (opts: Partial<Parameters<typeof createOpenAIProvider>[0]> = {}): OpenAIProvider => {
    const p = createOpenAIProvider({ baseUrl: fake.url, apiKey: "sk-right", ...opts });
    providers.push(p);
    return p;
  };
  const messages = [{ role: "user" as const, content: "hi" }];

  beforeAll(async () => {
    fake = await startFakeOpenAI({ apiKey: "sk-right", reply: "Fine, thanks." });
  });
  afterAll(async () => {
    await Promise.all(providers.map((p) => p.close()));
    await fake.close();
  });

  it("returns one deterministic vector per text, in order", async () => {
    const p = make();
    const [a, b, a2] = await p.embed(["alpha", "beta", "alpha"], "text-embedding-3-small");
    expect(a).toHaveLength(8);
    expect(a2).toEqual(a);
    expect(b).not.toEqual(a);
    expect(Math.hypot(...(a ?? []))).toBeCloseTo(1, 5);
    expect(fake.requests.at(-1)).toMatchObject({
      path: "/v1/embeddings",
      body: { model: "text-embedding-3-small", input: ["alpha", "beta", "alpha"], encoding_format: "float" },
    });
    expect(await p.embed([], "text-embedding-3-small")).toEqual([]);
  });

  it("maps an embeddings error like a chat error", async () => {
    fake.setMode({ kind: "error", status: 429, headers: { "retry-after": "3" } });
    try {
      await expect(make().embed(["x"], "m")).rejects.toMatchObject({ kind: "rate_limited", retryAfterMs: 3000 });
    } finally {
      fake.setMode({ kind: "ok" });
    }
  });

  it("sends the bearer key and extra headers; a wrong key is an auth error naming the upstream code", async () => {
    await make({ headers: { "openai-project": "proj_1" } }).chat({ model: "gpt-4o-mini", messages });
    expect(fake.requests.at(-1)?.headers).toMatchObject({ authorization: "Bearer sk-right", "openai-project": "proj_1", "content-type": "application/json" });
    const err = await make({ apiKey: "sk-wrong" })
      .chat({ model: "gpt-4o-mini", messages })
      .catch((e: unknown) => e);
    expect(isProviderError(err) && [err.kind, err.status]).toEqual(["auth", 401]);
    expect(String((err as Error).message)).toContain("invalid_api_key");
  });

  it("accepts a base URL with a trailing slash and keeps its query string", async () => {
    await make({ baseUrl: `${fake.url}/?api-version=2024-10-21` }).chat({ model: "gpt-4o-mini", messages });
    expect(fake.requests.at(-1)?.path).toBe("/v1/chat/completions");
  });

  it("does not add /v1 itself: a base URL without it reaches /chat/completions and gets a 404", async () => {
    const err = await make({ baseUrl: fake.url.replace(/\/v1$/, "") })
      .chat({ model: "gpt-4o-mini", messages })
      .catch((e: unknown) => e);
    expect(fake.requests.at(-1)?.path).toBe("/chat/completions");
    expect(isProviderError(err) && [err.kind, err.status]).toEqual(["bad_request", 404]);
  });

  it("sends max_completion_tokens instead of max_tokens when configured", async () => {
    const res = await make({ maxTokensField: "max_completion_tokens" }).chat({ model: "o4-mini", messages, maxTokens: 1, temperature: 0.2, user: "u-1" });
    const body = fake.requests.at(-1)?.body as Record<string, unknown>;
    expect(body).toMatchObject({ max_completion_tokens: 1, temperature: 0.2, user: "u-1" });
    expect(body).not.toHaveProperty("max_tokens");
    expect(res).toMatchObject({ text: "Fine,", finishReason: "length" });
  });

  it("rejects an invalid base URL at construction", () => {
    expect(() => createOpenAIProvider({ baseUrl: "not a url", apiKey: "k" })).toThrow(/invalid baseUrl/);
  });
});
