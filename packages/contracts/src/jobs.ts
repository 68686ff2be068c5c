import { z } from "zod";
import { AgentChatMessage, ResponseFormat, ToolCall, ToolChoice, ToolDefinition } from "./tools";

export const JOB_STATUSES = ["queued", "retrieving", "running", "succeeded", "failed", "canceled", "incomplete"] as const;
export const JobStatus = z.enum(JOB_STATUSES);
export type JobStatus = z.infer<typeof JobStatus>;
export const TERMINAL_STATUSES: readonly JobStatus[] = ["succeeded", "failed", "canceled", "incomplete"];
export const isTerminalStatus = (s: JobStatus): boolean => TERMINAL_STATUSES.includes(s);

export { ChatMessage, ChatRole, ContentPart, ImagePart, TextPart, hasImages, messageText } from "./chat-message";

/** Largest `max_tokens` a job may ask for; any catalog model's own cap applies on top. */
export const MAX_OUTPUT_TOKENS_LIMIT = 200_000;

/** Most tools one request may declare (OpenAI's limit). */
export const MAX_TOOLS = 128;
/** Most stop sequences one request may set (OpenAI's limit). */
export const MAX_STOP_SEQUENCES = 4;

/**
 * Body of `POST /v1/jobs`. Strict: unknown fields are rejected. Besides the chat fields, the
 * agent fields of OpenAI's chat request under their OpenAI names (`tools`, `tool_choice`,
 * `parallel_tool_calls`, `response_format`, `stop`, `seed`, penalties, `logprobs`); which model
 * can honour them is the gateway's and the router's business (catalog capabilities, adapters).
 */
export const CreateJobRequest = z.strictObject({
  model: z.string().min(1).max(128).default("auto"),
  /** Chat turns, or agent turns: assistant `tool_calls`, `tool` results, `developer` messages. */
  messages: z.array(AgentChatMessage).min(1, "messages must contain at least one message").max(1000),
  max_tokens: z.number().int().min(1).max(MAX_OUTPUT_TOKENS_LIMIT).optional(),
  temperature: z.number().min(0).max(2).optional(),
  rag: z.strictObject({ collection: z.string().min(1).max(128), top_k: z.number().int().min(1).max(50).default(5) }).optional(),
  metadata: z.record(z.string().max(64), z.union([z.string().max(512), z.number(), z.boolean(), z.null()])).refine((m) => Object.keys(m).length <= 32, "metadata holds at most 32 keys").optional(),
  user: z.string().min(1).max(256).optional(),
  priority: z.enum(["high", "normal", "low"]).default("normal"),
  client_request_id: z.string().min(1).max(255).optional(),
  /** Function tools the model may call (at most 128, names unique). */
  tools: z.array(ToolDefinition).min(1, "tools must contain at least one tool").max(MAX_TOOLS).optional(),
  tool_choice: ToolChoice.optional(),
  /** False: at most one call per turn. Default: the provider's (parallel calls allowed). */
  parallel_tool_calls: z.boolean().optional(),
  response_format: ResponseFormat.optional(),
  /** Up to 4 sequences where the answer stops (the sequence itself is not returned). */
  stop: z.union([z.string().min(1).max(1000), z.array(z.string().min(1).max(1000)).min(1).max(MAX_STOP_SEQUENCES)]).optional(),
  seed: z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER).optional(),
  presence_penalty: z.number().min(-2).max(2).optional(),
  frequency_penalty: z.number().min(-2).max(2).optional(),
  /** Log probabilities of the output tokens; `top_logprobs` (0-20) alternatives per position need `logprobs: true`. */
  logprobs: z.boolean().optional(),
  top_logprobs: z.number().int().min(0).max(20).optional(),
}).superRefine((req, ctx) => {
  // A tool result must answer a call an earlier assistant turn made (every provider refuses orphans).
  const calls = new Set<string>();
  for (const [i, m] of req.messages.entries()) {
    if (m.role === "assistant") for (const c of m.tool_calls ?? []) calls.add(c.id);
    if (m.role === "tool" && !calls.has(m.tool_call_id)) {
      ctx.addIssue({ code: "custom", path: ["messages", i, "tool_call_id"], message: `${m.tool_call_id} answers no tool call of an earlier assistant message` });
    }
  }
  const names = new Set<string>();
  for (const [i, t] of (req.tools ?? []).entries()) {
    if (names.has(t.function.name)) ctx.addIssue({ code: "custom", path: ["tools", i, "function", "name"], message: `duplicate tool name ${t.function.name}` });
    names.add(t.function.name);
  }
  if (req.tools === undefined) {
    if (req.tool_choice !== undefined) ctx.addIssue({ code: "custom", path: ["tool_choice"], message: "tool_choice is only allowed when tools are set" });
    if (req.parallel_tool_calls !== undefined) ctx.addIssue({ code: "custom", path: ["parallel_tool_calls"], message: "parallel_tool_calls is only allowed when tools are set" });
  } else if (typeof req.tool_choice === "object" && !names.has(req.tool_choice.function.name)) {
    ctx.addIssue({ code: "custom", path: ["tool_choice", "function", "name"], message: `${req.tool_choice.function.name} is not one of the declared tools` });
  }
  if (req.top_logprobs !== undefined && req.logprobs !== true) ctx.addIssue({ code: "custom", path: ["top_logprobs"], message: "top_logprobs needs logprobs: true" });
});
export type CreateJobRequest = z.infer<typeof CreateJobRequest>;

/** Log probability of one output token, with the most likely alternatives when asked (OpenAI's `logprobs.content[]` item). */
export const OutputLogprob = z.object({
  token: z.string(),
  logprob: z.number(),
  bytes: z.array(z.number().int()).nullable(),
  top_logprobs: z.array(z.object({ token: z.string(), logprob: z.number(), bytes: z.array(z.number().int()).nullable() })),
});
export type OutputLogprob = z.infer<typeof OutputLogprob>;

/** The stop sequences of a request as a list (OpenAI takes one string or a list). */
export function stopSequences(stop: CreateJobRequest["stop"]): string[] | undefined {
  if (stop === undefined) return undefined;
  return typeof stop === "string" ? [stop] : stop;
}

export const Citation = z.object({
  document_id: z.string(),
  chunk_id: z.string(),
  title: z.string().nullable(),
  source: z.string().nullable(),
  score: z.number(),
});
export type Citation = z.infer<typeof Citation>;

export const UsageProvenance = z.enum(["reported", "estimated", "partial"]);
export type UsageProvenance = z.infer<typeof UsageProvenance>;

export const JobUsage = z.object({
  input_tokens: z.number().int().nonnegative(),
  output_tokens: z.number().int().nonnegative(),
  cost_usd: z.number().nonnegative(),
  provenance: UsageProvenance,
});
export type JobUsage = z.infer<typeof JobUsage>;

export const RoutingDecision = z.object({
  decision: z.object({
    requested_model: z.string(),
    chosen_model: z.string(),
    candidates: z.array(z.string()),
    reasons: z.array(z.string()),
    tier: z.string().optional(),
    domain: z.string().optional(),
    complexity: z.string().optional(),
  }).nullable(),
  fallbacks: z.array(z.object({ from: z.string(), to: z.string(), kind: z.string(), reason: z.string() })),
});
export type RoutingDecision = z.infer<typeof RoutingDecision>;

export const JobError = z.object({ code: z.string(), message: z.string(), reason: z.string().optional() });
export type JobError = z.infer<typeof JobError>;

/** The job as `GET /v1/jobs/{id}` returns it. */
export const JobView = z.object({
  id: z.string(),
  object: z.literal("job"),
  status: JobStatus,
  model: z.string(),
  served_model: z.string().nullable(),
  created_at: z.string(),
  started_at: z.string().nullable(),
  completed_at: z.string().nullable(),
  /**
   * The answer. `finish_reason` is `stop`, `length`, `content_filter` or `tool_calls` (the answer
   * is `tool_calls`, with or without text); `tool_calls` is absent when the model called none.
   */
  output: z.object({
    text: z.string(),
    citations: z.array(Citation),
    finish_reason: z.string().nullable(),
    no_sources: z.boolean().optional(),
    tool_calls: z.array(ToolCall).optional(),
    /** Per-token log probabilities, when the job asked for `logprobs`. */
    logprobs: z.array(OutputLogprob).optional(),
  }).nullable(),
  usage: JobUsage.nullable(),
  routing: RoutingDecision,
  error: JobError.nullable(),
  metadata: z.record(z.string(), z.unknown()).nullable(),
  /** Deliveries so far: `runs` reached a provider call (the attempt number), `waits` found no model to call and waited. */
  attempts: z.object({ runs: z.number().int().nonnegative(), waits: z.number().int().nonnegative() }).optional(),
});
export type JobView = z.infer<typeof JobView>;

export const CreateJobResponse = z.object({
  id: z.string(),
  object: z.literal("job"),
  status: JobStatus,
  created_at: z.string(),
  links: z.object({ self: z.string(), events: z.string() }),
});
export type CreateJobResponse = z.infer<typeof CreateJobResponse>;

export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;
