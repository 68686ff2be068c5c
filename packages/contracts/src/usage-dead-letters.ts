import { z } from "zod";
import { pageOf } from "./http/common";

/** Why a usage event was set aside: Postgres (or a ledger check) refused it, or it did not parse as a usage event. */
export const UsageDeadLetterReason = z.enum(["data_error", "invalid_payload"]);
export type UsageDeadLetterReason = z.infer<typeof UsageDeadLetterReason>;

/** A usage event the ledger could not store, as `GET /admin/v1/usage-dead-letters` lists it. */
export const UsageDeadLetterView = z.object({
  object: z.literal("usage_dead_letter"),
  /** A bigserial as a string; also the page cursor. */
  id: z.string(),
  tenant_id: z.string().nullable(),
  job_id: z.string(),
  attempt: z.number().int(),
  /** The BullMQ job that carried it. */
  queue_job_id: z.string().nullable(),
  reason: UsageDeadLetterReason,
  error: z.string(),
  /** Postgres SQLSTATE (e.g. `22P05` for a `\u0000` in jsonb), null when Postgres did not see it. */
  sqlstate: z.string().nullable(),
  /** Times the event was set aside; a replayed event that fails again is reopened and counted. */
  failures: z.number().int(),
  created_at: z.string(),
  replayed_at: z.string().nullable(),
  /** The queue payload exactly as received (NULs included). */
  event: z.unknown(),
});
export type UsageDeadLetterView = z.infer<typeof UsageDeadLetterView>;

export const UsageDeadLetterList = pageOf(UsageDeadLetterView);
export type UsageDeadLetterList = z.infer<typeof UsageDeadLetterList>;

/** `POST /admin/v1/usage-dead-letters/{id}/replay`; `sanitize`: remove U+0000 from every string of the event first (default false). */
export const ReplayUsageDeadLetterRequest = z.strictObject({ sanitize: z.boolean().default(false) });
export type ReplayUsageDeadLetterRequest = z.infer<typeof ReplayUsageDeadLetterRequest>;

export const UsageDeadLetterReplay = z.object({
  object: z.literal("usage_dead_letter_replay"),
  dead_letter: UsageDeadLetterView,
  /** The `ai-usage` job the event was enqueued as. */
  queue_job_id: z.string(),
  sanitized: z.boolean(),
});
export type UsageDeadLetterReplay = z.infer<typeof UsageDeadLetterReplay>;

/**
 * `value` with U+0000 removed from every string in it (object keys included). Postgres text and
 * jsonb cannot hold U+0000, and in a usage event it can only sit in opaque text (metadata, output,
 * error messages), never in a count or a price.
 */
export function stripNul(value: unknown): unknown {
  if (typeof value === "string") return value.replaceAll("\u0000", "");
  if (Array.isArray(value)) return value.map(stripNul);
  if (typeof value === "object" && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.replaceAll("\u0000", ""), stripNul(v)]));
  return value;
}
