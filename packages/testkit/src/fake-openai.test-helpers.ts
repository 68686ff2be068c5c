/**
 * Wire-format builders for the fake OpenAI server (`fake-openai.ts`): the exact JSON shapes of
 * chat.completion, chat.completion.chunk, usage, error and embedding objects.
 */

/** Default `error.type`/`error.code` per status, as OpenAI sends them. */
export function defaultErrorFields(status: number): { type: string; code: string | null; message: string } {
  switch (status) {
    case 400:
      return {
        type: "invalid_request_error",
        code: "context_length_exceeded",
        message:
          "This model's maximum context length is 8192 tokens. However, your messages resulted in 8227 tokens. Please reduce the length of the messages.",
      };
    case 401:
      return {
        type: "invalid_request_error",
        code: "invalid_api_key",
        message: "Incorrect API key provided: sk-fake***. You can find your API key at https://platform.openai.com/account/api-keys.",
      };
    case 403:
      return { type: "request_forbidden", code: "unsupported_country_region_territory", message: "Country, region, or territory not supported" };
    case 404:
      return { type: "invalid_request_error", code: "model_not_found", message: "The model `gpt-9` does not exist or you do not have access to it." };
    case 429:
      return {
        type: "tokens",
        code: "rate_limit_exceeded",
        message:
          "Rate limit reached for gpt-4o-mini in organization org-fake on tokens per min (TPM): Limit 30000, Used 29000, Requested 2000. Please try again in 2s.",
      };
    case 503:
      return { type: "service_unavailable_error", code: "server_is_overloaded", message: "The server is overloaded or not ready yet." };
    default:
      return status >= 500
        ? { type: "server_error", code: null, message: "The server had an error processing your request. Sorry about that!" }
        : { type: "invalid_request_error", code: null, message: `Request failed with status ${status}.` };
  }
}

/** `{"error": {...}}` with all four keys, as the OpenAPI schema requires. */
export function errorBody(fields: { message: string; type: string; code: string | null; param?: string | null }): string {
  return JSON.stringify({ error: { message: fields.message, type: fields.type, param: fields.param ?? null, code: fields.code } });
}

/** Full `usage` object with the detail objects the current API returns. */
export function usageObject(promptTokens: number, completionTokens: number): Record<string, unknown> {
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

/** Splits a reply into word pieces ("Hello", " world", "!") whose concatenation is the reply. */
export function replyPieces(reply: string): string[] {
  return reply.match(/\s*\S+(?:\s+$)?/g) ?? [];
}

/** Prompt tokens as the fake counts them: ceil(characters / 4) over every text content. */
export function countPromptTokens(messages: unknown): number {
  let chars = 0;
  if (!Array.isArray(messages)) return 0;
  for (const m of messages as Array<{ content?: unknown }>) {
    if (typeof m.content === "string") chars += m.content.length;
    else if (Array.isArray(m.content)) {
      for (const part of m.content as Array<{ text?: unknown }>) if (typeof part.text === "string") chars += part.text.length;
    }
  }
  return Math.ceil(chars / 4);
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** The `obfuscation` padding OpenAI adds to stream chunks (random on the wire; stable here). */
export function obfuscation(seq: number): string {
  const len = 2 + (seq % 11);
  let out = "";
  for (let i = 0; i < len; i++) out += ALPHABET[(seq * 7 + i * 13) % ALPHABET.length];
  return out;
}

/** A deterministic unit vector for a text (same text → same vector). */
export function embeddingFor(text: string, dimensions: number): number[] {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  const v: number[] = [];
  for (let i = 0; i < dimensions; i++) {
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
    h = (h + 0x6d2b79f5) >>> 0;
    v.push((h / 4294967296) * 2 - 1);
  }
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => Math.fround(x / norm));
}

/** Packed little-endian float32, base64-encoded: the `encoding_format: "base64"` form. */
export function embeddingBase64(v: number[]): string {
  return Buffer.from(new Float32Array(v).buffer).toString("base64");
}

/** One `logprobs.content[]` item of a chat answer (OpenAI's `ChatCompletionTokenLogprob`). */
export interface FakeTokenLogprob {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs: Array<{ token: string; logprob: number; bytes: number[] }>;
}

/**
 * Log probabilities for the fake's tokens (its reply pieces): one item per token, whose `bytes`
 * are the token's UTF-8, with `top` alternatives, most likely first. The chosen token is the
 * first alternative, as it is for a greedy answer; the others are made-up words, less likely.
 * Values are deterministic so tests can compare them.
 */
export function tokenLogprobs(pieces: string[], top: number): FakeTokenLogprob[] {
  const utf8 = (t: string): number[] => [...Buffer.from(t, "utf8")];
  return pieces.map((token, i) => {
    const logprob = -Math.round(0.0125 * ((i % 5) + 1) * 1e6) / 1e6;
    const lead = /^\s*/.exec(token)?.[0] ?? "";
    const alternatives = Array.from({ length: top }, (_, k) => {
      const alt = k === 0 ? token : `${lead}alt${k}`;
      return { token: alt, logprob: k === 0 ? logprob : logprob - 1.5 * k, bytes: utf8(alt) };
    });
    return { token, logprob, bytes: utf8(token), top_logprobs: alternatives };
  });
}

/** Why `logprobs`/`top_logprobs` are invalid (OpenAI's 400 `param` and message), or null. */
export function logprobsProblem(b: Record<string, unknown>): { param: string; message: string } | null {
  if (b.logprobs != null && typeof b.logprobs !== "boolean") return { param: "logprobs", message: "Invalid type for 'logprobs': expected a boolean." };
  const top = b.top_logprobs;
  if (top == null) return null;
  if (typeof top !== "number" || !Number.isInteger(top) || top < 0 || top > 20)
    return { param: "top_logprobs", message: `Invalid 'top_logprobs': expected an integer between 0 and 20, but got ${JSON.stringify(top)} instead.` };
  if (b.logprobs !== true)
    return { param: "top_logprobs", message: "Invalid value for 'top_logprobs': 'logprobs' must be set to true when 'top_logprobs' is used." };
  return null;
}

const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/**
 * Why the tool parts of a chat request are invalid (OpenAI's 400 `param` and message), or null:
 * malformed `tools`, a `tool_choice` naming no declared function, an assistant `tool_calls` item
 * without id or function, a `tool` message that answers no earlier call.
 */
export function toolProblem(b: Record<string, unknown>): { param: string; message: string } | null {
  const names = new Set<string>();
  if (b.tools !== undefined) {
    if (!Array.isArray(b.tools)) return { param: "tools", message: "Invalid type for 'tools': expected an array." };
    for (const [i, t] of (b.tools as unknown[]).entries()) {
      const fn = (t as { type?: unknown; function?: { name?: unknown; parameters?: { type?: unknown } } } | null)?.function;
      if ((t as { type?: unknown } | null)?.type !== "function" || typeof fn?.name !== "string" || !TOOL_NAME.test(fn.name))
        return { param: `tools[${i}].function.name`, message: `Invalid 'tools[${i}].function.name': string does not match pattern.` };
      if (fn.parameters !== undefined && fn.parameters.type !== "object")
        return {
          param: `tools[${i}].function.parameters`,
          message: `Invalid schema for function '${fn.name}': schema must be a JSON Schema of 'type: "object"'.`,
        };
      names.add(fn.name);
    }
  }
  const choice = b.tool_choice;
  if (choice !== undefined) {
    if (names.size === 0)
      return { param: "tool_choice", message: "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified." };
    if (typeof choice === "string" && !["none", "auto", "required"].includes(choice))
      return { param: "tool_choice", message: `Invalid value: '${choice}'. Supported values are: 'none', 'auto', and 'required'.` };
    const named = (choice as { function?: { name?: unknown } }).function?.name;
    if (typeof choice === "object" && (typeof named !== "string" || !names.has(named)))
      return { param: "tool_choice", message: `Invalid value for 'tool_choice': function '${String(named)}' is not in 'tools'.` };
  }
  const ids = new Set<string>();
  for (const [i, raw] of (Array.isArray(b.messages) ? b.messages : []).entries()) {
    const msg = (raw ?? {}) as { role?: unknown; tool_calls?: unknown; tool_call_id?: unknown };
    if (msg.role === "assistant" && msg.tool_calls !== undefined) {
      if (!Array.isArray(msg.tool_calls)) return { param: `messages.[${i}].tool_calls`, message: "Invalid type for 'tool_calls': expected an array." };
      for (const tc of msg.tool_calls as Array<{ id?: unknown; function?: { name?: unknown; arguments?: unknown } }>) {
        if (typeof tc.id !== "string" || typeof tc.function?.name !== "string" || typeof tc.function.arguments !== "string")
          return {
            param: `messages.[${i}].tool_calls`,
            message: "Missing required parameter: 'messages.[i].tool_calls[j].id', 'function.name' or 'function.arguments'.",
          };
        ids.add(tc.id);
      }
    }
    if (msg.role === "tool" && (typeof msg.tool_call_id !== "string" || !ids.has(msg.tool_call_id))) {
      return {
        param: `messages.[${i}].role`,
        message: "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
      };
    }
  }
  return null;
}
