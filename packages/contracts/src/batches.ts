import { z } from "zod";
import { FileExpiresAfter } from "./files";
import { ResponsesMetadata } from "./responses";

/*
 * OpenAI's Batch API (`/v1/batches`) as its reference and the official SDK's types
 * (`openai/resources/batches`) describe it: the batch object, its create body, its list, and the
 * lines of its input, output and error files.
 */

/** Endpoints a batch may name: chat completions and Responses lines run as jobs; embeddings lines through the embeddings service. */
export const BATCH_ENDPOINTS = ["/v1/chat/completions", "/v1/responses", "/v1/embeddings"] as const;
export const BatchEndpoint = z.enum(BATCH_ENDPOINTS);
export type BatchEndpoint = z.infer<typeof BatchEndpoint>;

export const BatchStatus = z.enum(["validating", "failed", "in_progress", "finalizing", "completed", "expired", "cancelling", "cancelled"]);
export type BatchStatus = z.infer<typeof BatchStatus>;

export const BATCH_ID = /^batch_[0-9a-z]{10,64}$/;

export const CreateBatchRequest = z.strictObject({
  input_file_id: z.string().min(1).max(128),
  endpoint: BatchEndpoint,
  completion_window: z.literal("24h"),
  metadata: ResponsesMetadata.nullable().optional(),
  /** When the batch's output and error files expire: `seconds` (3600..2592000) after each file's creation. Default: never. */
  output_expires_after: FileExpiresAfter.optional(),
});
export type CreateBatchRequest = z.infer<typeof CreateBatchRequest>;

/** One problem with a batch as a whole (or, in `errors.data`, with one of its lines). */
export const BatchError = z.object({ code: z.string(), message: z.string(), param: z.string().nullable(), line: z.number().int().nullable() });
export type BatchError = z.infer<typeof BatchError>;

/**
 * Why a running batch admits no lines for now (a Switchyard field; OpenAI's object has none):
 * `budget_exhausted` — the deployment's (or tenant's) budget cannot hold the next line's
 * reservation; `credits_exhausted` — the prepaid tenant's credits cannot. The batch stays
 * `in_progress`, no line fails for it, and it resumes by itself once a line fits again (period
 * rollover, a top-up, a raised budget, or its own lines settling below their reservations).
 */
export const BatchPausedReason = z.enum(["budget_exhausted", "credits_exhausted"]);
export type BatchPausedReason = z.infer<typeof BatchPausedReason>;

export const BatchRequestCounts = z.object({ total: z.number().int(), completed: z.number().int(), failed: z.number().int() });

/**
 * OpenAI's batch usage: the tokens of the batch's lines so far, as the ledger holds them (the
 * aggregator writes each line's row shortly after it ends). Reasoning tokens are not told apart: 0.
 */
export const BatchUsage = z.object({
  input_tokens: z.number().int(),
  input_tokens_details: z.object({ cached_tokens: z.number().int() }),
  output_tokens: z.number().int(),
  output_tokens_details: z.object({ reasoning_tokens: z.number().int() }),
  total_tokens: z.number().int(),
});
export type BatchUsage = z.infer<typeof BatchUsage>;

/** OpenAI's batch object; times in Unix seconds, null until reached. */
export const BatchObject = z.object({
  id: z.string(),
  object: z.literal("batch"),
  endpoint: z.string(),
  /** The model of the batch's lines (OpenAI sets it from the input file: the first valid line's `body.model`); null until validated. */
  model: z.string().nullable(),
  errors: z.object({ object: z.literal("list"), data: z.array(BatchError) }).nullable(),
  input_file_id: z.string(),
  completion_window: z.string(),
  status: BatchStatus,
  output_file_id: z.string().nullable(),
  error_file_id: z.string().nullable(),
  created_at: z.number().int(),
  in_progress_at: z.number().int().nullable(),
  expires_at: z.number().int().nullable(),
  finalizing_at: z.number().int().nullable(),
  completed_at: z.number().int().nullable(),
  failed_at: z.number().int().nullable(),
  expired_at: z.number().int().nullable(),
  cancelling_at: z.number().int().nullable(),
  cancelled_at: z.number().int().nullable(),
  request_counts: BatchRequestCounts,
  metadata: z.record(z.string(), z.string()).nullable(),
  /** Tokens of the lines so far ({@link BatchUsage}); optional, as in OpenAI's object. */
  usage: BatchUsage.optional(),
  /** Switchyard: why this `in_progress` batch is paused ({@link BatchPausedReason}); null while it runs (and in every other status). */
  paused_reason: BatchPausedReason.nullable().describe(
    "Switchyard extension: why this in_progress batch admits no lines for now (budget_exhausted | credits_exhausted); null while it runs. Lines are never failed for budget: the batch resumes when budget frees up.",
  ),
  /** Switchyard: when the pause began (Unix seconds); null when not paused. */
  paused_at: z.number().int().nullable(),
});
export type BatchObject = z.infer<typeof BatchObject>;

export const BatchList = z.object({
  object: z.literal("list"),
  data: z.array(BatchObject),
  first_id: z.string().nullable(),
  last_id: z.string().nullable(),
  has_more: z.boolean(),
});
export type BatchList = z.infer<typeof BatchList>;

export const ListBatchesQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20).describe("page size, 1..100"),
  after: z.string().regex(BATCH_ID, "must be a batch id (batch_…)").optional().describe("the last_id of the previous page"),
});
export type ListBatchesQuery = z.infer<typeof ListBatchesQuery>;

/** Longest `custom_id` a line may carry (it becomes part of the line's idempotency key). */
export const MAX_CUSTOM_ID = 200;

/** One line of a batch's input file. */
export const BatchInputLine = z.strictObject({
  custom_id: z.string().min(1).max(MAX_CUSTOM_ID),
  method: z.literal("POST"),
  url: z.string(),
  body: z.record(z.string(), z.unknown()),
});
export type BatchInputLine = z.infer<typeof BatchInputLine>;

/** One line of a batch's output or error file, in OpenAI's format. */
export const BatchOutputLine = z.object({
  id: z.string(),
  custom_id: z.string().nullable(),
  response: z.object({ status_code: z.number().int(), request_id: z.string(), body: z.record(z.string(), z.unknown()) }).nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
});
export type BatchOutputLine = z.infer<typeof BatchOutputLine>;
