import { z } from "zod";
import { JsonSchema, ToolName, ToolParameters } from "./tools";

/*
 * OpenAI's Responses API (`/v1/responses`), as its reference and the official SDK's types
 * (`openai/resources/responses`) describe it. Every documented request field is accepted by the
 * schema; `unsupportedResponsesParameter` names the ones Switchyard cannot honour, so nothing is
 * silently dropped. What we rely on is written down in docs/openai-responses.md.
 */

const set = (v: unknown) => v !== undefined && v !== null;

/** `resp_` + the job id's suffix: one response is one job (ids map both ways without a lookup). */
export const responseIdOf = (jobId: string) => `resp_${jobId.slice(jobId.indexOf("_") + 1)}`;
export const jobIdOfResponse = (responseId: string) => `job_${responseId.slice("resp_".length)}`;
export const RESPONSE_ID = /^resp_[0-9a-z]{10,64}$/;

/** Metadata as OpenAI takes it: at most 16 pairs, keys ≤ 64 and values ≤ 512 characters. */
export const ResponsesMetadata = z.record(z.string().max(64), z.string().max(512)).refine((m) => Object.keys(m).length <= 16, "metadata holds at most 16 keys");

/** A function tool in Responses' flat shape. */
export const ResponsesFunctionTool = z.strictObject({
  type: z.literal("function"),
  name: ToolName,
  description: z.string().max(10_000).nullable().optional(),
  parameters: ToolParameters.nullable().optional(),
  strict: z.boolean().nullable().optional(),
  allowed_callers: z.array(z.string()).nullable().optional(),
  defer_loading: z.boolean().optional(),
  output_schema: z.record(z.string(), z.unknown()).nullable().optional(),
});
export type ResponsesFunctionTool = z.infer<typeof ResponsesFunctionTool>;

/** `text.format`: plain text, JSON mode, or Structured Outputs (Responses' flat json_schema shape). */
export const ResponsesTextFormat = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("text") }),
  z.strictObject({ type: z.literal("json_object") }),
  z.strictObject({
    type: z.literal("json_schema"),
    name: ToolName,
    schema: JsonSchema,
    description: z.string().max(10_000).optional(),
    strict: z.boolean().nullable().optional(),
  }),
]);
export type ResponsesTextFormat = z.infer<typeof ResponsesTextFormat>;

export const ResponsesToolChoice = z.union([
  z.enum(["none", "auto", "required"]),
  z.strictObject({ type: z.literal("function"), name: ToolName }),
  z.object({ type: z.string() }).passthrough(),
]);
export type ResponsesToolChoice = z.infer<typeof ResponsesToolChoice>;

/** Body of `POST /v1/responses`: OpenAI's whole request schema. */
export const ResponsesCreateRequest = z.strictObject({
  model: z.string().min(1).max(128).optional(),
  /** A string (one user message) or items; items are checked one by one by {@link parseInputItems}. */
  input: z
    .union([z.string().min(1, "input must not be empty").max(1_000_000), z.array(z.unknown()).min(1, "input must contain at least one item").max(1000)])
    .optional(),
  instructions: z.string().max(200_000).nullable().optional(),
  tools: z.array(z.unknown()).max(128).optional(),
  tool_choice: ResponsesToolChoice.optional(),
  parallel_tool_calls: z.boolean().nullable().optional(),
  max_output_tokens: z.number().int().min(1).max(200_000).nullable().optional(),
  max_tool_calls: z.number().int().min(1).nullable().optional(),
  text: z.strictObject({ format: ResponsesTextFormat.optional(), verbosity: z.enum(["low", "medium", "high"]).nullable().optional() }).optional(),
  metadata: ResponsesMetadata.nullable().optional(),
  previous_response_id: z.string().max(128).nullable().optional(),
  store: z.boolean().nullable().optional(),
  stream: z.boolean().nullable().optional(),
  stream_options: z.strictObject({ include_obfuscation: z.boolean().optional() }).nullable().optional(),
  background: z.boolean().nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  top_logprobs: z.number().int().min(0).max(20).nullable().optional(),
  user: z.string().min(1).max(256).optional(),
  safety_identifier: z.string().max(64).nullable().optional(),
  prompt_cache_key: z.string().max(256).nullable().optional(),
  prompt_cache_retention: z.enum(["in_memory", "24h"]).nullable().optional(),
  prompt_cache_options: z.unknown().optional(),
  service_tier: z.enum(["auto", "default", "flex", "scale", "priority"]).nullable().optional(),
  truncation: z.enum(["auto", "disabled"]).nullable().optional(),
  include: z.array(z.string()).nullable().optional(),
  reasoning: z.unknown().optional(),
  conversation: z.unknown().optional(),
  context_management: z.unknown().optional(),
  moderation: z.unknown().optional(),
  prompt: z.unknown().optional(),
});
export type ResponsesCreateRequest = z.infer<typeof ResponsesCreateRequest>;

/** The first field set to something Switchyard cannot honour, with why; null when all can be. */
export function unsupportedResponsesParameter(req: ResponsesCreateRequest): { param: string; message: string } | null {
  const checks: Array<[boolean, string, string]> = [
    [set(req.conversation), "conversation", "conversations are not supported; use previous_response_id"],
    [set(req.prompt), "prompt", "prompt templates are not supported"],
    [set(req.reasoning), "reasoning", "reasoning options are not supported"],
    [set(req.context_management), "context_management", "context management is not supported"],
    [set(req.moderation), "moderation", "moderation is not supported"],
    [set(req.max_tool_calls), "max_tool_calls", "max_tool_calls is not supported"],
    [set(req.top_logprobs) && req.top_logprobs !== 0, "top_logprobs", "logprobs are not supported on /v1/responses"],
    [set(req.top_p) && req.top_p !== 1, "top_p", "top_p is not supported; use temperature"],
    [set(req.text?.verbosity), "text.verbosity", "verbosity is not supported"],
    [req.truncation === "auto", "truncation", "truncation=auto is not supported"],
    [set(req.service_tier) && req.service_tier !== "auto" && req.service_tier !== "default", "service_tier", "service_tier is not supported"],
    [!!req.include?.length, "include", "include is not supported (no built-in tools, logprobs or encrypted reasoning)"],
    [req.prompt_cache_retention === "24h", "prompt_cache_retention", "extended prompt caching is not supported"],
    [set(req.prompt_cache_options), "prompt_cache_options", "prompt cache options are not supported"],
    [req.background === true && req.store === false, "store", "background mode needs store=true (the response is kept to be polled)"],
    [req.stream_options != null && req.stream !== true, "stream_options", "stream_options needs stream=true"],
    [req.input === undefined && !set(req.previous_response_id), "input", "input is required"],
  ];
  for (const [bad, param, message] of checks) if (bad) return { param, message };
  return null;
}

/** Query of `GET /v1/responses/{id}`. */
export const ResponsesRetrieveQuery = z.strictObject({
  stream: z.enum(["true", "false"]).optional(),
  starting_after: z
    .string()
    .regex(/^\d{1,15}$/, "starting_after must be a sequence number (a non-negative integer)")
    .optional(),
  include: z.union([z.string(), z.array(z.string())]).optional(),
  include_obfuscation: z.enum(["true", "false"]).optional(),
});

/** Query of `GET /v1/responses/{id}/input_items` (OpenAI's cursor page: `after` is an item id). */
export const ResponsesInputItemsQuery = z.strictObject({
  limit: z
    .string()
    .regex(/^\d{1,3}$/, "limit must be an integer from 1 to 100")
    .refine((v) => Number(v) >= 1 && Number(v) <= 100, "limit must be an integer from 1 to 100")
    .optional(),
  order: z.enum(["asc", "desc"]).optional(),
  after: z.string().min(1).max(256).optional(),
  include: z.union([z.string(), z.array(z.string())]).optional(),
});

// ---- Items (what `input` holds, what `input_items` lists, what `output` holds) ----

export const InputTextPart = z.strictObject({
  type: z.literal("input_text"),
  text: z.string().min(1, "text must not be empty").max(200_000),
  prompt_cache_breakpoint: z.unknown().optional(),
});
export const InputImagePart = z.strictObject({
  type: z.literal("input_image"),
  detail: z.enum(["auto", "low", "high", "original"]).optional(),
  image_url: z
    .string()
    .max(20_000_000)
    .refine((u) => /^(https?:\/\/|data:image\/(png|jpeg|gif|webp);base64,)/.test(u), "image_url must be http(s) or a data:image/…;base64 URL")
    .nullable()
    .optional(),
  file_id: z.string().nullable().optional(),
});
export const InputFilePart = z.object({ type: z.literal("input_file") }).passthrough();
export const OutputTextPart = z.strictObject({
  type: z.literal("output_text"),
  text: z.string().max(1_000_000),
  annotations: z.array(z.unknown()).max(1000).optional(),
  logprobs: z.array(z.unknown()).optional(),
});
export const RefusalPart = z.strictObject({ type: z.literal("refusal"), refusal: z.string().max(200_000) });
export const MessageContentPart = z.discriminatedUnion("type", [InputTextPart, InputImagePart, InputFilePart, OutputTextPart, RefusalPart]);

const ItemStatus = z.enum(["in_progress", "completed", "incomplete"]);

export const MessageItemInput = z.strictObject({
  type: z.literal("message").optional(),
  id: z.string().min(1).max(256).optional(),
  role: z.enum(["user", "assistant", "system", "developer"]),
  /** A string, or parts (each checked by {@link MessageContentPart}, so a problem names the part's field). */
  content: z.union([z.string().max(1_000_000), z.array(z.unknown()).min(1, "content must have at least one part").max(100)]),
  status: ItemStatus.optional(),
  phase: z.enum(["commentary", "final_answer"]).nullable().optional(),
});
export const FunctionCallItemInput = z.strictObject({
  type: z.literal("function_call"),
  id: z.string().min(1).max(256).optional(),
  call_id: z.string().min(1).max(256),
  name: ToolName,
  arguments: z.string().max(1_000_000),
  status: ItemStatus.optional(),
  namespace: z.string().optional(),
  caller: z.unknown().optional(),
});
export const FunctionCallOutputItemInput = z.strictObject({
  type: z.literal("function_call_output"),
  id: z.string().min(1).max(256).nullable().optional(),
  call_id: z.string().min(1).max(256),
  output: z.union([
    z.string().max(1_000_000),
    z
      .array(z.discriminatedUnion("type", [InputTextPart, InputImagePart, InputFilePart]))
      .min(1)
      .max(100),
  ]),
  status: ItemStatus.nullable().optional(),
  caller: z.unknown().optional(),
});

/** A conversation item as stored and listed: ids assigned, content in parts. */
export const ResponseItem = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("message"),
    id: z.string(),
    role: z.enum(["user", "assistant", "system", "developer"]),
    status: ItemStatus,
    content: z.array(
      z.discriminatedUnion("type", [
        z.object({ type: z.literal("input_text"), text: z.string() }),
        z.object({ type: z.literal("input_image"), image_url: z.string().nullable(), detail: z.string(), file_id: z.string().nullable().optional() }),
        z.object({ type: z.literal("output_text"), text: z.string(), annotations: z.array(z.unknown()) }),
        z.object({ type: z.literal("refusal"), refusal: z.string() }),
      ]),
    ),
  }),
  z.object({ type: z.literal("function_call"), id: z.string(), call_id: z.string(), name: z.string(), arguments: z.string(), status: ItemStatus }),
  z.object({ type: z.literal("function_call_output"), id: z.string(), call_id: z.string(), output: z.string(), status: ItemStatus }),
]);
export type ResponseItem = z.infer<typeof ResponseItem>;

/** A 400 naming the field of one input item. */
export type ItemProblem = { param: string; message: string };

function firstIssue(err: z.ZodError, prefix: string): ItemProblem {
  const issue = err.issues[0]!;
  const path = [prefix, ...issue.path.map(String)].join(".");
  if (issue.code === "unrecognized_keys") return { param: `${path}.${issue.keys[0]}`, message: `unknown field: ${path}.${issue.keys[0]}` };
  return { param: path, message: `${path}: ${issue.message}` };
}

/**
 * Parse and normalise `input` items: messages (content as parts), function calls and their
 * outputs, each given an id (`idFor(i, type)`) unless it brought one. Anything else, or a part
 * Switchyard cannot pass on (files, images by file id), is a problem naming the field.
 */
export function parseInputItems(input: string | unknown[], idFor: (i: number, type: ResponseItem["type"]) => string): ResponseItem[] | ItemProblem {
  if (typeof input === "string")
    return [{ type: "message", id: idFor(0, "message"), role: "user", status: "completed", content: [{ type: "input_text", text: input }] }];
  const out: ResponseItem[] = [];
  for (const [i, raw] of input.entries()) {
    const at = `input.${i}`;
    if (typeof raw !== "object" || raw === null || Array.isArray(raw))
      return { param: at, message: `${at}: must be an object (a message, function_call or function_call_output item)` };
    const type = (raw as { type?: unknown }).type ?? "message";
    if (type === "message") {
      const r = MessageItemInput.safeParse(raw);
      if (!r.success) return firstIssue(r.error, at);
      const m = r.data;
      const parts: Array<z.infer<typeof MessageContentPart>> = [];
      if (typeof m.content === "string")
        parts.push(m.role === "assistant" ? { type: "output_text", text: m.content } : { type: "input_text", text: m.content });
      else {
        for (const [j, raw] of m.content.entries()) {
          const part = MessageContentPart.safeParse(raw);
          if (!part.success) return firstIssue(part.error, `${at}.content.${j}`);
          parts.push(part.data);
        }
      }
      if (typeof m.content === "string" && m.content.length === 0) return { param: `${at}.content`, message: `${at}.content: content must not be empty` };
      const content: Extract<ResponseItem, { type: "message" }>["content"] = [];
      for (const [j, p] of parts.entries()) {
        const where = `${at}.content.${j}`;
        if (p.type === "input_file") return { param: `${where}.type`, message: `${where}: file inputs are not supported` };
        if (m.role === "assistant" && (p.type === "input_text" || p.type === "input_image"))
          return { param: `${where}.type`, message: `${where}: an assistant message holds output_text or refusal parts` };
        if (m.role !== "assistant" && (p.type === "output_text" || p.type === "refusal"))
          return { param: `${where}.type`, message: `${where}: a ${m.role} message holds input_text or input_image parts` };
        if (p.type === "input_image") {
          if (!p.image_url) return { param: `${where}.image_url`, message: `${where}.image_url: images are passed by URL (file_id is not supported)` };
          content.push({ type: "input_image", image_url: p.image_url, detail: p.detail ?? "auto" });
        } else if (p.type === "output_text") content.push({ type: "output_text", text: p.text, annotations: [] });
        else content.push(p.type === "refusal" ? { type: "refusal", refusal: p.refusal } : { type: "input_text", text: p.text });
      }
      out.push({ type: "message", id: m.id ?? idFor(i, "message"), role: m.role, status: m.status ?? "completed", content });
    } else if (type === "function_call") {
      const r = FunctionCallItemInput.safeParse(raw);
      if (!r.success) return firstIssue(r.error, at);
      out.push({
        type: "function_call",
        id: r.data.id ?? idFor(i, "function_call"),
        call_id: r.data.call_id,
        name: r.data.name,
        arguments: r.data.arguments,
        status: r.data.status ?? "completed",
      });
    } else if (type === "function_call_output") {
      const r = FunctionCallOutputItemInput.safeParse(raw);
      if (!r.success) return firstIssue(r.error, at);
      const o = r.data.output;
      if (typeof o !== "string" && o.some((p) => p.type !== "input_text"))
        return { param: `${at}.output`, message: `${at}.output: only text outputs are supported` };
      const text = typeof o === "string" ? o : o.map((p) => (p.type === "input_text" ? p.text : "")).join("\n");
      out.push({
        type: "function_call_output",
        id: r.data.id ?? idFor(i, "function_call_output"),
        call_id: r.data.call_id,
        output: text,
        status: r.data.status ?? "completed",
      });
    } else {
      return {
        param: `${at}.type`,
        message: `${at}.type: item type ${JSON.stringify(type).slice(0, 64)} is not supported (message, function_call and function_call_output are)`,
      };
    }
  }
  return out;
}

/** Parse `tools` (function tools only), each problem naming its field. */
export function parseResponsesTools(tools: unknown[]): ResponsesFunctionTool[] | ItemProblem {
  const out: ResponsesFunctionTool[] = [];
  for (const [i, raw] of tools.entries()) {
    const at = `tools.${i}`;
    const type = typeof raw === "object" && raw !== null ? (raw as { type?: unknown }).type : undefined;
    if (type !== "function") return { param: `${at}.type`, message: `${at}.type: only function tools are supported` };
    const r = ResponsesFunctionTool.safeParse(raw);
    if (!r.success) return firstIssue(r.error, at);
    if (r.data.allowed_callers?.some((c) => c !== "direct"))
      return { param: `${at}.allowed_callers`, message: `${at}.allowed_callers: only direct calls are supported` };
    if (r.data.defer_loading) return { param: `${at}.defer_loading`, message: `${at}.defer_loading: tool search is not supported` };
    if (set(r.data.output_schema)) return { param: `${at}.output_schema`, message: `${at}.output_schema: output schemas are not supported` };
    if (out.some((t) => t.name === r.data.name)) return { param: `${at}.name`, message: `${at}.name: duplicate tool name ${r.data.name}` };
    out.push(r.data);
  }
  return out;
}

/**
 * What a stored response keeps of its request, echoed on every rendering of it (OpenAI's
 * Response object repeats these fields). Parsed when read back from Postgres.
 */
export const StoredResponseParams = z.object({
  model: z.string(),
  instructions: z.string().nullable(),
  tools: z.array(ResponsesFunctionTool),
  tool_choice: z.union([z.enum(["none", "auto", "required"]), z.object({ type: z.literal("function"), name: z.string() })]),
  parallel_tool_calls: z.boolean(),
  max_output_tokens: z.number().nullable(),
  temperature: z.number().nullable(),
  top_p: z.number().nullable(),
  text: z.object({ format: ResponsesTextFormat }),
  metadata: z.record(z.string(), z.string()),
  user: z.string().nullable(),
  safety_identifier: z.string().nullable(),
  prompt_cache_key: z.string().nullable(),
  service_tier: z.string(),
});
export type StoredResponseParams = z.infer<typeof StoredResponseParams>;

/** One response as stored: the job it maps onto, the parameters to echo, its input items. */
export const StoredResponse = z.object({
  id: z.string(),
  job_id: z.string(),
  tenant_id: z.string(),
  api_key_id: z.string().nullable(),
  background: z.boolean(),
  store: z.boolean(),
  previous_response_id: z.string().nullable(),
  params: StoredResponseParams,
  /** The model's whole input: the previous response's input and output, then this request's input. */
  input_items: z.array(ResponseItem),
  /** The final Response object once the job ended (rendered once, so every later read is the same). */
  final: z.record(z.string(), z.unknown()).nullable(),
  created_at: z.string(),
});
export type StoredResponse = z.infer<typeof StoredResponse>;

/** The status values of a Response object. */
export const ResponseStatus = z.enum(["queued", "in_progress", "completed", "failed", "cancelled", "incomplete"]);
export type ResponseStatus = z.infer<typeof ResponseStatus>;
