import { sql, type Kysely, type Selectable } from "kysely";
import { toJsonb } from "./jsonb";
import type { BatchesTable, BatchLinesTable, Database } from "./schema";

export type BatchRow = Selectable<BatchesTable>;
export type BatchLineRow = Selectable<BatchLinesTable>;
type Status = BatchesTable["status"];
type LineState = BatchLinesTable["state"];

/** Statuses a runner still has work in. */
export const ACTIVE_BATCH_STATUSES: readonly Status[] = ["validating", "in_progress", "finalizing", "cancelling"];

export async function insertBatch(
  db: Kysely<Database>,
  b: {
    id: string;
    tenant_id: string;
    deployment_id: string;
    api_key_id: string;
    endpoint: string;
    input_file_id: string;
    completion_window: string;
    metadata: Record<string, string> | null;
    created_at: Date;
    expires_at: Date;
    output_expires_seconds?: number | null;
  },
): Promise<BatchRow> {
  return db
    .insertInto("batches")
    .values({ ...b, metadata: b.metadata ? toJsonb(b.metadata) : null, status: "validating" })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** A batch of `tenantId` (another tenant's: undefined). */
export async function findBatch(db: Kysely<Database>, tenantId: string, id: string): Promise<BatchRow | undefined> {
  return db.selectFrom("batches").selectAll().where("id", "=", id).where("tenant_id", "=", tenantId).executeTakeFirst();
}

/** A page of the tenant's batches, newest first by id; `limit + 1` read to tell `has_more`. */
export async function listBatches(
  db: Kysely<Database>,
  tenantId: string,
  q: { limit: number; after?: string },
): Promise<{ data: BatchRow[]; has_more: boolean }> {
  let query = db.selectFrom("batches").selectAll().where("tenant_id", "=", tenantId);
  if (q.after) query = query.where("id", "<", q.after);
  const rows = await query
    .orderBy("id", "desc")
    .limit(q.limit + 1)
    .execute();
  return { data: rows.slice(0, q.limit), has_more: rows.length > q.limit };
}

/**
 * Take the lease of the oldest batch with work whose lease is free or expired (or already ours),
 * for `leaseMs`. `FOR UPDATE SKIP LOCKED`: two runners asking at once get different batches.
 */
export async function claimBatch(db: Kysely<Database>, owner: string, leaseMs: number): Promise<BatchRow | undefined> {
  const row = await sql<BatchRow>`
    UPDATE batches SET lease_owner = ${owner}, lease_until = now() + make_interval(secs => ${leaseMs / 1000})
    WHERE id = (
      SELECT id FROM batches
      WHERE status IN ('validating', 'in_progress', 'finalizing', 'cancelling')
        AND (lease_owner IS NULL OR lease_until < now() OR lease_owner = ${owner})
      ORDER BY lease_until NULLS FIRST, created_at
      LIMIT 1
      FOR UPDATE SKIP LOCKED
    )
    RETURNING *`.execute(db);
  return row.rows[0];
}

/** Give a lease back: any runner may take the batch at once, after the batches that waited longer (`lease_until` orders them). */
export async function releaseBatch(db: Kysely<Database>, id: string, owner: string): Promise<void> {
  await db.updateTable("batches").set({ lease_owner: null, lease_until: new Date() }).where("id", "=", id).where("lease_owner", "=", owner).execute();
}

/** Move a batch from one of `from` to `to` (with the time column of `to` and `extra`); false when it was in none of them. */
export async function moveBatch(
  db: Kysely<Database>,
  id: string,
  from: readonly Status[],
  to: Status,
  extra: Partial<{ errors: string | null; output_file_id: string | null; error_file_id: string | null }> = {},
): Promise<boolean> {
  const at: Partial<Record<string, Date>> = {};
  const column = {
    in_progress: "in_progress_at",
    finalizing: "finalizing_at",
    completed: "completed_at",
    failed: "failed_at",
    expired: "expired_at",
    cancelling: "cancelling_at",
    cancelled: "cancelled_at",
  }[to as Exclude<Status, "validating">];
  if (column) at[column] = new Date();
  const r = await db
    .updateTable("batches")
    .set({ status: to, ...at, ...extra })
    .where("id", "=", id)
    .where("status", "in", [...from])
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/**
 * Write every line of a validated batch and move it to `in_progress`, in one transaction: a
 * runner that dies midway leaves the batch `validating` with no lines, to be validated again.
 */
export async function startBatchLines(
  db: Kysely<Database>,
  id: string,
  lines: Array<{
    line: number;
    custom_id: string | null;
    request: Record<string, unknown> | null;
    state: "pending" | "invalid";
    result: Record<string, unknown> | null;
  }>,
  model: string | null = null,
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const locked = await trx.selectFrom("batches").select("status").where("id", "=", id).forUpdate().executeTakeFirst();
    if (locked?.status !== "validating") return false;
    for (let i = 0; i < lines.length; i += 500) {
      await trx
        .insertInto("batch_lines")
        .values(
          lines.slice(i, i + 500).map((l) => ({
            batch_id: id,
            line: l.line,
            custom_id: l.custom_id,
            request: l.request ? toJsonb(l.request) : null,
            state: l.state,
            job_id: null,
            result: l.result ? toJsonb(l.result) : null,
          })),
        )
        .onConflict((oc) => oc.columns(["batch_id", "line"]).doNothing())
        .execute();
    }
    await trx.updateTable("batches").set({ status: "in_progress", in_progress_at: new Date(), total: lines.length, model }).where("id", "=", id).execute();
    return true;
  });
}

/**
 * Pause a running batch for `reason` (its next line was refused for budget): `paused_at` is the
 * first refusal's time, kept while the pause lasts. False when it was not running or not paused before.
 */
export async function pauseBatch(db: Kysely<Database>, id: string, reason: string): Promise<boolean> {
  const r = await db
    .updateTable("batches")
    .set({ paused_reason: reason, paused_at: sql<Date>`coalesce(paused_at, now())` })
    .where("id", "=", id)
    .where("status", "=", "in_progress")
    .where((eb) => eb.or([eb("paused_reason", "is", null), eb("paused_reason", "!=", reason)]))
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** End a batch's pause (a line was admitted again); false when it was not paused. */
export async function resumeBatch(db: Kysely<Database>, id: string): Promise<boolean> {
  const r = await db
    .updateTable("batches")
    .set({ paused_reason: null, paused_at: null })
    .where("id", "=", id)
    .where("paused_reason", "is not", null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Running batches that are paused, by reason (the `ai_batches_paused` gauge). */
export async function countPausedBatches(db: Kysely<Database>): Promise<Array<{ reason: string; n: number }>> {
  const rows = await db
    .selectFrom("batches")
    .select(["paused_reason", (e) => e.fn.countAll<string>().as("n")])
    .where("status", "=", "in_progress")
    .where("paused_reason", "is not", null)
    .groupBy("paused_reason")
    .execute();
  return rows.map((r) => ({ reason: r.paused_reason!, n: Number(r.n) }));
}

/**
 * The tokens the ledger holds for each of a tenant's batches (its lines' usage rows, by
 * `usage_events.batch_id`), read only from partitions since the oldest batch began.
 */
export async function batchUsage(
  db: Kysely<Database>,
  tenantId: string,
  batches: ReadonlyArray<{ id: string; created_at: Date }>,
): Promise<Map<string, { input_tokens: number; output_tokens: number; cached_tokens: number }>> {
  if (batches.length === 0) return new Map();
  const since = new Date(Math.min(...batches.map((b) => b.created_at.getTime())));
  const rows = await db
    .selectFrom("usage_events")
    .select((eb) => [
      "batch_id",
      eb.fn.sum<string>("input_tokens").as("input_tokens"),
      eb.fn.sum<string>("output_tokens").as("output_tokens"),
      eb.fn.sum<string>("cached_tokens").as("cached_tokens"),
    ])
    .where("tenant_id", "=", tenantId)
    .where(
      "batch_id",
      "in",
      batches.map((b) => b.id),
    )
    .where("occurred_at", ">=", since)
    .groupBy("batch_id")
    .execute();
  return new Map(
    rows.map((r) => [r.batch_id!, { input_tokens: Number(r.input_tokens), output_tokens: Number(r.output_tokens), cached_tokens: Number(r.cached_tokens) }]),
  );
}

/** Up to `limit` lines of a batch in `state`, in line order. */
export async function batchLines(db: Kysely<Database>, id: string, state: LineState, limit: number, afterLine = 0): Promise<BatchLineRow[]> {
  return db
    .selectFrom("batch_lines")
    .selectAll()
    .where("batch_id", "=", id)
    .where("state", "=", state)
    .where("line", ">", afterLine)
    .orderBy("line")
    .limit(limit)
    .execute();
}

/** Record a line's job (only while the line is still pending: a second runner's write changes nothing). */
export async function markLineSubmitted(db: Kysely<Database>, id: string, line: number, jobId: string): Promise<void> {
  await db
    .updateTable("batch_lines")
    .set({ state: "submitted", job_id: jobId })
    .where("batch_id", "=", id)
    .where("line", "=", line)
    .where("state", "=", "pending")
    .execute();
}

/**
 * Put a submitted line whose job `jobId` was refused for budget back to pending, for a new
 * admission (`admissions` + 1: a new idempotency key, so a new job); false when the line had
 * moved on (settled, or another runner did this first).
 */
export async function repeatLine(db: Kysely<Database>, id: string, line: number, jobId: string): Promise<boolean> {
  const r = await db
    .updateTable("batch_lines")
    .set((eb) => ({ state: "pending", job_id: null, admissions: eb("admissions", "+", 1) }))
    .where("batch_id", "=", id)
    .where("line", "=", line)
    .where("state", "=", "submitted")
    .where("job_id", "=", jobId)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Settle a line with its output or error line, from one of `from`; false when it was in none of them (settled already). */
export async function settleLine(
  db: Kysely<Database>,
  id: string,
  line: number,
  from: readonly LineState[],
  state: "done" | "failed" | "canceled" | "expired",
  result: Record<string, unknown>,
): Promise<boolean> {
  const r = await db
    .updateTable("batch_lines")
    .set({ state, result: toJsonb(result) })
    .where("batch_id", "=", id)
    .where("line", "=", line)
    .where("state", "in", [...from])
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Recount a batch's lines into its `request_counts` (`completed`: done; `failed`: every other settled line). */
export async function recountBatch(db: Kysely<Database>, id: string): Promise<{ total: number; completed: number; failed: number; open: number }> {
  const rows = await db
    .selectFrom("batch_lines")
    .select(["state", (e) => e.fn.countAll<string>().as("n")])
    .where("batch_id", "=", id)
    .groupBy("state")
    .execute();
  const by = Object.fromEntries(rows.map((r) => [r.state, Number(r.n)])) as Partial<Record<LineState, number>>;
  const total = rows.reduce((a, r) => a + Number(r.n), 0);
  const completed = by.done ?? 0;
  const open = (by.pending ?? 0) + (by.submitted ?? 0);
  const failed = total - completed - open;
  await db.updateTable("batches").set({ completed, failed }).where("id", "=", id).execute();
  return { total, completed, failed, open };
}

/** Every settled line's result in line order, `pageSize` rows per query. */
export async function* settledResults(
  db: Kysely<Database>,
  id: string,
  pageSize = 1000,
): AsyncGenerator<{ state: LineState; result: Record<string, unknown> }> {
  for (let after = 0; ;) {
    const rows = await db
      .selectFrom("batch_lines")
      .select(["line", "state", "result"])
      .where("batch_id", "=", id)
      .where("result", "is not", null)
      .where("line", ">", after)
      .orderBy("line")
      .limit(pageSize)
      .execute();
    for (const r of rows) yield { state: r.state, result: r.result! };
    if (rows.length < pageSize) return;
    after = rows.at(-1)!.line;
  }
}
