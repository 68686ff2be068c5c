/**
 * Wire-format builders for the fake Anthropic server (`fake-anthropic.ts`): the exact JSON shapes
 * of Message, stream events, usage, error bodies and response headers (provider-wire-formats.md §2).
 */

/** Default `error.type`/message per status, as the Messages API sends them. */
export function defaultAnthropicError(status: number): { type: string; message: string } {
  switch (status) {
    case 400: return { type: "invalid_request_error", message: "prompt is too long: 210000 tokens > 200000 maximum" };
    case 401: return { type: "authentication_error", message: "invalid x-api-key" };
    case 402: return { type: "billing_error", message: "Your credit balance is too low to access the Anthropic API." };
    case 403: return { type: "permission_error", message: "Your API key does not have permission to use the specified resource." };
    case 404: return { type: "not_found_error", message: "The requested resource could not be found." };
    case 413: return { type: "request_too_large", message: "Request exceeds the maximum allowed number of bytes." };
    case 429: return { type: "rate_limit_error", message: "This request would exceed your account's rate limit. Please try again later." };
    case 504: return { type: "timeout_error", message: "Request timed out." };
    case 529: return { type: "overloaded_error", message: "Overloaded" };
    default: return status >= 500
      ? { type: "api_error", message: "Internal server error" }
      : { type: "invalid_request_error", message: `Request failed with status ${status}.` };
  }
}

/** `req_011C…`-style request id, stable per request number. */
export function anthropicRequestId(n: number): string {
  return `req_011CFake${n.toString(36).padStart(16, "0")}`;
}

/** `{"type":"error","error":{type,message},"request_id"}`. */
export function anthropicErrorBody(fields: { type: string; message: string }, requestId: string): string {
  return JSON.stringify({ type: "error", error: { type: fields.type, message: fields.message }, request_id: requestId });
}

/** The headers every Messages API response carries: request id, organization, rate limits (RFC 3339 resets). */
export function anthropicHeaders(n: number): Record<string, string> {
  const reset = new Date(Date.now() + 60_000).toISOString().replace(/\.\d{3}Z$/, "Z");
  return {
    "request-id": anthropicRequestId(n),
    "anthropic-organization-id": "5b0ea6b4-7a1c-4b7e-9f0e-fa4e0c0ffee0",
    "anthropic-ratelimit-requests-limit": "4000",
    "anthropic-ratelimit-requests-remaining": String(Math.max(0, 3999 - n)),
    "anthropic-ratelimit-requests-reset": reset,
    "anthropic-ratelimit-tokens-limit": "2000000",
    "anthropic-ratelimit-tokens-remaining": "1999000",
    "anthropic-ratelimit-tokens-reset": reset,
    "anthropic-ratelimit-input-tokens-limit": "2000000",
    "anthropic-ratelimit-input-tokens-remaining": "1999000",
    "anthropic-ratelimit-input-tokens-reset": reset,
    "anthropic-ratelimit-output-tokens-limit": "400000",
    "anthropic-ratelimit-output-tokens-remaining": "400000",
    "anthropic-ratelimit-output-tokens-reset": reset,
  };
}

/** A Message `usage` object: `input_tokens` excludes cache reads, which are counted separately. */
export function anthropicUsage(promptTokens: number, cachedTokens: number, outputTokens: number): Record<string, unknown> {
  const cached = Math.min(cachedTokens, promptTokens);
  return { input_tokens: promptTokens - cached, cache_creation_input_tokens: 0, cache_read_input_tokens: cached, output_tokens: outputTokens, service_tier: "standard" };
}

/** One SSE event as the Messages API writes it: `event:` line, `data:` line, blank line. */
export function anthropicEvent(name: string, data: Record<string, unknown>, le: string): string {
  return `event: ${name}${le}data: ${JSON.stringify({ type: name, ...data })}${le}${le}`;
}

const IMAGE_TYPES = new Set(["image/jpeg", "image/png", "image/gif", "image/webp"]);

/** Why a Messages request body is invalid (the API's 400 message), or null when it is valid. */
export function validateMessagesBody(b: Record<string, unknown>): string | null {
  if (typeof b.model !== "string" || b.model === "") return "model: Field required";
  if (typeof b.max_tokens !== "number" || !Number.isInteger(b.max_tokens) || b.max_tokens < 1) return "max_tokens: Field required";
  if (!Array.isArray(b.messages) || b.messages.length === 0) return "messages: at least one message is required";
  if (b.temperature !== undefined && (typeof b.temperature !== "number" || b.temperature < 0 || b.temperature > 1)) return "temperature: range: 0..1";
  if (b.system !== undefined && typeof b.system !== "string" && !(Array.isArray(b.system) && b.system.every((s) => isTextBlock(s)))) return "system: Input should be a valid string or a list of text blocks";
  for (const [i, raw] of (b.messages as unknown[]).entries()) {
    const m = (raw ?? {}) as Record<string, unknown>;
    if (m.role === "system") return `messages.${i}.role: Unexpected role "system". The Messages API accepts a top-level \`system\` parameter, not "system" as an input message role.`;
    if (m.role !== "user" && m.role !== "assistant") return `messages.${i}.role: Input should be 'user' or 'assistant'`;
    if (typeof m.content === "string") {
      if (m.content === "") return `messages.${i}: all messages must have non-empty content except for the optional final assistant message`;
      continue;
    }
    if (!Array.isArray(m.content) || m.content.length === 0) return `messages.${i}.content: Field required`;
    for (const [j, block] of (m.content as unknown[]).entries()) {
      const problem = blockProblem(block);
      if (problem) return `messages.${i}.content.${j}.${problem}`;
    }
  }
  return null;
}

function isTextBlock(v: unknown): boolean {
  const o = (v ?? {}) as Record<string, unknown>;
  return o.type === "text" && typeof o.text === "string" && o.text !== "";
}

function blockProblem(v: unknown): string | null {
  const o = (v ?? {}) as Record<string, unknown>;
  if (o.type === "text") return isTextBlock(o) ? null : "text: Field required";
  if (o.type !== "image") return `type: Input tag '${String(o.type)}' found using 'type' does not match any of the expected tags`;
  const s = (o.source ?? {}) as Record<string, unknown>;
  if (s.type === "url") return typeof s.url === "string" && /^https?:\/\//.test(s.url) ? null : "source.url: Field required";
  if (s.type !== "base64") return "source.type: Input should be 'base64' or 'url'";
  if (typeof s.media_type !== "string" || !IMAGE_TYPES.has(s.media_type)) return "source.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'";
  return typeof s.data === "string" && s.data !== "" ? null : "source.data: Field required";
}
