import { z } from "zod";
import { Citation, JobError, JobStatus, JobView, OutputLogprob } from "./jobs";

/** Reasons a job ends without a normal `done` (`budget_exhausted`: the budget or credit balance could not fund a re-run after a billed run; `queue_timeout`: not begun within the request's `max_queue_ms`). */
export const TerminalReason = z.enum([
  "upstream_cut",
  "stalled",
  "malformed",
  "canceled",
  "provider_error",
  "max_attempts",
  "stuck",
  "invalid_payload",
  "internal",
  "budget_exhausted",
  "queue_timeout",
]);
export type TerminalReason = z.infer<typeof TerminalReason>;

/** Why a job waits instead of running: `breaker_open` (every usable model's breaker), `rate_limited_upstream` (a 429), `capacity` (no worker or model slot free). */
export const WaitReason = z.enum(["capacity", "rate_limited_upstream", "breaker_open"]);
export type WaitReason = z.infer<typeof WaitReason>;

/**
 * Which child job (and model) an event came from, in the stream of a multi-model comparison: every
 * event of a child is also written to its parent's stream with these added to its `data` (the
 * job store's scripts add them, in the same step as the child's own event). Absent elsewhere.
 */
export const EventTag = { model: z.string().optional(), job_id: z.string().optional() };

/** One event in a job's Redis Stream, as SSE delivers it (`event:` = type, `data:` = data). */
export const JobEvent = z.discriminatedUnion("type", [
  /** `attempt` is the run number (deliveries that reached a provider call); `waits` counts deliveries that waited for a model. */
  /**
   * `status: "waiting"` (never a job's stored status): the job waits for an upstream and will be
   * tried again at `retry_at` (ISO time) for `reason`; not a run, so no `attempt`.
   */
  z.object({
    type: z.literal("status"),
    data: z.object({
      status: z.union([JobStatus, z.literal("waiting")]),
      attempt: z.number().int().optional(),
      waits: z.number().int().optional(),
      served_model: z.string().optional(),
      reason: WaitReason.optional(),
      retry_at: z.string().optional(),
      /** In a comparison's stream, a child's end is a tagged status (succeeded, failed …) with its error when it did not succeed. */
      error: JobError.optional(),
      ...EventTag,
    }),
  }),
  /** Text of the answer; `logprobs` of its tokens when the job asked for them. */
  z.object({ type: z.literal("delta"), data: z.object({ text: z.string(), logprobs: z.array(OutputLogprob).optional(), ...EventTag }) }),
  /**
   * A piece of tool call `index` (0-based, in answer order), as OpenAI streams `delta.tool_calls`:
   * the first piece of an index carries `id` and `name`, and the `arguments` pieces of an index
   * joined are its arguments' JSON text. A `restart` drops these like deltas.
   */
  z.object({
    type: z.literal("tool_call"),
    data: z.object({ index: z.number().int().nonnegative(), id: z.string().optional(), name: z.string().optional(), arguments: z.string(), ...EventTag }),
  }),
  z.object({ type: z.literal("citations"), data: z.object({ citations: z.array(Citation), no_sources: z.boolean().optional(), ...EventTag }) }),
  /** Drop the deltas before it; in a comparison's stream, only those of its `model`. */
  z.object({ type: z.literal("restart"), data: z.object({ reason: z.string(), ...EventTag }) }),
  z.object({
    type: z.literal("usage"),
    data: z.object({ input_tokens: z.number(), output_tokens: z.number(), cost_usd: z.number(), provenance: z.string(), ...EventTag }),
  }),
  z.object({ type: z.literal("done"), data: z.object({ job: JobView }) }),
  z.object({ type: z.literal("error"), data: z.object({ code: z.string(), message: z.string(), reason: TerminalReason }) }),
]);
export type JobEvent = z.infer<typeof JobEvent>;
export type JobEventType = JobEvent["type"];
export const TERMINAL_EVENT_TYPES: readonly JobEventType[] = ["done", "error"];
