/**
 * Why no route could be chosen. The gateway maps these to HTTP answers:
 * - `model_not_found`: the requested id is not in the catalog (404).
 * - `model_not_allowed`: the deployment does not allow the requested model (403).
 * - `vision_disabled`: the request carries images and the deployment has vision turned off (403).
 * - `no_vision_model`: the request carries images and no allowed model (or the requested one) can read them (400).
 * - `unsupported_request`: the requested model cannot honour a field of the request (tools,
 *   response_format, one its provider refuses) (400).
 * - `no_capable_model`: no model the deployment may use can honour the request's fields (400).
 * - `no_model_available`: models would fit, but every one is excluded right now (open breakers,
 *   provider outage); retryable once breakers recover (503).
 */
export type RoutingErrorCode =
  "model_not_found" | "model_not_allowed" | "vision_disabled" | "no_vision_model" | "unsupported_request" | "no_capable_model" | "no_model_available";

/** Thrown by `decideRoute`. Detect with `isRoutingError` (by name and code), since a workspace can hold two copies of this class. */
export class RoutingError extends Error {
  override readonly name = "RoutingError";
  /** Only `no_model_available` can succeed later without the request changing. */
  readonly retryable: boolean;
  constructor(
    readonly code: RoutingErrorCode,
    message: string,
    /** Models considered and why each was passed over, for logs and the stored decision. */
    readonly skipped: ReadonlyArray<{ id: string; why: string }> = [],
  ) {
    super(message);
    this.retryable = code === "no_model_available";
  }
}

/** True for a `RoutingError`, from this copy of the package or another. */
export function isRoutingError(err: unknown): err is RoutingError {
  return typeof err === "object" && err !== null && (err as { name?: unknown }).name === "RoutingError" && typeof (err as { code?: unknown }).code === "string";
}
