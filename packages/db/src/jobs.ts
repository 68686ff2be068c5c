import type { JobView } from "@switchyard/contracts";
import type { Kysely, Transaction } from "kysely";
import type { Database } from "./schema";
import { toJsonb } from "./jsonb";

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
  if (!r) return undefined;
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  return {
    id: r.id,
    object: "job",
    status: r.status as JobView["status"],
    model: r.model,
    served_model: r.served_model,
    created_at: r.created_at.toISOString(),
    started_at: iso(r.started_at),
    completed_at: iso(r.completed_at),
    output: (r.output as JobView["output"]) ?? null,
    usage: (r.usage as JobView["usage"]) ?? null,
    routing: (r.routing as JobView["routing"]) ?? { decision: null, fallbacks: [] },
    error: (r.error as JobView["error"]) ?? null,
    metadata: (r.metadata as JobView["metadata"]) ?? null,
    ...(r.attempts ? { attempts: r.attempts as NonNullable<JobView["attempts"]> } : {}),
  };
}
