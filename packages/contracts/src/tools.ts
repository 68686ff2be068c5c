import { z } from "zod";
import { ChatMessage, TextPart } from "./chat-message";

/** Deepest nesting a tool's JSON Schema may have (objects and arrays both count). */
export const MAX_JSON_SCHEMA_DEPTH = 32;
/** Longest a tool's JSON Schema may be, serialized. */
export const MAX_JSON_SCHEMA_CHARS = 100_000;

/** Nesting depth of a JSON value: 0 for a scalar, 1 for a flat object or array. */
function depthOf(v: unknown, limit: number): number {
  if (typeof v !== "object" || v === null) return 0;
  if (limit <= 0) return 1;
  let max = 0;
  for (const child of Object.values(v)) max = Math.max(max, depthOf(child, limit - 1));
  return max + 1;
}

function sizeProblem(schema: unknown): string | null {
  if (depthOf(schema, MAX_JSON_SCHEMA_DEPTH + 1) > MAX_JSON_SCHEMA_DEPTH) return `schema nests deeper than ${MAX_JSON_SCHEMA_DEPTH} levels`;
  if (JSON.stringify(schema).length > MAX_JSON_SCHEMA_CHARS) return `schema is longer than ${MAX_JSON_SCHEMA_CHARS} characters`;
  return null;
}

/**
 * A JSON Schema (an object), bounded in depth and size. Its contents are the provider's to
 * judge; we only make sure it is a schema-shaped object that cannot blow up a request.
 */
export const JsonSchema = z.record(z.string(), z.unknown()).superRefine((s, ctx) => {
  const problem = sizeProblem(s);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});
export type JsonSchema = z.infer<typeof JsonSchema>;

/** A function's parameters: a JSON Schema whose top level is `type: "object"` (every provider requires it). */
/**
 * An empty schema `{}` is what many clients send for a function without arguments (OpenAI takes
 * it): it is read as `{type: "object", properties: {}}`, which every provider accepts.
 */
export const ToolParameters = JsonSchema.refine(
  (s) => s.type === "object" || Object.keys(s).length === 0,
  'parameters must be a JSON Schema with type "object" at the top',
).transform((s) => (Object.keys(s).length === 0 ? { type: "object", properties: {} } : s));
export type ToolParameters = z.infer<typeof ToolParameters>;

/** Function names as OpenAI accepts them (Anthropic's and Gemini's rules are no stricter for this alphabet). */
export const ToolName = z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, "name must be 1-64 characters of a-z, A-Z, 0-9, _ and -");

/** One function tool, in OpenAI's shape. Without `parameters` the function takes no arguments. */
export const ToolDefinition = z.strictObject({
  type: z.literal("function"),
  function: z.strictObject({
    name: ToolName,
    description: z.string().max(10_000).optional(),
    parameters: ToolParameters.optional(),
    /** OpenAI Structured Outputs for the arguments; other providers cannot promise it. */
    strict: z.boolean().nullable().optional(),
  }),
});
export type ToolDefinition = z.infer<typeof ToolDefinition>;

/** `none` never calls a tool, `auto` may, `required` must call at least one, a named function must call that one. */
export const ToolChoice = z.union([
  z.enum(["none", "auto", "required"]),
  z.strictObject({ type: z.literal("function"), function: z.strictObject({ name: ToolName }) }),
]);
export type ToolChoice = z.infer<typeof ToolChoice>;

/** A call the model made: `arguments` is the JSON text of the arguments, exactly as generated. */
export const ToolCall = z.strictObject({
  id: z.string().min(1).max(256),
  type: z.literal("function"),
  function: z.strictObject({ name: ToolName, arguments: z.string().max(1_000_000) }),
});
export type ToolCall = z.infer<typeof ToolCall>;

/** Output format: free text, any JSON object, or JSON matching `json_schema.schema` (OpenAI's shape). */
export const ResponseFormat = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("text") }),
  z.strictObject({ type: z.literal("json_object") }),
  z.strictObject({
    type: z.literal("json_schema"),
    json_schema: z.strictObject({
      name: ToolName,
      description: z.string().max(10_000).optional(),
      schema: JsonSchema.optional(),
      strict: z.boolean().nullable().optional(),
    }),
  }),
]);
export type ResponseFormat = z.infer<typeof ResponseFormat>;

const Content = ChatMessage.shape.content;
const TextContent = z.union([z.string().max(200_000), z.array(TextPart).min(1).max(100)]);

/**
 * A message of an agent conversation (OpenAI's roles). `system`, `developer` and `user` carry
 * content as a ChatMessage does; an `assistant` turn may carry `tool_calls` instead of (or with)
 * content; a `tool` message answers one call by `tool_call_id`. Every ChatMessage is one.
 */
export const AgentChatMessage = z.discriminatedUnion("role", [
  z.strictObject({ role: z.literal("system"), content: Content }),
  z.strictObject({ role: z.literal("developer"), content: Content }),
  z.strictObject({ role: z.literal("user"), content: Content }),
  z
    .strictObject({
      role: z.literal("assistant"),
      content: z.union([Content, z.literal(""), z.null()]).optional(),
      tool_calls: z.array(ToolCall).min(1).max(128).optional(),
    })
    .refine(
      (m) => (m.content !== undefined && m.content !== null && m.content !== "") || m.tool_calls !== undefined,
      "an assistant message needs content or tool_calls",
    ),
  z.strictObject({ role: z.literal("tool"), tool_call_id: z.string().min(1).max(256), content: TextContent }),
]);
export type AgentChatMessage = z.infer<typeof AgentChatMessage>;

/** The text of a message's content (text parts joined with a newline); null or absent content is "". */
export function contentText(content: AgentChatMessage["content"]): string {
  if (content === undefined || content === null) return "";
  if (typeof content === "string") return content;
  return content.map((p) => (p.type === "text" ? p.text : "")).join("\n");
}
