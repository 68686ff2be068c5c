import { z } from "zod";

/** OpenAI-shaped error types (so SDKs parse them) and the HTTP status each maps to. */
export const ErrorType = z.enum([
  "invalid_request_error",
  "authentication_error",
  "permission_error",
  "not_found_error",
  "conflict_error",
  "budget_error",
  "rate_limit_error",
  "api_error",
]);
export type ErrorType = z.infer<typeof ErrorType>;

/** Every error code the API emits: its type and HTTP status. The one table the error middleware uses. */
export const errorCatalog = {
  invalid_json: { type: "invalid_request_error", status: 400 },
  invalid_request: { type: "invalid_request_error", status: 400 },
  unknown_field: { type: "invalid_request_error", status: 400 },
  idempotency_key_too_long: { type: "invalid_request_error", status: 400 },
  payload_too_large: { type: "invalid_request_error", status: 413 },
  unsupported_media_type: { type: "invalid_request_error", status: 415 },
  idempotency_key_reused: { type: "invalid_request_error", status: 422 },
  /**
   * A request over its deployment's `tokens_per_request` (input plus max_tokens): like OpenAI's
   * `context_length_exceeded`, a 400 and not a 429, since waiting cannot make it fit.
   */
  request_too_large: { type: "invalid_request_error", status: 400 },
  missing_api_key: { type: "authentication_error", status: 401 },
  invalid_api_key: { type: "authentication_error", status: 401 },
  insufficient_scope: { type: "permission_error", status: 403 },
  model_not_allowed: { type: "permission_error", status: 403 },
  feature_disabled: { type: "permission_error", status: 403 },
  /** A publishable key used without an `Origin` its deployment allows. */
  origin_not_allowed: { type: "permission_error", status: 403 },
  not_found: { type: "not_found_error", status: 404 },
  job_not_found: { type: "not_found_error", status: 404 },
  tenant_not_found: { type: "not_found_error", status: 404 },
  model_not_found: { type: "not_found_error", status: 404 },
  deployment_not_found: { type: "not_found_error", status: 404 },
  api_key_not_found: { type: "not_found_error", status: 404 },
  job_already_terminal: { type: "conflict_error", status: 409 },
  rate_limited: { type: "rate_limit_error", status: 429 },
  budget_exhausted: { type: "budget_error", status: 402 },
  insufficient_credits: { type: "budget_error", status: 402 },
  unsupported_parameter: { type: "invalid_request_error", status: 400 },
  job_canceled: { type: "conflict_error", status: 409 },
  /** Something only a finished job can take (feedback) asked of a job still queued or running. */
  job_not_finished: { type: "conflict_error", status: 409 },
  /** Rotating a key that is revoked, expired or already replaced. */
  api_key_inactive: { type: "conflict_error", status: 409 },
  /** A usage dead letter id that does not exist. */
  dead_letter_not_found: { type: "not_found_error", status: 404 },
  /** Replaying a usage dead letter that was already replayed. */
  dead_letter_replayed: { type: "conflict_error", status: 409 },
  /** A usage dead letter whose stored event (after `sanitize`, if asked) is still not a usage event. */
  dead_letter_unreplayable: { type: "invalid_request_error", status: 422 },
  upstream_error: { type: "api_error", status: 502 },
  internal_error: { type: "api_error", status: 500 },
  service_unavailable: { type: "api_error", status: 503 },
  /** The request's deadline (`X-Request-Timeout`, the SDK's timeout) passed before its job ended. */
  request_timeout: { type: "api_error", status: 504 },
} as const satisfies Record<string, { type: ErrorType; status: number }>;
export type ErrorCode = keyof typeof errorCatalog;

export const ApiErrorBody = z.object({
  error: z.object({
    type: ErrorType,
    code: z.string(),
    message: z.string(),
    param: z.string().optional(),
    request_id: z.string(),
    /** The job a waited-for request left behind when its deadline passed (503/504). */
    job_id: z.string().optional(),
  }),
});
export type ApiErrorBody = z.infer<typeof ApiErrorBody>;

/**
 * The error every layer throws to say "answer the client with this code". Detected by `name` as
 * well as `instanceof`, since a workspace can hold two copies of this class.
 */
export class ApiError extends Error {
  override readonly name = "ApiError";
  readonly status: number;
  readonly type: ErrorType;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly param?: string,
    readonly headers?: Record<string, string>,
    /** The job a waited-for request leaves behind (a 503/504 past its deadline): `error.job_id`. */
    readonly jobId?: string,
  ) {
    super(message);
    this.status = errorCatalog[code].status;
    this.type = errorCatalog[code].type;
  }
}

export function isApiError(err: unknown): err is ApiError {
  return typeof err === "object" && err !== null && (err as { name?: unknown }).name === "ApiError" && "code" in err;
}
