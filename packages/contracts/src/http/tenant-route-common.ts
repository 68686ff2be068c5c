/** What the tenant API's route lists share: the Idempotency-Key header, the refusals of new work and the usage tag. */

/** The Idempotency-Key header of a route that creates a job. */
export const IDEMPOTENCY = {
  "Idempotency-Key": "at most 255 characters; the same key and body within 24 h give the same job (200, Idempotent-Replayed: true)",
};
/** What refusing new work answers with (rate limits, maintenance). */
export const SUBMIT_ERRORS = [402, 403, 422, 429, 503];

/** The tag of the usage and reports routes (`/v1/analytics` is among them). */
export const USAGE = "Usage and reports";
