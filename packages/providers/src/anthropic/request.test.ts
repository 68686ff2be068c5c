import { finishReasonFor, toTokenUsage } from "./chat";
import { anthropicErrorFromEvent, anthropicErrorFromResponse, kindForErrorType } from "./errors";
import { buildMessagesBody, imageBlock } from "./request";

describe("Anthropic request body", () => {
  it("moves system messages to the top-level system field and keeps user/assistant turns", () => {
    const body = buildMessagesBody(
      {
        model: "claude-sonnet-4-5",
        messages: [
          { role: "system", content: "Be brief." },
          { role: "user", content: "Hi" },
          { role: "assistant", content: "Hello." },
          { role: "system", content: [{ type: "text", text: "Answer in French." }] },
          { role: "user", content: "How are you?" },
        ],
        maxTokens: 50,
        temperature: 0.3,
        user: "end-user-1",
      },
      { stream: true, defaultMaxTokens: 4096 },
    );
    expect(body).toEqual({
      model: "claude-sonnet-4-5",
      max_tokens: 50,
      system: "Be brief.\n\nAnswer in French.",
      messages: [
        { role: "user", content: "Hi" },
        { role: "assistant", content: "Hello." },
        { role: "user", content: "How are you?" },
      ],
      temperature: 0.3,
      metadata: { user_id: "end-user-1" },
      stream: true,
    });
  });

  it("uses the default max_tokens, clamps temperature to 0–1 and omits system when there is none", () => {
    const body = buildMessagesBody({ model: "m", messages: [{ role: "user", content: "x" }], temperature: 1.7 }, { stream: false, defaultMaxTokens: 1234 });
    expect(body).toEqual({ model: "m", max_tokens: 1234, messages: [{ role: "user", content: "x" }], temperature: 1 });
  });

  it("maps image parts: http(s) → url source, data URL → base64 source", () => {
    expect(imageBlock("https://example.com/cat.jpg")).toEqual({ type: "image", source: { type: "url", url: "https://example.com/cat.jpg" } });
    expect(imageBlock("data:image/webp;base64,UklGRg==")).toEqual({ type: "image", source: { type: "base64", media_type: "image/webp", data: "UklGRg==" } });
    const body = buildMessagesBody(
      {
        model: "m",
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "What is this?" },
              { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
            ],
          },
        ],
      },
      { stream: false, defaultMaxTokens: 10 },
    );
    expect(body.messages).toEqual([
      {
        role: "user",
        content: [
          { type: "text", text: "What is this?" },
          { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } },
        ],
      },
    ]);
  });
});

describe("Anthropic response mapping", () => {
  it.each([
    ["end_turn", "stop"],
    ["stop_sequence", "stop"],
    ["max_tokens", "length"],
    ["model_context_window_exceeded", "length"],
    ["tool_use", "tool_calls"],
    ["refusal", "content_filter"],
    ["pause_turn", "pause_turn"],
    [null, "stop"],
  ])("stop_reason %s → %s", (reason, expected) => {
    expect(finishReasonFor(reason)).toBe(expected);
  });

  it("adds cache reads and writes to input tokens; cachedTokens is the cache-read part", () => {
    expect(toTokenUsage({ input: 10, output: 3, cacheRead: 100, cacheCreation: 20 })).toEqual({ inputTokens: 130, outputTokens: 3, cachedTokens: 100 });
    expect(toTokenUsage({ input: 10, output: 3 })).toEqual({ inputTokens: 10, outputTokens: 3, cachedTokens: 0 });
    expect(toTokenUsage({ output: 3 })).toBeNull();
  });
});

describe("Anthropic errors", () => {
  it.each([
    ["overloaded_error", "server_error"],
    ["api_error", "server_error"],
    ["rate_limit_error", "rate_limited"],
    ["invalid_request_error", "bad_request"],
    ["not_found_error", "bad_request"],
    ["request_too_large", "bad_request"],
    ["authentication_error", "auth"],
    ["permission_error", "auth"],
    ["billing_error", "auth"],
    ["timeout_error", "timeout"],
    ["some_new_error", "server_error"],
  ])("error.type %s → %s", (type, kind) => {
    expect(kindForErrorType(type)).toBe(kind);
    expect(anthropicErrorFromEvent("anthropic", { type: "error", error: { type, message: "m" } }).kind).toBe(kind);
  });

  it("classifies by HTTP status, keeps the request id and honours retry-after on 429 and 529", () => {
    const body = JSON.stringify({ type: "error", error: { type: "rate_limit_error", message: "slow down" }, request_id: "req_1" });
    const e429 = anthropicErrorFromResponse("anthropic", 429, { "retry-after": "5" }, body);
    expect([e429.kind, e429.retryAfterMs, e429.message]).toEqual(["rate_limited", 5000, "anthropic: HTTP 429 rate_limit_error: slow down (request_id req_1)"]);
    const e529 = anthropicErrorFromResponse(
      "anthropic",
      529,
      { "retry-after-ms": "250", "request-id": "req_2" },
      '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}',
    );
    expect([e529.kind, e529.retryAfterMs, e529.message]).toEqual(["server_error", 250, "anthropic: HTTP 529 overloaded_error: Overloaded (request_id req_2)"]);
    expect(anthropicErrorFromResponse("anthropic", 413, {}, "<html>too large</html>")).toMatchObject({
      kind: "bad_request",
      retryable: false,
      message: "anthropic: HTTP 413 <html>too large</html>",
    });
  });
});
