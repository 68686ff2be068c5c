/**
 * Wire-format builders for the fake Gemini server (`fake-gemini.ts`): GenerateContentResponse,
 * usageMetadata, Google's error envelope and request validation (provider-wire-formats.md §3).
 */

/** Canonical gRPC status name per HTTP status, as the Gemini API reports them. */
export function grpcStatusFor(status: number): string {
  switch (status) {
    case 400:
      return "INVALID_ARGUMENT";
    case 401:
      return "UNAUTHENTICATED";
    case 403:
      return "PERMISSION_DENIED";
    case 404:
      return "NOT_FOUND";
    case 409:
      return "ABORTED";
    case 429:
      return "RESOURCE_EXHAUSTED";
    case 501:
      return "UNIMPLEMENTED";
    case 503:
      return "UNAVAILABLE";
    case 504:
      return "DEADLINE_EXCEEDED";
    default:
      return status >= 500 ? "INTERNAL" : "FAILED_PRECONDITION";
  }
}

/** Default error message per HTTP status (texts are illustrative, as in the reference). */
export function defaultGeminiMessage(status: number): string {
  switch (status) {
    case 400:
      return "Request contains an invalid argument.";
    case 401:
      return "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.";
    case 403:
      return "The caller does not have permission";
    case 404:
      return "models/gemini-9 is not found for API version v1beta, or is not supported for generateContent.";
    case 429:
      return "Resource has been exhausted (e.g. check quota).";
    case 503:
      return "The model is overloaded. Please try again later.";
    case 504:
      return "The request timed out. Please try again.";
    default:
      return status >= 500
        ? "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"
        : `Request failed with status ${status}.`;
  }
}

/** Google's error envelope, pretty-printed as the API sends it. */
export function geminiErrorBody(fields: { code: number; message: string; status: string; details?: unknown[] }): string {
  return JSON.stringify(
    { error: { code: fields.code, message: fields.message, status: fields.status, ...(fields.details ? { details: fields.details } : {}) } },
    null,
    2,
  );
}

/** The 400 an invalid key gets: INVALID_ARGUMENT with an `API_KEY_INVALID` ErrorInfo (not a 401). */
export function badKeyDetails(): unknown[] {
  return [
    {
      "@type": "type.googleapis.com/google.rpc.ErrorInfo",
      reason: "API_KEY_INVALID",
      domain: "googleapis.com",
      metadata: { service: "generativelanguage.googleapis.com" },
    },
    { "@type": "type.googleapis.com/google.rpc.LocalizedMessage", locale: "en-US", message: "API key not valid. Please pass a valid API key." },
  ];
}

/** The details of a quota 429: QuotaFailure, Help and RetryInfo with `retryDelay`. */
export function quotaDetails(model: string, retryDelay: string): unknown[] {
  return [
    {
      "@type": "type.googleapis.com/google.rpc.QuotaFailure",
      violations: [
        {
          quotaMetric: "generativelanguage.googleapis.com/generate_content_free_tier_input_token_count",
          quotaId: "GenerateContentInputTokensPerModelPerMinute-FreeTier",
          quotaDimensions: { location: "global", model },
        },
      ],
    },
    {
      "@type": "type.googleapis.com/google.rpc.Help",
      links: [{ description: "Learn more about Gemini API quotas", url: "https://ai.google.dev/gemini-api/docs/rate-limits" }],
    },
    { "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay },
  ];
}

/** `usageMetadata`; zero counts left out, as the API does. `candidates` undefined = a mid-stream chunk. */
export function usageMetadata(prompt: number, cached: number, candidates: number | undefined): Record<string, unknown> {
  const u: Record<string, unknown> = { promptTokenCount: prompt };
  if (candidates !== undefined) u.candidatesTokenCount = candidates;
  u.totalTokenCount = prompt + (candidates ?? 0);
  if (cached > 0) u.cachedContentTokenCount = cached;
  u.promptTokensDetails = [{ modality: "TEXT", tokenCount: prompt }];
  if (candidates !== undefined) u.candidatesTokensDetails = [{ modality: "TEXT", tokenCount: candidates }];
  return u;
}

/** A stable `responseId`-like string. */
export function responseId(n: number): string {
  const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  let out = "";
  for (let i = 0; i < 23; i++) out += ALPHABET[(n * 31 + i * 17 + i * i) % ALPHABET.length];
  return out;
}

/** Reads a field under its camelCase or snake_case name (proto3 JSON parsers accept both). */
export function field(o: unknown, camel: string, snake: string): unknown {
  if (typeof o !== "object" || o === null) return undefined;
  const r = o as Record<string, unknown>;
  return r[camel] ?? r[snake];
}

/** The text parts of `contents` and `systemInstruction`, as `{content}` items for `countPromptTokens`. */
export function promptItems(body: Record<string, unknown>): Array<{ content: unknown }> {
  const items: Array<{ content: unknown }> = [];
  const system = field(body, "systemInstruction", "system_instruction");
  if (system !== undefined) items.push({ content: field(system, "parts", "parts") });
  for (const c of Array.isArray(body.contents) ? body.contents : []) items.push({ content: field(c, "parts", "parts") });
  return items;
}

/** Why a generateContent body is invalid (the API's 400 message), or null when it is valid. */
export function validateGenerateContentBody(b: Record<string, unknown>): string | null {
  const contents = b.contents;
  if (!Array.isArray(contents) || contents.length === 0) return "* GenerateContentRequest.contents: contents is not specified";
  for (const [i, c] of contents.entries()) {
    const role = field(c, "role", "role");
    if (role !== undefined && role !== "user" && role !== "model") return "Please use a valid role: user, model.";
    const parts = field(c, "parts", "parts");
    if (!Array.isArray(parts) || parts.length === 0) return `* GenerateContentRequest.contents[${i}].parts: contents.parts must not be empty.`;
    for (const [j, p] of parts.entries()) {
      const problem = partProblem(p);
      if (problem) return `* GenerateContentRequest.contents[${i}].parts[${j}].${problem}`;
    }
  }
  const toolProblem = toolsProblem(b);
  if (toolProblem) return toolProblem;
  const system = field(b, "systemInstruction", "system_instruction");
  if (system !== undefined) {
    const parts = field(system, "parts", "parts");
    if (!Array.isArray(parts) || !parts.every((p) => typeof field(p, "text", "text") === "string"))
      return "* GenerateContentRequest.system_instruction.parts: only text parts are supported";
  }
  const config = field(b, "generationConfig", "generation_config");
  const max = field(config, "maxOutputTokens", "max_output_tokens");
  if (max !== undefined && (typeof max !== "number" || !Number.isInteger(max) || max < 1))
    return "* GenerateContentRequest.generation_config.max_output_tokens: max_output_tokens must be positive.";
  const temperature = field(config, "temperature", "temperature");
  if (temperature !== undefined && (typeof temperature !== "number" || temperature < 0 || temperature > 2))
    return "* GenerateContentRequest.generation_config.temperature: temperature must be in [0, 2]";
  const schema = field(config, "responseSchema", "response_schema");
  const jsonSchema = field(config, "responseJsonSchema", "response_json_schema");
  if (schema !== undefined && jsonSchema !== undefined)
    return "* GenerateContentRequest.generation_config: response_schema and response_json_schema are mutually exclusive";
  if ((schema !== undefined || jsonSchema !== undefined) && field(config, "responseMimeType", "response_mime_type") !== "application/json")
    return "* GenerateContentRequest.generation_config.response_mime_type: a response schema needs response_mime_type application/json";
  const stops = field(config, "stopSequences", "stop_sequences");
  if (stops !== undefined && !(Array.isArray(stops) && stops.length <= 5 && stops.every((x) => typeof x === "string")))
    return "* GenerateContentRequest.generation_config.stop_sequences: at most 5 strings";
  return null;
}

/** Problems with `tools` (function declarations) and `toolConfig`, or null. */
function toolsProblem(b: Record<string, unknown>): string | null {
  const names = new Set<string>();
  const tools = b.tools;
  if (tools !== undefined) {
    if (!Array.isArray(tools)) return "* GenerateContentRequest.tools: must be a list";
    for (const [i, t] of tools.entries()) {
      const decls = field(t, "functionDeclarations", "function_declarations");
      if (!Array.isArray(decls)) continue;
      for (const [j, d] of decls.entries()) {
        const name = field(d, "name", "name");
        if (typeof name !== "string" || !/^[a-zA-Z_][a-zA-Z0-9_.:-]{0,63}$/.test(name))
          return `* GenerateContentRequest.tools[${i}].function_declarations[${j}].name: Invalid function name.`;
        if (field(d, "parameters", "parameters") !== undefined && field(d, "parametersJsonSchema", "parameters_json_schema") !== undefined)
          return `* GenerateContentRequest.tools[${i}].function_declarations[${j}]: parameters and parameters_json_schema are mutually exclusive`;
        names.add(name);
      }
    }
  }
  const fcc = field(field(b, "toolConfig", "tool_config"), "functionCallingConfig", "function_calling_config");
  if (fcc !== undefined) {
    const mode = field(fcc, "mode", "mode");
    if (!["AUTO", "ANY", "NONE", "VALIDATED"].includes(String(mode)))
      return `Invalid value at 'tool_config.function_calling_config.mode' (type.googleapis.com/google.ai.generativelanguage.v1beta.FunctionCallingConfig.Mode), "${String(mode)}"`;
    const allowed = field(fcc, "allowedFunctionNames", "allowed_function_names");
    if (allowed !== undefined) {
      if (mode !== "ANY" && mode !== "VALIDATED")
        return "* GenerateContentRequest.tool_config.function_calling_config.allowed_function_names: only set allowed_function_names when mode is ANY";
      if (!Array.isArray(allowed) || !allowed.every((a) => typeof a === "string" && names.has(a)))
        return "* GenerateContentRequest.tool_config.function_calling_config.allowed_function_names: names must match function declarations";
    }
  }
  return null;
}

function partProblem(p: unknown): string | null {
  if (typeof field(p, "text", "text") === "string") return null;
  const call = field(p, "functionCall", "function_call");
  if (call !== undefined) {
    const args = field(call, "args", "args");
    if (typeof field(call, "name", "name") !== "string") return "function_call.name: name must be specified";
    return args === undefined || (typeof args === "object" && args !== null && !Array.isArray(args))
      ? null
      : "function_call.args: Invalid value, expected a Struct";
  }
  const response = field(p, "functionResponse", "function_response");
  if (response !== undefined) {
    const r = field(response, "response", "response");
    if (typeof field(response, "name", "name") !== "string") return "function_response.name: name must be specified";
    return typeof r === "object" && r !== null && !Array.isArray(r) ? null : "function_response.response: Invalid value, expected a Struct";
  }
  const inline = field(p, "inlineData", "inline_data");
  if (inline !== undefined) {
    const mime = field(inline, "mimeType", "mime_type");
    const data = field(inline, "data", "data");
    if (typeof mime !== "string" || mime === "") return "inline_data.mime_type: mime_type must be specified";
    return typeof data === "string" && /^[A-Za-z0-9+/=_-]+$/.test(data) ? null : "inline_data.data: Base64 decoding failed";
  }
  const file = field(p, "fileData", "file_data");
  if (file !== undefined) return typeof field(file, "fileUri", "file_uri") === "string" ? null : "file_data.file_uri: file_uri must be specified";
  return "data: required oneof field 'data' must have one initialized field";
}
