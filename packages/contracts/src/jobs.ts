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
/** Fewest and most models one multi-model comparison (`compare`) runs. */
export const MIN_COMPARE_MODELS = 2;
export const MAX_COMPARE_MODELS = 4;

/**
 * Body of `POST /v1/jobs`. Strict: unknown fields are rejected. Besides the chat fields, the
 * agent fields of OpenAI's chat request under their OpenAI names (`tools`, `tool_choice`,
 * `parallel_tool_calls`, `response_format`, `stop`, `seed`, penalties, `logprobs`); which model
 * can honour them is the gateway's and the router's business (catalog capabilities, adapters).
 */
export const CreateJobRequest = z
  .strictObject({
    model: z.string().min(1).max(128).default("auto"),
    /** Chat turns, or agent turns: assistant `tool_calls`, `tool` results, `developer` messages. */
    messages: z.array(AgentChatMessage).min(1, "messages must contain at least one message").max(1000),
    max_tokens: z.number().int().min(1).max(MAX_OUTPUT_TOKENS_LIMIT).optional(),
    temperature: z.number().min(0).max(2).optional(),
    rag: z.strictObject({ collection: z.string().min(1).max(128), top_k: z.number().int().min(1).max(50).default(5) }).optional(),
    metadata: z
      .record(z.string().max(64), z.union([z.string().max(512), z.number(), z.boolean(), z.null()]))
      .refine((m) => Object.keys(m).length <= 32, "metadata holds at most 32 keys")
      .optional(),
    user: z.string().min(1).max(256).optional(),
    priority: z.enum(["high", "normal", "low"]).default("normal"),
    client_request_id: z.string().min(1).max(255).optional(),
    /**
     * The longest the job may wait to start (ms from its creation; at most 24 h): a job no worker
     * has begun running by then ends `failed` with `queue_timeout`, its budget reservation released.
     */
    max_queue_ms: z.number().int().min(1).max(86_400_000).optional(),
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
    /**
     * Multi-model comparison: 2-4 distinct catalog model ids (not `auto`), each run as a child job
     * of this one with its own usage and budget reservation; `model` must then be absent or `auto`.
     * Needs the deployment's `multiModelComparison` feature.
     */
    compare: z
      .array(z.string().min(1).max(128))
      .min(MIN_COMPARE_MODELS, `compare needs at least ${MIN_COMPARE_MODELS} models`)
      .max(MAX_COMPARE_MODELS, `compare takes at most ${MAX_COMPARE_MODELS} models`)
      .optional(),
  })
  .superRefine((req, ctx) => {
    // A tool result must answer a call an earlier assistant turn made (every provider refuses orphans).
    const calls = new Set<string>();
    for (const [i, m] of req.messages.entries()) {
      if (m.role === "assistant") for (const c of m.tool_calls ?? []) calls.add(c.id);
      if (m.role === "tool" && !calls.has(m.tool_call_id)) {
        ctx.addIssue({
          code: "custom",
          path: ["messages", i, "tool_call_id"],
          message: `${m.tool_call_id} answers no tool call of an earlier assistant message`,
        });
      }
    }
    const names = new Set<string>();
    for (const [i, t] of (req.tools ?? []).entries()) {
      if (names.has(t.function.name))
        ctx.addIssue({ code: "custom", path: ["tools", i, "function", "name"], message: `duplicate tool name ${t.function.name}` });
      names.add(t.function.name);
    }
    if (req.tools === undefined) {
      if (req.tool_choice !== undefined) ctx.addIssue({ code: "custom", path: ["tool_choice"], message: "tool_choice is only allowed when tools are set" });
      if (req.parallel_tool_calls !== undefined)
        ctx.addIssue({ code: "custom", path: ["parallel_tool_calls"], message: "parallel_tool_calls is only allowed when tools are set" });
    } else if (typeof req.tool_choice === "object" && !names.has(req.tool_choice.function.name)) {
      ctx.addIssue({ code: "custom", path: ["tool_choice", "function", "name"], message: `${req.tool_choice.function.name} is not one of the declared tools` });
    }
    if (req.top_logprobs !== undefined && req.logprobs !== true)
      ctx.addIssue({ code: "custom", path: ["top_logprobs"], message: "top_logprobs needs logprobs: true" });
    if (req.compare !== undefined) {
      if (req.model !== "auto") ctx.addIssue({ code: "custom", path: ["model"], message: "model must be absent (or auto) when compare names the models" });
      const seen = new Set<string>();
      for (const [i, m] of req.compare.entries()) {
        if (m === "auto") ctx.addIssue({ code: "custom", path: ["compare", i], message: "compare names catalog models; auto is not one" });
        else if (seen.has(m)) ctx.addIssue({ code: "custom", path: ["compare", i], message: `${m} is named twice` });
        seen.add(m);
      }
    }
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

/**
 * The marker of a job admitted for a batch line (`RouteJobPayload.batch`): the worker prices its
 * usage at the catalog's batch price and the ledger row carries `batch_id`. Set by the batch
 * runner only; no HTTP body can carry it.
 */
export const JobBatchMarker = z.object({ batch_id: z.string().min(1) });
export type JobBatchMarker = z.infer<typeof JobBatchMarker>;

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
  decision: z
    .object({
      requested_model: z.string(),
      chosen_model: z.string(),
      candidates: z.array(z.string()),
      reasons: z.array(z.string()),
      tier: z.string().optional(),
      domain: z.string().optional(),
      complexity: z.string().optional(),
    })
    .nullable(),
  fallbacks: z.array(z.object({ from: z.string(), to: z.string(), kind: z.string(), reason: z.string() })),
});
export type RoutingDecision = z.infer<typeof RoutingDecision>;

export const JobError = z.object({ code: z.string(), message: z.string(), reason: z.string().optional() });
export type JobError = z.infer<typeof JobError>;

/**
 * The answer. `finish_reason` is `stop`, `length`, `content_filter` or `tool_calls` (the answer
 * is `tool_calls`, with or without text); `tool_calls` is absent when the model called none.
 */
export const JobOutputView = z.object({
  text: z.string(),
  citations: z.array(Citation),
  finish_reason: z.string().nullable(),
  no_sources: z.boolean().optional(),
  tool_calls: z.array(ToolCall).optional(),
  /** Per-token log probabilities, when the job asked for `logprobs`. */
  logprobs: z.array(OutputLogprob).optional(),
});
export type JobOutputView = z.infer<typeof JobOutputView>;

/**
 * One model of a multi-model comparison: its child job (readable as a job itself), how it ended,
 * its answer and what it cost. `latency_ms` runs from the child's start to its end (null until
 * it has both).
 */
export const ComparisonEntry = z.object({
  model: z.string(),
  job_id: z.string(),
  status: JobStatus,
  output: JobOutputView.nullable(),
  usage: JobUsage.nullable(),
  latency_ms: z.number().int().nonnegative().nullable(),
  cost_usd: z.number().nonnegative().nullable(),
  error: JobError.nullable(),
});
export type ComparisonEntry = z.infer<typeof ComparisonEntry>;

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
  output: JobOutputView.nullable(),
  usage: JobUsage.nullable(),
  routing: RoutingDecision,
  error: JobError.nullable(),
  metadata: z.record(z.string(), z.unknown()).nullable(),
  /** Deliveries so far: `runs` reached a provider call (the attempt number), `waits` found no model to call and waited. */
  attempts: z.object({ runs: z.number().int().nonnegative(), waits: z.number().int().nonnegative() }).optional(),
  /** A multi-model comparison (`compare`): one entry per model, in the order the request named them. */
  comparison: z.array(ComparisonEntry).optional(),
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

/** A job's first view, as admission creates it (`queued`, nothing run yet). */
export function queuedJobView(id: string, model: string, createdAt: Date, metadata: JobView["metadata"] | undefined): JobView {
  return {
    id,
    object: "job",
    status: "queued",
    model,
    served_model: null,
    created_at: createdAt.toISOString(),
    started_at: null,
    completed_at: null,
    output: null,
    usage: null,
    routing: { decision: null, fallbacks: [] },
    error: null,
    metadata: metadata ?? null,
  };
}

/** The `model` of a multi-model comparison's parent job (its children carry the real ones). */
export const COMPARE_MODEL = "compare";

/** Id of the `i`th child of comparison `parentId`: derived, so a parent stored nowhere can still be rebuilt from its children. */
export function compareChildId(parentId: string, i: number): string {
  return `${parentId}c${i}`;
}

/** One model's entry in a comparison, from its child job's view (null: the child is gone). */
export function comparisonEntry(model: string, jobId: string, child: JobView | null): ComparisonEntry {
  if (!child)
    return {
      model,
      job_id: jobId,
      status: "failed",
      output: null,
      usage: null,
      latency_ms: null,
      cost_usd: null,
      error: { code: "job_not_found", message: `child job ${jobId} is gone` },
    };
  const started = child.started_at ? Date.parse(child.started_at) : NaN;
  const ended = child.completed_at ? Date.parse(child.completed_at) : NaN;
  return {
    model,
    job_id: jobId,
    status: child.status,
    output: child.output,
    usage: child.usage,
    latency_ms: Number.isFinite(started) && Number.isFinite(ended) ? Math.max(0, ended - started) : null,
    cost_usd: child.usage?.cost_usd ?? null,
    error: child.error,
  };
}

/** A comparison's child as its parent sees it: the model it runs, its id and its view (null: gone). */
export interface ComparisonChild {
  model: string;
  job_id: string;
  view: JobView | null;
}

/**
 * The parent's view with its children's state as it stands: a live comparison is `running` once
 * any child has left `queued` (its own hash keeps `queued` until it ends), and started when its
 * first child did.
 */
export function withComparison(parent: JobView, children: ComparisonChild[]): JobView {
  const starts = children
    .map((c) => c.view?.started_at)
    .filter((t): t is string => !!t)
    .sort();
  const comparison = children.map((c) => comparisonEntry(c.model, c.job_id, c.view));
  const status = isTerminalStatus(parent.status) || comparison.every((c) => c.status === "queued") ? parent.status : "running";
  return { ...parent, status, started_at: parent.started_at ?? starts[0] ?? null, comparison };
}

/**
 * A comparison's final view once every child has ended: its usage is the sum of the children's,
 * it succeeded when at least one model answered, was canceled when none did and one was canceled
 * (a cancel of the comparison cancels every child), and failed (`compare_failed`, naming each
 * model's error) otherwise. `status` forces the outcome (a cancel).
 */
export function endComparison(parent: JobView, children: ComparisonChild[], completedAt: Date, status?: JobStatus): JobView {
  const view = withComparison(parent, children);
  const entries = view.comparison!;
  const used = entries.filter((e) => e.usage);
  const provenances = new Set(used.map((e) => e.usage!.provenance));
  const usage: JobUsage | null =
    used.length === 0
      ? null
      : {
          input_tokens: used.reduce((n, e) => n + e.usage!.input_tokens, 0),
          output_tokens: used.reduce((n, e) => n + e.usage!.output_tokens, 0),
          cost_usd: Math.round(used.reduce((n, e) => n + e.usage!.cost_usd, 0) * 1e9) / 1e9,
          provenance: provenances.size === 1 ? [...provenances][0]! : "partial",
        };
  const final = status ?? (entries.some((e) => e.status === "succeeded") ? "succeeded" : entries.some((e) => e.status === "canceled") ? "canceled" : "failed");
  const error: JobError | null =
    final === "succeeded"
      ? null
      : final === "canceled"
        ? { code: "canceled", message: "canceled by the client", reason: "canceled" }
        : {
            code: "compare_failed",
            message: `no model answered: ${entries.map((e) => `${e.model}: ${e.error?.message ?? e.status}`).join("; ")}`.slice(0, 1000),
            reason: "provider_error",
          };
  return { ...view, status: final, completed_at: completedAt.toISOString(), usage, error };
}
