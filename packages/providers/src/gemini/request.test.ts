import { finishReasonFor, mapFinish, readResponse, readUsageMetadata } from "./chat";
import { geminiErrorFromPayload, geminiErrorFromResponse, geminiRetryAfterMs, parseDuration } from "./errors";
import { buildGenerateContentBody, imagePart, methodPath } from "./request";

describe("Gemini request body", () => {
  it("puts system messages in systemInstruction, maps assistant to model and merges same-role turns", () => {
    const body = buildGenerateContentBody({
      model: "gemini-2.5-flash",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Hi" },
        { role: "user", content: "Are you there?" },
        { role: "assistant", content: "Yes." },
        { role: "system", content: "Answer in French." },
        { role: "user", content: "Good." },
      ],
      maxTokens: 64,
      temperature: 1.4,
      user: "not-sent",
    });
    expect(body).toEqual({
      systemInstruction: { parts: [{ text: "Be brief." }, { text: "Answer in French." }] },
      contents: [
        { role: "user", parts: [{ text: "Hi" }, { text: "Are you there?" }] },
        { role: "model", parts: [{ text: "Yes." }] },
        { role: "user", parts: [{ text: "Good." }] },
      ],
      generationConfig: { maxOutputTokens: 64, temperature: 1.4 },
    });
    expect(buildGenerateContentBody({ model: "m", messages: [{ role: "user", content: "x" }] })).toEqual({
      contents: [{ role: "user", parts: [{ text: "x" }] }],
    });
  });

  it("maps images: data URL → inlineData, http(s) → fileData with a MIME type from the extension", () => {
    expect(imagePart("data:image/png;base64,iVBORw0KGgo=")).toEqual({ inlineData: { mimeType: "image/png", data: "iVBORw0KGgo=" } });
    expect(imagePart("https://example.com/photos/cat.WEBP?x=1")).toEqual({
      fileData: { mimeType: "image/webp", fileUri: "https://example.com/photos/cat.WEBP?x=1" },
    });
    expect(imagePart("https://example.com/image")).toEqual({ fileData: { mimeType: "image/jpeg", fileUri: "https://example.com/image" } });
  });

  it("builds method paths for bare ids and full resource names", () => {
    expect(methodPath({ apiVersion: "v1beta" }, "gemini-2.5-pro", "generateContent")).toBe("/v1beta/models/gemini-2.5-pro:generateContent");
    expect(methodPath({ apiVersion: "v1" }, "models/gemini-2.5-pro", "batchEmbedContents")).toBe("/v1/models/gemini-2.5-pro:batchEmbedContents");
    expect(methodPath({ apiVersion: "v1beta" }, "tunedModels/my-model", "generateContent")).toBe("/v1beta/tunedModels/my-model:generateContent");
  });
});

describe("Gemini response mapping", () => {
  it.each([
    ["STOP", "stop"],
    ["MAX_TOKENS", "length"],
    ["SAFETY", "content_filter"],
    ["RECITATION", "content_filter"],
    ["BLOCKLIST", "content_filter"],
    ["PROHIBITED_CONTENT", "content_filter"],
    ["SPII", "content_filter"],
    ["IMAGE_SAFETY", "content_filter"],
    ["OTHER", "other"],
    ["MALFORMED_FUNCTION_CALL", "malformed_function_call"],
  ])("finishReason %s → %s", (reason, expected) => {
    expect(finishReasonFor(reason)).toBe(expected);
  });

  it("reads usage: missing counts are 0, thoughts are output, tool-use prompt tokens are input", () => {
    expect(readUsageMetadata({ promptTokenCount: 7, totalTokenCount: 7 })).toEqual({ inputTokens: 7, outputTokens: 0, cachedTokens: 0 });
    expect(
      readUsageMetadata({ promptTokenCount: 100, cachedContentTokenCount: 60, candidatesTokenCount: 9, thoughtsTokenCount: 30, toolUsePromptTokenCount: 5 }),
    ).toEqual({ inputTokens: 105, outputTokens: 39, cachedTokens: 60 });
    expect(readUsageMetadata(undefined)).toBeNull();
  });

  it("skips thought-summary parts, reads candidate 0, and marks a blocked prompt", () => {
    const json = {
      candidates: [
        { content: { parts: [{ text: "thinking…", thought: true }, { text: "Answer" }, { text: "!" }], role: "model" }, finishReason: "STOP", index: 0 },
      ],
    };
    expect(readResponse("gemini", json)).toEqual({ text: "Answer!", finishReason: "STOP", usage: null });
    const blocked = readResponse("gemini", { promptFeedback: { blockReason: "SAFETY" }, usageMetadata: { promptTokenCount: 3 } });
    expect(blocked).toEqual({ text: "", finishReason: "BLOCKED", usage: { inputTokens: 3, outputTokens: 0, cachedTokens: 0 } });
    expect(mapFinish("BLOCKED")).toBe("content_filter");
  });
});

describe("Gemini errors", () => {
  const quota = {
    error: {
      code: 429,
      message: "You exceeded your current quota ... Please retry in 47.17s.",
      status: "RESOURCE_EXHAUSTED",
      details: [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "47s" }],
    },
  };

  it("parses protobuf durations", () => {
    expect([parseDuration("47s"), parseDuration("0.5s"), parseDuration("1.000340s"), parseDuration("47"), parseDuration(3)]).toEqual([
      47000,
      500,
      1000,
      undefined,
      undefined,
    ]);
  });

  it("takes the retry delay from RetryInfo, else a header, else the message hint", () => {
    expect(geminiRetryAfterMs({ details: quota.error.details, message: quota.error.message }, { "retry-after": "2" })).toBe(47000);
    expect(geminiRetryAfterMs({ details: [], message: quota.error.message }, { "retry-after": "2" })).toBe(2000);
    expect(geminiRetryAfterMs({ details: [], message: quota.error.message }, {})).toBe(47170);
    expect(geminiRetryAfterMs({ details: [], message: "no hint" }, {})).toBeUndefined();
  });

  it("maps HTTP errors by status, an invalid key to auth, and keeps the canonical status in the message", () => {
    expect(geminiErrorFromResponse("gemini", 429, {}, JSON.stringify(quota, null, 2))).toMatchObject({
      kind: "rate_limited",
      status: 429,
      retryAfterMs: 47000,
    });
    const badKey = JSON.stringify({
      error: {
        code: 400,
        message: "API key not valid.",
        status: "INVALID_ARGUMENT",
        details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "API_KEY_INVALID" }],
      },
    });
    expect(geminiErrorFromResponse("gemini", 400, {}, badKey)).toMatchObject({
      kind: "auth",
      status: 400,
      retryable: false,
      message: "gemini: HTTP 400 INVALID_ARGUMENT: API key not valid.",
    });
    expect(geminiErrorFromResponse("gemini", 403, {}, '{"error":{"code":403,"message":"denied","status":"PERMISSION_DENIED"}}').kind).toBe("auth");
    expect(geminiErrorFromResponse("gemini", 503, {}, '{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}')).toMatchObject({
      kind: "server_error",
      retryable: true,
    });
    expect(geminiErrorFromResponse("gemini", 504, {}, "").kind).toBe("server_error");
  });

  it("maps an error payload inside a 200 by code, else by canonical status", () => {
    expect(geminiErrorFromPayload("gemini", { code: 429, status: "RESOURCE_EXHAUSTED", details: [] }).kind).toBe("rate_limited");
    expect(geminiErrorFromPayload("gemini", { status: "INVALID_ARGUMENT", details: [] }).kind).toBe("bad_request");
    expect(geminiErrorFromPayload("gemini", { status: "UNAVAILABLE", details: [] }).kind).toBe("server_error");
    expect(geminiErrorFromPayload("gemini", { details: [] }).kind).toBe("server_error");
  });
});
