import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { startFakeAnthropic, type FakeAnthropic } from "@switchyard/testkit";
import { isProviderError } from "../types";
import { createAnthropicProvider, type AnthropicProvider } from "./index";

/** Anthropic-specific behaviour beyond the shared ChatProvider conformance suite. */
describe("Anthropic adapter", () => {
  let fake: FakeAnthropic;
  const providers: AnthropicProvider[] = [];
  const make = (opts: Partial<Parameters<typeof createAnthropicProvider>[0]> = {}): AnthropicProvider => {
    const p = createAnthropicProvider({ baseUrl: fake.url, apiKey: "sk-ant-right", ...opts });
    providers.push(p);
    return p;
  };
  const body = (): Record<string, unknown> => fake.requests.at(-1)?.body as Record<string, unknown>;

  beforeAll(async () => {
    fake = await startFakeAnthropic({ apiKey: "sk-ant-right", reply: "Fine, thanks." });
  });
  afterAll(async () => {
    await Promise.all(providers.map((p) => p.close()));
    await fake.close();
  });

  it("sends x-api-key and anthropic-version (default 2023-06-01, configurable) to /v1/messages", async () => {
    await make().chat({ model: "claude-haiku-4-5", messages: [{ role: "user", content: "hi" }] });
    expect(fake.requests.at(-1)).toMatchObject({
      method: "POST",
      path: "/v1/messages",
      headers: { "x-api-key": "sk-ant-right", "anthropic-version": "2023-06-01", "content-type": "application/json" },
    });
    expect(fake.requests.at(-1)?.headers.authorization).toBeUndefined();
    await make({ version: "2099-01-01", headers: { "anthropic-beta": "b1" } }).chat({ model: "m", messages: [{ role: "user", content: "hi" }] });
    expect(fake.requests.at(-1)?.headers).toMatchObject({ "anthropic-version": "2099-01-01", "anthropic-beta": "b1" });
  });

  it("a request the real API accepts: top-level system, image blocks, clamped temperature, metadata.user_id, default max_tokens", async () => {
    const res = await make().chat({
      model: "claude-sonnet-4-5",
      messages: [
        { role: "system", content: "Be brief." },
        {
          role: "user",
          content: [
            { type: "text", text: "Compare" },
            { type: "image_url", image_url: { url: "https://example.com/a.png" } },
            { type: "image_url", image_url: { url: "data:image/jpeg;base64,/9j/4AAQ" } },
          ],
        },
      ],
      temperature: 2,
      user: "u-7",
    });
    expect(res).toMatchObject({ text: "Fine, thanks.", finishReason: "stop" });
    expect(body()).toEqual({
      model: "claude-sonnet-4-5",
      max_tokens: 4096,
      system: "Be brief.",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "Compare" },
            { type: "image", source: { type: "url", url: "https://example.com/a.png" } },
            { type: "image", source: { type: "base64", media_type: "image/jpeg", data: "/9j/4AAQ" } },
          ],
        },
      ],
      temperature: 1,
      metadata: { user_id: "u-7" },
    });
    await make({ defaultMaxTokens: 1 }).chat({ model: "m", messages: [{ role: "user", content: "hi" }] });
    expect(body().max_tokens).toBe(1);
  });

  it("a wrong key is a non-retryable auth error naming Anthropic's error type", async () => {
    const err = await make({ apiKey: "sk-ant-wrong" })
      .chat({ model: "m", messages: [{ role: "user", content: "hi" }] })
      .catch((e: unknown) => e);
    expect(isProviderError(err) && [err.kind, err.status, err.retryable]).toEqual(["auth", 401, false]);
    expect((err as Error).message).toMatch(/authentication_error: invalid x-api-key \(request_id req_/);
  });

  it("keeps a base URL path prefix (a proxy's) in front of /v1/messages", async () => {
    const err = await make({ baseUrl: `${fake.url}/anthropic/` })
      .chat({ model: "m", messages: [{ role: "user", content: "hi" }] })
      .catch((e: unknown) => e);
    expect(fake.requests.at(-1)?.path).toBe("/anthropic/v1/messages");
    expect(isProviderError(err) && [err.kind, err.status]).toEqual(["bad_request", 404]);
  });

  it("offers no embeddings (Anthropic has no embeddings API)", () => {
    expect("embed" in make()).toBe(false);
  });

  describe("a body that ends cleanly (no socket error) mid-message", () => {
    let server: Server;
    let events: string[] = [];
    const ev = (name: string, data: Record<string, unknown>) => `event: ${name}\ndata: ${JSON.stringify({ type: name, ...data })}\n\n`;
    const start = ev("message_start", {
      message: { id: "msg_1", type: "message", role: "assistant", content: [], model: "m", usage: { input_tokens: 5, output_tokens: 1 } },
    });
    const delta = ev("content_block_delta", { index: 0, delta: { type: "text_delta", text: "Partial" } });
    beforeAll(async () => {
      server = createServer((_req, res) => {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.end(events.join(""));
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const run = async () => {
      const p = make({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
      const out: unknown[] = [];
      for await (const c of p.streamChat({ model: "m", messages: [{ role: "user", content: "hi" }] })) out.push(c);
      return out;
    };

    it("before the stop reason → connection error, never a silent truncation", async () => {
      events = [start, delta];
      await expect(run()).rejects.toMatchObject({ kind: "connection", message: expect.stringContaining("before message_stop") });
    });

    it("after the message_delta with the stop reason → complete, with finish and usage", async () => {
      events = [start, delta, ev("message_delta", { delta: { stop_reason: "max_tokens" }, usage: { output_tokens: 1 } })];
      expect(await run()).toEqual([
        { type: "delta", text: "Partial" },
        { type: "finish", finishReason: "length" },
        { type: "usage", usage: { inputTokens: 5, outputTokens: 1, cachedTokens: 0 } },
      ]);
    });
  });
});
