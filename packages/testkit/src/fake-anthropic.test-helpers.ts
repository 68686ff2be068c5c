/**
 * Wire-format builders for the fake Anthropic server (`fake-anthropic.ts`): the exact JSON shapes
 * of Message, stream events, usage, error bodies and response headers (provider-wire-formats.md §2).
 */

/** Default `error.type`/message per status, as the Messages API sends them. */
export function defaultAnthropicError(status: number): { type: string; message: string } {
  switch (status) {
    case 400:
      return { type: "invalid_request_error", message: "prompt is too long: 210000 tokens > 200000 maximum" };
    case 401:
      return { type: "authentication_error", message: "invalid x-api-key" };
    case 402:
      return { type: "billing_error", message: "Your credit balance is too low to access the Anthropic API." };
    case 403:
      return { type: "permission_error", message: "Your API key does not have permission to use the specified resource." };
    case 404:
      return { type: "not_found_error", message: "The requested resource could not be found." };
    case 413:
      return { type: "request_too_large", message: "Request exceeds the maximum allowed number of bytes." };
    case 429:
      return { type: "rate_limit_error", message: "This request would exceed your account's rate limit. Please try again later." };
    case 504:
      return { type: "timeout_error", message: "Request timed out." };
    case 529:
      return { type: "overloaded_error", message: "Overloaded" };
    default:
      return status >= 500
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
  return {
    input_tokens: promptTokens - cached,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: cached,
    output_tokens: outputTokens,
    service_tier: "standard",
  };
}

/** One SSE event as the Messages API writes it: `event:` line, `data:` line, blank line. */
export function anthropicEvent(name: string, data: Record<string, unknown>, le: string): string {
  return `event: ${name}${le}data: ${JSON.stringify({ type: name, ...data })}${le}${le}`;
}

/** A streamed answer's first event (`message_start`): the message with no content yet, one output token counted. */
export function anthropicMessageStart(id: string, model: string, usage: Record<string, unknown>, le: string): string {
  const message = { id, type: "message", role: "assistant", content: [], model, stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } };
  return anthropicEvent("message_start", { message }, le);
}

const IMAGE_TYPES = new Set(["image/jpeg", "image/png", "image/gif", "image/webp"]);

/** Why a Messages request body is invalid (the API's 400 message), or null when it is valid. */
export function validateMessagesBody(b: Record<string, unknown>): string | null {
  if (typeof b.model !== "string" || b.model === "") return "model: Field required";
  if (typeof b.max_tokens !== "number" || !Number.isInteger(b.max_tokens) || b.max_tokens < 1) return "max_tokens: Field required";
  if (!Array.isArray(b.messages) || b.messages.length === 0) return "messages: at least one message is required";
  if (b.temperature !== undefined && (typeof b.temperature !== "number" || b.temperature < 0 || b.temperature > 1)) return "temperature: range: 0..1";
  if (b.system !== undefined && typeof b.system !== "string" && !(Array.isArray(b.system) && b.system.every((s) => isTextBlock(s))))
    return "system: Input should be a valid string or a list of text blocks";
  const toolProblem = toolsProblem(b);
  if (toolProblem) return toolProblem;
  let previousToolUses = new Set<string>();
  let anyToolBlock = false;
  for (const [i, raw] of (b.messages as unknown[]).entries()) {
    const m = (raw ?? {}) as Record<string, unknown>;
    if (m.role === "system")
      return `messages.${i}.role: Unexpected role "system". The Messages API accepts a top-level \`system\` parameter, not "system" as an input message role.`;
    if (m.role !== "user" && m.role !== "assistant") return `messages.${i}.role: Input should be 'user' or 'assistant'`;
    const toolUses = new Set<string>();
    if (typeof m.content === "string") {
      if (m.content === "") return `messages.${i}: all messages must have non-empty content except for the optional final assistant message`;
      previousToolUses = toolUses;
      continue;
    }
    if (!Array.isArray(m.content) || m.content.length === 0) return `messages.${i}.content: Field required`;
    for (const [j, block] of (m.content as unknown[]).entries()) {
      const o = (block ?? {}) as Record<string, unknown>;
      if (o.type === "tool_use" || o.type === "tool_result") {
        anyToolBlock = true;
        const problem = toolBlockProblem(o, m.role, previousToolUses);
        if (problem) return `messages.${i}.content.${j}${problem}`;
        if (o.type === "tool_use") toolUses.add(String(o.id));
        continue;
      }
      const problem = blockProblem(block);
      if (problem) return `messages.${i}.content.${j}.${problem}`;
    }
    previousToolUses = toolUses;
  }
  if (anyToolBlock && !(Array.isArray(b.tools) && b.tools.length > 0)) return "Requests which include `tool_use` or `tool_result` blocks must define tools.";
  return null;
}

const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/** Problems with `tools`, `tool_choice` and `stop_sequences`. */
function toolsProblem(b: Record<string, unknown>): string | null {
  const names = new Set<string>();
  if (b.tools !== undefined) {
    if (!Array.isArray(b.tools)) return "tools: Input should be a valid list";
    for (const [i, raw] of (b.tools as unknown[]).entries()) {
      const t = (raw ?? {}) as { name?: unknown; input_schema?: { type?: unknown } };
      if (typeof t.name !== "string" || !TOOL_NAME.test(t.name)) return `tools.${i}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'`;
      if (t.input_schema?.type !== "object") return `tools.${i}.custom.input_schema.type: Input should be 'object'`;
      names.add(t.name);
    }
  }
  if (b.tool_choice !== undefined) {
    const c = (b.tool_choice ?? {}) as { type?: unknown; name?: unknown; disable_parallel_tool_use?: unknown };
    if (!["auto", "any", "tool", "none"].includes(String(c.type)))
      return "tool_choice: Input tag found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'";
    if (c.type === "tool" && (typeof c.name !== "string" || !names.has(c.name)))
      return `tool_choice.tool.name: Tool '${String(c.name)}' not found in provided tools`;
    if (c.type === "none" && c.disable_parallel_tool_use !== undefined) return "tool_choice.none.disable_parallel_tool_use: Extra inputs are not permitted";
    if (names.size === 0) return "tool_choice may only be specified while providing tools.";
  }
  if (b.stop_sequences !== undefined && !(Array.isArray(b.stop_sequences) && b.stop_sequences.every((x) => typeof x === "string" && x.trim() !== "")))
    return "stop_sequences: each stop sequence must contain non-whitespace";
  return null;
}

/** A `tool_use` block belongs to an assistant turn; a `tool_result` to the user turn right after the tool_use it answers. */
function toolBlockProblem(o: Record<string, unknown>, role: unknown, previousToolUses: ReadonlySet<string>): string | null {
  if (o.type === "tool_use") {
    if (role !== "assistant") return ": tool_use blocks may only appear in assistant messages";
    if (typeof o.id !== "string" || typeof o.name !== "string") return ".tool_use.id: Field required";
    return typeof o.input === "object" && o.input !== null && !Array.isArray(o.input) ? null : ".tool_use.input: Input should be a valid dictionary";
  }
  if (role !== "user") return ": tool_result blocks may only appear in user messages";
  if (typeof o.tool_use_id !== "string" || !previousToolUses.has(o.tool_use_id)) {
    return `: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${String(o.tool_use_id)}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`;
  }
  return o.content === undefined || typeof o.content === "string" || Array.isArray(o.content)
    ? null
    : ".tool_result.content: Input should be a valid string or list";
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
  if (typeof s.media_type !== "string" || !IMAGE_TYPES.has(s.media_type))
    return "source.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'";
  return typeof s.data === "string" && s.data !== "" ? null : "source.data: Field required";
}
