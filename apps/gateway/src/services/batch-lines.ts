import {
  ApiError,
  BatchInputLine,
  isApiError,
  isTerminalStatus,
  OpenAIChatRequest,
  OpenAIEmbeddingRequest,
  ResponsesCreateRequest,
  responseIdOf,
  unsupportedParameter,
  type BatchOutputLine,
  type CreateJobRequest,
  type JobView,
  type StoredResponse,
} from "@switchyard/contracts";
import { findResponse, insertResponse, type BatchRow } from "@switchyard/db";
import type { GatewayResources } from "../resources";
import type { BatchLinePrincipal } from "./job-payloads";
import { getJob, submitJob } from "./job-service";
import { createEmbeddings } from "./embeddings";
import { chatCompletion, jobFailure, toJobRequest as toChatJob } from "./openai-format";
import { mapResponsesRequest } from "./responses-request";
import { currentResponse } from "./responses-service";
import { parseBody, zodToApiError } from "./validation";

/** Endpoints whose lines run as jobs. */
type JobEndpoint = "/v1/chat/completions" | "/v1/responses";
/** Every endpoint a batch's lines may call: the job endpoints, and embeddings (run through the embeddings service, no job). */
export type LineEndpoint = JobEndpoint | "/v1/embeddings";

/** A checked line: what to admit, or the error line it becomes. */
export type CheckedLine =
  { line: number; custom_id: string; request: Record<string, unknown> } | { line: number; custom_id: string | null; error: { code: string; message: string } };

/** A line's id in the output and error files: stable, so a rewritten file is the same file. */
export const lineId = (batchId: string, line: number) => `batch_req_${batchId.slice(batchId.indexOf("_") + 1)}_${line}`;

/** The principal a batch's lines are admitted as: the key that created it, on its deployment, marked with the batch (its jobs are priced as batch usage). */
export const batchPrincipal = (b: BatchRow): BatchLinePrincipal => ({
  keyId: b.api_key_id,
  tenantId: b.tenant_id,
  deploymentId: b.deployment_id,
  scopes: new Set(["jobs:write", "jobs:read"]),
  publishable: false,
  batchId: b.id,
});

/**
 * The idempotency key of a line: one job per (batch, custom_id, admissions), whoever admits it and
 * however often; `admissions` counts the line's returns to pending after a budget refusal of its job
 * (0: the key has no suffix).
 */
export const lineIdempotencyKey = (batchId: string, customId: string, admissions = 0) => `batch:${batchId}:${customId}${admissions ? `#${admissions}` : ""}`;

/** An error line (`response: null`), for a line that never ran. */
export const errorLine = (batchId: string, line: number, customId: string | null, code: string, message: string): BatchOutputLine => ({
  id: lineId(batchId, line),
  custom_id: customId,
  response: null,
  error: { code, message },
});

/**
 * Check every line before any runs: the line's own shape (`custom_id`, `method: "POST"`, `url`,
 * `body`), `url` equal to the batch's endpoint, `custom_id` unique in the file, and the body a
 * valid request of that endpoint (the same schema and refusals as the endpoint itself; no
 * streaming). A bad line becomes an error line; the rest run.
 */
export function checkLines(endpoint: LineEndpoint, values: Array<{ line: number; value: Record<string, unknown> }>): CheckedLine[] {
  const seen = new Set<string>();
  return values.map(({ line, value }) => {
    const customId = typeof value.custom_id === "string" ? value.custom_id : null;
    const parsed = BatchInputLine.safeParse(value);
    if (!parsed.success) {
      const e = zodToApiError(parsed.error);
      return { line, custom_id: customId, error: { code: e.code, message: `line ${line}: ${e.message}` } };
    }
    const l = parsed.data;
    if (seen.has(l.custom_id))
      return {
        line,
        custom_id: l.custom_id,
        error: {
          code: "duplicate_custom_id",
          message: `line ${line}: custom_id '${l.custom_id}' is used by an earlier line; custom_id must be unique in the file`,
        },
      };
    seen.add(l.custom_id);
    if (l.url !== endpoint)
      return {
        line,
        custom_id: l.custom_id,
        error: { code: "invalid_url", message: `line ${line}: url: must be ${endpoint}, the batch's endpoint (got ${l.url.slice(0, 100)})` },
      };
    try {
      if (endpoint === "/v1/embeddings") parseBody(OpenAIEmbeddingRequest, l.body);
      else toJobRequest(endpoint, l.body);
    } catch (err) {
      if (!isApiError(err)) throw err;
      return { line, custom_id: l.custom_id, error: { code: err.code, message: `line ${line}: body.${err.message}` } };
    }
    return { line, custom_id: l.custom_id, request: l.body };
  });
}

/** A line's body as the job it runs as, at batch priority (`low`, the lowest). */
function toJobRequest(endpoint: JobEndpoint, body: Record<string, unknown>): { job: CreateJobRequest; responses?: ReturnType<typeof mapResponsesRequest> } {
  if (endpoint === "/v1/chat/completions") {
    const req = parseBody(OpenAIChatRequest, body);
    if (req.stream) throw new ApiError("unsupported_parameter", "stream: a batch line cannot stream", "stream");
    const unsupported = unsupportedParameter(req);
    if (unsupported) throw new ApiError("unsupported_parameter", `${unsupported.param}: ${unsupported.message}`, unsupported.param);
    return { job: { ...toChatJob(req), priority: "low" } };
  }
  const req = parseBody(ResponsesCreateRequest, body);
  if (req.stream) throw new ApiError("unsupported_parameter", "stream: a batch line cannot stream", "stream");
  if (req.background) throw new ApiError("unsupported_parameter", "background: a batch line runs in the background already", "background");
  if (req.previous_response_id) throw new ApiError("unsupported_parameter", "previous_response_id: not supported in a batch line", "previous_response_id");
  const responses = mapResponsesRequest(req);
  return { job: { ...responses.toJob([]), priority: "low" }, responses };
}

/** Admission's answers that mean "not now" (a later round tries the line again), not "never". */
export const isTransient = (err: unknown) => isApiError(err) && (err.status === 429 || err.status === 503);

/**
 * Admit one line as a job through the same path as its endpoint (`submitJob`: idempotency, rate
 * limits, budget reservation), under the line's idempotency key: a second admission of the same
 * line (a runner that died before recording the job, or a second runner) is a replay of the first.
 * A `/v1/responses` line also stores its response record, as `POST /v1/responses` does.
 */
export async function admitLine(r: GatewayResources, b: BatchRow, customId: string, body: Record<string, unknown>, admissions = 0): Promise<string> {
  const p = batchPrincipal(b);
  const endpoint = b.endpoint as JobEndpoint;
  const { job, responses } = toJobRequest(endpoint, body);
  const submitted = await submitJob(r, p, job, lineIdempotencyKey(b.id, customId, admissions));
  if (responses) {
    const rec: StoredResponse = {
      id: responseIdOf(submitted.job.id),
      job_id: submitted.job.id,
      tenant_id: p.tenantId,
      api_key_id: p.keyId,
      background: true,
      store: true,
      previous_response_id: null,
      params: responses.params,
      input_items: responses.ownItems,
      final: null,
      created_at: submitted.job.created_at,
    };
    await insertResponse(r.db, rec);
  }
  return submitted.job.id;
}

/**
 * Run one `/v1/embeddings` line through the embeddings service (the same validation, admission —
 * rate limits, budget reservation — provider call and ledger row as `POST /v1/embeddings`, as the
 * batch's principal, so it is priced at the batch price and its usage row carries the batch) and
 * answer its output line. Inline, like the endpoint: no job. Refusals and provider failures throw
 * the endpoint's ApiError, for the runner to pause, retry or fail the line.
 */
export async function embedLine(
  r: GatewayResources,
  b: BatchRow,
  line: { line: number; custom_id: string | null; request: Record<string, unknown> | null },
  signal: AbortSignal,
): Promise<BatchOutputLine> {
  const req = parseBody(OpenAIEmbeddingRequest, line.request ?? {});
  const answer = await createEmbeddings(r, batchPrincipal(b), req, signal);
  return {
    id: lineId(b.id, line.line),
    custom_id: line.custom_id,
    response: { status_code: 200, request_id: answer.id, body: { ...answer.body } },
    error: null,
  };
}

/** An admission refusal as the line's error-file entry (the HTTP answer the request would have had). */
export function refusedLine(batchId: string, line: number, customId: string, err: ApiError): BatchOutputLine {
  return {
    id: lineId(batchId, line),
    custom_id: customId,
    response: {
      status_code: err.status,
      request_id: `req_${batchId.slice(batchId.indexOf("_") + 1)}_${line}`,
      body: { error: { type: err.type, code: err.code, message: err.message, param: err.param ?? null } },
    },
    error: null,
  };
}

/**
 * A submitted line's outcome once its job ended: the endpoint's answer (`chat.completion`, or the
 * Response object) with status 200, or the job's failure as the error the endpoint would have
 * answered; a canceled job is `batch_cancelled`. Null while the job runs.
 */
export async function lineOutcome(
  r: GatewayResources,
  b: BatchRow,
  line: { line: number; custom_id: string | null; job_id: string | null },
): Promise<{ state: "done" | "failed" | "canceled"; result: BatchOutputLine; code?: string } | null> {
  const p = batchPrincipal(b);
  const id = lineId(b.id, line.line);
  let view: JobView;
  try {
    view = await getJob(r, p, line.job_id!);
  } catch (err) {
    if (isApiError(err) && err.status === 404)
      return { state: "failed", result: errorLine(b.id, line.line, line.custom_id, "job_lost", `the line's job ${line.job_id} can no longer be found`) };
    throw err;
  }
  if (!isTerminalStatus(view.status)) return null;
  if (view.status === "canceled")
    return {
      state: "canceled",
      result: errorLine(b.id, line.line, line.custom_id, "batch_cancelled", "This request was not completed: the batch was cancelled."),
    };
  if (view.status === "failed") {
    const err = jobFailure(view.error?.code ?? "internal_error", view.error?.message ?? "the job failed", view.status);
    return {
      state: "failed",
      code: view.error?.code,
      result: {
        id,
        custom_id: line.custom_id,
        response: {
          status_code: err.status,
          request_id: view.id,
          body: { error: { type: err.type, code: view.error?.code ?? err.code, message: err.message, param: null } },
        },
        error: null,
      },
    };
  }
  let body: Record<string, unknown>;
  if (b.endpoint === "/v1/responses") {
    const rec = await findResponse(r.db, p.tenantId, responseIdOf(view.id));
    if (!rec)
      return {
        state: "failed",
        result: errorLine(b.id, line.line, line.custom_id, "response_lost", `the line's response record ${responseIdOf(view.id)} is missing`),
      };
    body = { ...(await currentResponse(r, p, rec)) };
  } else {
    body = { ...chatCompletion(view) };
  }
  return { state: "done", result: { id, custom_id: line.custom_id, response: { status_code: 200, request_id: view.id, body }, error: null } };
}
