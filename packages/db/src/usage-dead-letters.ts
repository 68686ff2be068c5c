import type { UsageDeadLetterReason, UsageDeadLetterView } from "@switchyard/contracts";
import { createHash } from "node:crypto";
import { sql, type Kysely, type Selectable, type Transaction } from "kysely";
import { writeAudit, type AuditActor } from "./audit";
import type { Database, UsageDeadLettersTable } from "./schema";

type Db = Kysely<Database> | Transaction<Database>;

/** What the aggregator knows about an event it could not store. */
export interface UsageDeadLetterInput {
  /** The queue payload exactly as received (any shape: it may not even parse). */
  event: unknown;
  /** The BullMQ job that carried it; the key when the payload has no usable `job_id`. */
  queueJobId: string | null;
  reason: UsageDeadLetterReason;
  error: string;
  sqlstate: string | null;
}

const INT4 = 2 ** 31;
/** Longest job/tenant id kept as a key: a btree entry must stay well under Postgres's ~2.7 kB limit. */
const MAX_KEY = 200;
/** Longest error message kept. */
const MAX_ERROR = 4000;

/**
 * Text Postgres will store: U+0000 written as the six characters `\u0000` (text cannot hold the
 * character itself), cut to `max` characters with a hash of the whole so distinct long values stay
 * distinct keys.
 */
function storable(s: string, max: number): string {
  const text = s.replaceAll("\u0000", "\\u0000");
  if (text.length <= max) return text;
  return `${text.slice(0, max - 18)}…#${createHash("sha256").update(text).digest("hex").slice(0, 16)}`;
}

const field = (event: unknown, name: string): unknown =>
  typeof event === "object" && event !== null && !Array.isArray(event) ? (event as Record<string, unknown>)[name] : undefined;

/** The (job, attempt) a dead letter is kept under: the payload's own when it has them, else the queue job's id and 0. */
function keyOf(input: UsageDeadLetterInput): { job_id: string; attempt: number; tenant_id: string | null } {
  const jobId = field(input.event, "job_id");
  const attempt = field(input.event, "attempt");
  const tenantId = field(input.event, "tenant_id");
  return {
    job_id: storable(typeof jobId === "string" && jobId !== "" ? jobId : `queue:${input.queueJobId ?? "?"}`, MAX_KEY),
    attempt: typeof attempt === "number" && Number.isInteger(attempt) && Math.abs(attempt) < INT4 ? attempt : 0,
    tenant_id: typeof tenantId === "string" ? storable(tenantId, MAX_KEY) : null,
  };
}

/**
 * Set a usage event aside, once per (job, attempt): a re-delivery of an event already waiting here
 * changes nothing (`recorded: false`); an event that was replayed and failed again reopens its row
 * (`replayed_at` cleared, `failures` + 1, `recorded: true`). The event is kept as JSON text, which
 * escapes every character Postgres refuses, so this write never fails on the event's content.
 */
export async function recordUsageDeadLetter(db: Db, input: UsageDeadLetterInput): Promise<{ id: string; recorded: boolean }> {
  const key = keyOf(input);
  const row = {
    ...key,
    queue_job_id: input.queueJobId === null ? null : storable(input.queueJobId, MAX_KEY),
    reason: input.reason,
    event: JSON.stringify(input.event) ?? "null",
    error: storable(input.error, MAX_ERROR),
    sqlstate: input.sqlstate === null ? null : input.sqlstate.replaceAll("\u0000", "").slice(0, 5),
  };
  const written = await db
    .insertInto("usage_dead_letters")
    .values(row)
    .onConflict((oc) =>
      oc
        .columns(["job_id", "attempt"])
        .doUpdateSet((eb) => ({
          tenant_id: eb.ref("excluded.tenant_id"),
          queue_job_id: eb.ref("excluded.queue_job_id"),
          reason: eb.ref("excluded.reason"),
          event: eb.ref("excluded.event"),
          error: eb.ref("excluded.error"),
          sqlstate: eb.ref("excluded.sqlstate"),
          failures: sql<number>`usage_dead_letters.failures + 1`,
          replayed_at: null,
        }))
        .where("usage_dead_letters.replayed_at", "is not", null),
    )
    .returning("id")
    .executeTakeFirst();
  if (written) return { id: String(written.id), recorded: true };
  const existing = await db
    .selectFrom("usage_dead_letters")
    .select("id")
    .where("job_id", "=", key.job_id)
    .where("attempt", "=", key.attempt)
    .executeTakeFirstOrThrow();
  return { id: String(existing.id), recorded: false };
}

function parseStored(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** A row as the admin API shows it: `event` parsed back from its JSON text. */
export function usageDeadLetterView(r: Selectable<UsageDeadLettersTable>): UsageDeadLetterView {
  return {
    object: "usage_dead_letter",
    // bigserial: a number or a string depending on the pool's int8 parser; always a string here.
    id: String(r.id),
    tenant_id: r.tenant_id,
    job_id: r.job_id,
    attempt: r.attempt,
    queue_job_id: r.queue_job_id,
    reason: r.reason,
    error: r.error,
    sqlstate: r.sqlstate,
    failures: r.failures,
    created_at: r.created_at.toISOString(),
    replayed_at: r.replayed_at ? r.replayed_at.toISOString() : null,
    event: parseStored(r.event),
  };
}

/** Newest first; `cursor` is the id of the last row of the previous page; `replayed` filters (both when absent). */
export async function listUsageDeadLetters(
  db: Db,
  q: { limit: number; cursor?: string; replayed?: boolean },
): Promise<{ data: UsageDeadLetterView[]; nextCursor: string | null }> {
  let query = db
    .selectFrom("usage_dead_letters")
    .selectAll()
    .orderBy("id", "desc")
    .limit(q.limit + 1);
  if (q.cursor !== undefined) query = query.where("id", "<", q.cursor);
  if (q.replayed !== undefined) query = query.where("replayed_at", q.replayed ? "is not" : "is", null);
  const rows = await query.execute();
  const data = rows.slice(0, q.limit).map(usageDeadLetterView);
  return { data, nextCursor: rows.length > q.limit ? (data[data.length - 1]?.id ?? null) : null };
}

export type ReplayOutcome<T> =
  { status: "not_found" } | { status: "already_replayed"; deadLetter: UsageDeadLetterView } | { status: "replayed"; deadLetter: UsageDeadLetterView; sent: T };

/**
 * Replay a dead letter once: in one transaction, lock its row, hand it to `send` (which re-enqueues
 * the event and may throw to refuse it: nothing is then changed), mark it replayed and write the
 * audit row. Concurrent replays of one id serialise on the row lock; the second sees it replayed.
 * If the commit fails after `send`, the event may be enqueued with the row still open; replaying
 * it again is harmless, since the ledger keeps one row per (job, attempt).
 */
export async function replayUsageDeadLetter<T extends Record<string, unknown>>(
  db: Kysely<Database>,
  id: string,
  actor: AuditActor,
  send: (deadLetter: UsageDeadLetterView) => Promise<T>,
): Promise<ReplayOutcome<T>> {
  return db.transaction().execute(async (trx) => {
    const row = await trx.selectFrom("usage_dead_letters").selectAll().where("id", "=", id).forUpdate().executeTakeFirst();
    if (!row) return { status: "not_found" } as const;
    const before = usageDeadLetterView(row);
    if (row.replayed_at) return { status: "already_replayed", deadLetter: before } as const;
    const sent = await send(before);
    const updated = await trx
      .updateTable("usage_dead_letters")
      .set({ replayed_at: sql`now()` })
      .where("id", "=", id)
      .returningAll()
      .executeTakeFirstOrThrow();
    const after = usageDeadLetterView(updated);
    await writeAudit(trx, actor, {
      tenant_id: row.tenant_id,
      action: "usage_dead_letter.replay",
      target_type: "usage_dead_letter",
      target_id: after.id,
      before: { job_id: row.job_id, attempt: row.attempt, replayed_at: null, failures: row.failures },
      after: { job_id: row.job_id, attempt: row.attempt, replayed_at: after.replayed_at, ...sent },
    });
    return { status: "replayed", deadLetter: after, sent } as const;
  });
}
