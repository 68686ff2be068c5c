import { z } from "zod";

export const JOB_STATUSES = ["queued", "retrieving", "running", "succeeded", "failed", "canceled", "incomplete"] as const;
export const JobStatus = z.enum(JOB_STATUSES);
export type JobStatus = z.infer<typeof JobStatus>;
export const TERMINAL_STATUSES: readonly JobStatus[] = ["succeeded", "failed", "canceled", "incomplete"];
export const isTerminalStatus = (s: JobStatus): boolean => TERMINAL_STATUSES.includes(s);

export const ChatRole = z.enum(["system", "user", "assistant"]);
export const TextPart = z.strictObject({ type: z.literal("text"), text: z.string().min(1, "text must not be empty").max(200_000) });
export const ImagePart = z.strictObject({
  type: z.literal("image_url"),
  image_url: z.strictObject({
    url: z.string().max(20_000_000).refine((u) => /^(https?:\/\/|data:image\/(png|jpeg|gif|webp);base64,)/.test(u), "url must be http(s) or a data:image/…;base64 URL"),
    detail: z.enum(["auto", "low", "high"]).optional(),
  }),
});
export const ContentPart = z.discriminatedUnion("type", [TextPart, ImagePart]);
export type ContentPart = z.infer<typeof ContentPart>;
export const ChatMessage = z.strictObject({
  role: ChatRole,
  /** A string, or parts (text and images) as in OpenAI's chat format. */
  content: z.union([z.string().min(1, "content must not be empty").max(200_000), z.array(ContentPart).min(1, "content must have at least one part").max(100)]),
});
export type ChatMessage = z.infer<typeof ChatMessage>;

/** The text of a message, parts joined; images contribute nothing. */
export function messageText(m: Pick<ChatMessage, "content">): string {
  return typeof m.content === "string" ? m.content : m.content.map((p) => (p.type === "text" ? p.text : "")).join("\n");
}

/** True when any message carries an image (routing then needs a vision model). */
export function hasImages(messages: readonly ChatMessage[]): boolean {
  return messages.some((m) => typeof m.content !== "string" && m.content.some((p) => p.type === "image_url"));
}

/** Largest `max_tokens` a job may ask for; any catalog model's own cap applies on top. */
export const MAX_OUTPUT_TOKENS_LIMIT = 200_000;

/** Body of `POST /v1/jobs`. Strict: unknown fields are rejected. */
export const CreateJobRequest = z.strictObject({
  model: z.string().min(1).max(128).default("auto"),
  messages: z.array(ChatMessage).min(1, "messages must contain at least one message").max(1000),
  max_tokens: z.number().int().min(1).max(MAX_OUTPUT_TOKENS_LIMIT).optional(),
  temperature: z.number().min(0).max(2).optional(),
  rag: z.strictObject({ collection: z.string().min(1).max(128), top_k: z.number().int().min(1).max(50).default(5) }).optional(),
  metadata: z.record(z.string().max(64), z.union([z.string().max(512), z.number(), z.boolean(), z.null()])).refine((m) => Object.keys(m).length <= 32, "metadata holds at most 32 keys").optional(),
  user: z.string().min(1).max(256).optional(),
  priority: z.enum(["high", "normal", "low"]).default("normal"),
  client_request_id: z.string().min(1).max(255).optional(),
});
export type CreateJobRequest = z.infer<typeof CreateJobRequest>;

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
  output: z.object({ text: z.string(), citations: z.array(Citation), finish_reason: z.string().nullable(), no_sources: z.boolean().optional() }).nullable(),
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
