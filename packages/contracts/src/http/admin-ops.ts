import { z } from "zod";
import { ModelTier } from "../model-catalog";
import { QUEUE_NAMES } from "../queue-catalog";
import { Instant, limitParam, pageOf, SerialCursor } from "./common";
import { checkDayRange, Day } from "./days";

/** An audit row; `id` (a bigserial) is also the page cursor. */
export const AuditEntry = z.object({
  id: z.string(),
  actor_key_id: z.string().nullable(),
  tenant_id: z.string().nullable(),
  action: z.string(),
  target_type: z.string(),
  target_id: z.string(),
  before: z.unknown(),
  after: z.unknown(),
  created_at: z.string(),
});
export type AuditEntry = z.infer<typeof AuditEntry>;
export const AuditPage = pageOf(AuditEntry);
export type AuditPage = z.infer<typeof AuditPage>;

const AuditText = z.string().min(1).max(256);
/**
 * `GET /admin/v1/audit`: `actor` is the acting key's id, `target` the target's id; `since` is
 * inclusive and `until` exclusive.
 */
export const AuditQuery = z
  .strictObject({
    limit: limitParam(500),
    cursor: z
      .string()
      .regex(/^[0-9]{1,18}$/, "must be the id of an audit row")
      .optional(),
    tenant_id: z.string().min(1).max(128).optional(),
    action: AuditText.optional(),
    actor: AuditText.optional(),
    since: Instant.optional(),
    until: Instant.optional(),
    target: AuditText.optional(),
    target_type: AuditText.optional(),
  })
  .refine((q) => !q.since || !q.until || q.since < q.until, { message: "must be later than since", path: ["until"] });

/** A circuit breaker's state: `half_open` lets one probe through. */
export const BreakerState = z.enum(["closed", "half_open", "open"]);
export type BreakerState = z.infer<typeof BreakerState>;

/** One catalog model's circuit breaker. */
export const BreakerView = z.object({
  model: z.string(),
  provider: z.string(),
  tier: ModelTier,
  state: BreakerState,
  opened_at: z.string().nullable(),
  open_until: z.string().nullable(),
  failures: z.number().int(),
  successes: z.number().int(),
});
export type BreakerView = z.infer<typeof BreakerView>;
export const BreakerList = z.object({ object: z.literal("list"), data: z.array(BreakerView) });
export type BreakerList = z.infer<typeof BreakerList>;
export const BreakerReset = z.object({ model: z.string(), state: BreakerState });
export type BreakerReset = z.infer<typeof BreakerReset>;
/** `POST /admin/v1/circuit-breakers/{model}/force-open`: open for `duration_ms` (up to a day). */
export const ForceOpenRequest = z.strictObject({
  duration_ms: z
    .number()
    .int()
    .min(1)
    .max(24 * 3600 * 1000),
});
export const BreakerForcedOpen = z.object({ model: z.string(), state: BreakerState, open_until: z.string() });
export type BreakerForcedOpen = z.infer<typeof BreakerForcedOpen>;

/** One credit ledger entry. Grants are positive, usage debits negative. */
export const CreditEntry = z.object({
  id: z.string(),
  tenant_id: z.string(),
  amount_usd: z.number(),
  kind: z.enum(["grant", "debit", "adjustment"]),
  reason: z.string(),
  idempotency_key: z.string(),
  job_id: z.string().nullable(),
  actor_key_id: z.string().nullable(),
  created_at: z.string(),
});
export type CreditEntry = z.infer<typeof CreditEntry>;
/** `POST /admin/v1/tenants/{id}/credits` (with an `Idempotency-Key`). */
export const GrantCreditsRequest = z.strictObject({
  amount_usd: z
    .number()
    .refine((n) => n !== 0, "amount_usd must not be 0")
    .refine((n) => Math.abs(n) <= 1e8, "amount_usd is too large"),
  reason: z.string().trim().min(1).max(500),
});
export const CreditGrant = z.object({ entry: CreditEntry.extend({ object: z.literal("credit_entry") }), balance_usd: z.number() });
export type CreditGrant = z.infer<typeof CreditGrant>;
export const CreditsQuery = z.strictObject({ limit: limitParam(200), cursor: SerialCursor.optional() });
export const CreditBalanceView = z.object({
  object: z.literal("credit_balance"),
  tenant_id: z.string(),
  balance_usd: z.number(),
  /** Held by jobs in flight. */
  reserved_usd: z.number(),
  entries: z.array(CreditEntry),
  next_cursor: z.string().nullable(),
});
export type CreditBalanceView = z.infer<typeof CreditBalanceView>;
export const CreditRecalculation = z.object({ tenant_id: z.string(), balance_usd: z.number(), entries: z.number().int() });
export type CreditRecalculation = z.infer<typeof CreditRecalculation>;

/** A queue name in the path or an answer. */
export const QueueNameSchema = z.enum(QUEUE_NAMES);
/** Jobs per BullMQ state. */
export const QueueCounts = z.object({
  waiting: z.number().int(),
  prioritized: z.number().int(),
  delayed: z.number().int(),
  waiting_children: z.number().int(),
  active: z.number().int(),
  completed: z.number().int(),
  failed: z.number().int(),
});
export type QueueCounts = z.infer<typeof QueueCounts>;
export const QueueView = z.object({ queue: QueueNameSchema, paused: z.boolean(), counts: QueueCounts });
export type QueueView = z.infer<typeof QueueView>;
export const QueueList = z.object({ object: z.literal("list"), data: z.array(QueueView) });
export type QueueList = z.infer<typeof QueueList>;
/** `older_than_ms`: age past which a job counts as stuck (default 10 min); `limit`: jobs examined per state (default 1000). */
export const CleanStuckRequest = z.strictObject({
  older_than_ms: z
    .number()
    .int()
    .min(0)
    .max(30 * 24 * 3600 * 1000)
    .optional(),
  limit: z.number().int().min(1).max(10_000).optional(),
});
export const QueueClean = z.object({
  object: z.literal("queue_clean"),
  queue: QueueNameSchema,
  older_than_ms: z.number().int(),
  examined: z.number().int(),
  removed: z.number().int(),
  removed_job_ids: z.array(z.string()),
  skipped: z.object({
    too_recent: z.number().int(),
    no_switchyard_job: z.number().int(),
    unknown_job: z.number().int(),
    not_terminal: z.number().int(),
    locked: z.number().int(),
  }),
});
export type QueueClean = z.infer<typeof QueueClean>;
/** `skipped_terminal`: failed queue jobs left failed because the Switchyard job they work for has ended (a rerun could only bill twice). */
export const QueueRetry = z.object({
  object: z.literal("queue_retry"),
  queue: QueueNameSchema,
  retried: z.number().int(),
  skipped_terminal: z.number().int(),
  counts: QueueCounts,
});
export type QueueRetry = z.infer<typeof QueueRetry>;

/** `POST /admin/v1/maintenance`: on or off; while on, new work gets 503 with `Retry-After: retry_after_seconds`. */
export const SetMaintenanceRequest = z.strictObject({
  on: z.boolean(),
  message: z.string().trim().min(1).max(500).nullable().optional(),
  retry_after_seconds: z.number().int().min(1).max(86_400).default(300),
});
export const MaintenanceView = z.object({
  object: z.literal("maintenance"),
  on: z.boolean(),
  message: z.string().nullable(),
  retry_after_seconds: z.number().int(),
  /** When it was switched on; null while off. */
  since: z.string().nullable(),
});
export type MaintenanceView = z.infer<typeof MaintenanceView>;

/** `GET /admin/v1/usage-dead-letters`: `replayed=false` only those waiting for a replay, `true` only replayed ones. */
export const DeadLettersQuery = z.strictObject({
  limit: limitParam(200),
  cursor: SerialCursor.optional(),
  replayed: z.enum(["true", "false"]).optional(),
});

export const OPS_USAGE_GROUP_BY = ["tenant", "deployment", "model", "day", "end_user"] as const;
/** `GET /admin/v1/usage?from=&to=&group_by=&tenant_id=`: usage across tenants, for ops. */
export const OpsUsageQuery = z
  .strictObject({ from: Day, to: Day, group_by: z.enum(OPS_USAGE_GROUP_BY).default("tenant"), tenant_id: z.string().min(1).max(128).optional() })
  .superRefine(checkDayRange);
/** One group of summed daily rollups. */
export const UsageSummaryRow = z.object({
  /** The group: a day, model, deployment, tenant or end user; null for usage without an end user (`group_by=end_user`). */
  key: z.string().nullable(),
  requests: z.number().int(),
  /** Requests that ended `failed` or `incomplete`. */
  errors: z.number().int(),
  input_tokens: z.number().int(),
  output_tokens: z.number().int(),
  cost_usd: z.number(),
});
export type UsageSummaryRow = z.infer<typeof UsageSummaryRow>;
export const OpsUsageReport = z.object({
  object: z.literal("list"),
  group_by: z.enum(OPS_USAGE_GROUP_BY),
  from: z.string(),
  to: z.string(),
  data: z.array(UsageSummaryRow.extend({ tenant_id: z.string().optional() })),
});
export type OpsUsageReport = z.infer<typeof OpsUsageReport>;
