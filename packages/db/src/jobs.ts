import { JobView } from "@switchyard/contracts";
import type { Kysely, Selectable, Transaction } from "kysely";
import type { Database, JobsTable } from "./schema";
import { toJsonb } from "./jsonb";
import { parseRow } from "./parse-row";

export interface JobRecordInput {
  view: JobView;
  tenant_id: string;
  deployment_id: string;
  api_key_id: string | null;
}

/** Store finished jobs in one statement (idempotent: a re-delivered finish writes the same terminal state). */
export async function saveFinishedJobs(db: Kysely<Database> | Transaction<Database>, jobs: JobRecordInput[]): Promise<void> {
  if (jobs.length === 0) return;
  // One row per job id, or the upsert would touch a row twice.
  const rows = [...new Map(jobs.map((j) => [j.view.id, jobRow(j)])).values()];
  await db
    .insertInto("jobs")
    .values(rows)
    .onConflict((oc) =>
      oc.column("id").doUpdateSet((eb) => ({
        status: eb.ref("excluded.status"),
        served_model: eb.ref("excluded.served_model"),
        output: eb.ref("excluded.output"),
        usage: eb.ref("excluded.usage"),
        routing: eb.ref("excluded.routing"),
        error: eb.ref("excluded.error"),
        started_at: eb.ref("excluded.started_at"),
        completed_at: eb.ref("excluded.completed_at"),
        attempts: eb.ref("excluded.attempts"),
      })),
    )
    .execute();
}

/** Store a finished job (idempotent: a re-delivered finish writes the same terminal state). */
export async function saveFinishedJob(db: Kysely<Database>, j: JobRecordInput): Promise<void> {
  await saveFinishedJobs(db, [j]);
}

function jobRow(j: JobRecordInput) {
  const v = j.view;
  return {
    id: v.id,
    tenant_id: j.tenant_id,
    deployment_id: j.deployment_id,
    api_key_id: j.api_key_id,
    status: v.status,
    model: v.model,
    served_model: v.served_model,
    output: v.output ? toJsonb(v.output) : null,
    usage: v.usage ? toJsonb(v.usage) : null,
    routing: toJsonb(v.routing),
    error: v.error ? toJsonb(v.error) : null,
    metadata: v.metadata ? toJsonb(v.metadata) : null,
    attempts: v.attempts ? toJsonb(v.attempts) : null,
    created_at: v.created_at,
    started_at: v.started_at,
    completed_at: v.completed_at,
  };
}

/**
 * A stored job, only if it belongs to `tenantId` (another tenant's job is "not found"), and with
 * `apiKeyId` only if that key created it (publishable keys see their own jobs alone).
 */
export async function findJob(db: Kysely<Database>, tenantId: string, id: string, opts: { apiKeyId?: string } = {}): Promise<JobView | undefined> {
  let q = db.selectFrom("jobs").selectAll().where("id", "=", id).where("tenant_id", "=", tenantId);
  if (opts.apiKeyId) q = q.where("api_key_id", "=", opts.apiKeyId);
  const r = await q.executeTakeFirst();
  return r ? storedJobView(r) : undefined;
}

/** What {@link listStoredJobs} selects: every filter is optional; `before` is exclusive, in (created_at, id) order. */
export interface StoredJobsQuery {
  tenantId: string;
  /** Only the jobs this key created (publishable keys). */
  apiKeyId?: string;
  status?: string;
  /** The requested or the served model. */
  model?: string;
  /** Created at or after. */
  since?: Date;
  /** Created before. */
  until?: Date;
  /** Keyset position: only jobs older than (created_at, id). */
  before?: { createdAt: Date; id: string };
  limit: number;
}

/**
 * A tenant's stored (finished) jobs, newest first by (created_at, id), at most `limit` of them: a
 * keyset page on the indexes of migration 0013.
 */
export async function listStoredJobs(db: Kysely<Database>, q: StoredJobsQuery): Promise<JobView[]> {
  let s = db.selectFrom("jobs").selectAll().where("tenant_id", "=", q.tenantId);
  if (q.apiKeyId) s = s.where("api_key_id", "=", q.apiKeyId);
  if (q.status) s = s.where("status", "=", q.status);
  if (q.model) {
    const model = q.model;
    s = s.where((eb) => eb.or([eb("model", "=", model), eb("served_model", "=", model)]));
  }
  if (q.since) s = s.where("created_at", ">=", q.since);
  if (q.until) s = s.where("created_at", "<", q.until);
  if (q.before) {
    const b = q.before;
    s = s.where((eb) => eb(eb.refTuple("created_at", "id"), "<", eb.tuple(b.createdAt, b.id)));
  }
  const rows = await s.orderBy("created_at", "desc").orderBy("id", "desc").limit(q.limit).execute();
  return rows.map(storedJobView);
}

/** Which of `ids` are stored for the tenant (Postgres is the truth for a finished job once stored). */
export async function storedJobIds(db: Kysely<Database>, tenantId: string, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db
    .selectFrom("jobs")
    .select("id")
    .where("tenant_id", "=", tenantId)
    .where("id", "in", [...ids])
    .execute();
  return new Set(rows.map((r) => r.id));
}

/** The columns of a stored job that hold JSON or unchecked text, parsed with the contract's JobView parts. */
const StoredJobParts = JobView.pick({ status: true, output: true, usage: true, routing: true, error: true, metadata: true, attempts: true });

/** A stored job as the API shows it: its JSON columns parsed once (a row that does not parse throws CorruptRowError naming the job). */
function storedJobView(r: Selectable<JobsTable>): JobView {
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  const p = parseRow(
    StoredJobParts,
    {
      status: r.status,
      output: r.output,
      usage: r.usage,
      routing: r.routing ?? { decision: null, fallbacks: [] },
      error: r.error,
      metadata: r.metadata,
      attempts: r.attempts ?? undefined,
    },
    { table: "jobs", key: r.id },
  );
  return {
    id: r.id,
    object: "job",
    status: p.status,
    model: r.model,
    served_model: r.served_model,
    created_at: r.created_at.toISOString(),
    started_at: iso(r.started_at),
    completed_at: iso(r.completed_at),
    output: p.output,
    usage: p.usage,
    routing: p.routing,
    error: p.error,
    metadata: p.metadata,
    ...(p.attempts ? { attempts: p.attempts } : {}),
  };
}
