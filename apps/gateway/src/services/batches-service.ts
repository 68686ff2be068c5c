import { ApiError, BATCH_ID, BatchObject, newId, type BatchList, type CreateBatchRequest, type ListBatchesQuery, type Principal } from "@switchyard/contracts";
import { batchUsage, findBatch, findFile, insertBatch, listBatches, moveBatch, type BatchRow } from "@switchyard/db";
import type { GatewayResources } from "../resources";
import { refuseDuringMaintenance } from "./maintenance";

/** How long a batch may take (`completion_window: "24h"`). */
export const COMPLETION_WINDOW_MS = 24 * 3600 * 1000;

const seconds = (d: Date | null) => (d ? Math.floor(d.getTime() / 1000) : null);

type Tokens = { input_tokens: number; output_tokens: number; cached_tokens: number };

/** OpenAI's `usage` of a batch from its ledger totals (zeros before any line's row is written). */
const usageOf = (t: Tokens | undefined) => {
  const u = t ?? { input_tokens: 0, output_tokens: 0, cached_tokens: 0 };
  return {
    input_tokens: u.input_tokens,
    input_tokens_details: { cached_tokens: u.cached_tokens },
    output_tokens: u.output_tokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: u.input_tokens + u.output_tokens,
  };
};

/** Batch objects of a tenant's rows, each with its `usage` from the ledger (one query for them all). */
async function withUsage(r: GatewayResources, tenantId: string, rows: BatchRow[]): Promise<BatchObject[]> {
  const usage = await batchUsage(r.db, tenantId, rows);
  return rows.map((b) => ({ ...toBatchObject(b), usage: usageOf(usage.get(b.id)) }));
}

/** A batch row as OpenAI's batch object (without `usage`: {@link withUsage} adds it). */
export function toBatchObject(b: BatchRow): BatchObject {
  return BatchObject.parse({
    id: b.id,
    object: "batch",
    endpoint: b.endpoint,
    model: b.model,
    errors: b.errors ?? null,
    input_file_id: b.input_file_id,
    completion_window: b.completion_window,
    status: b.status,
    output_file_id: b.output_file_id,
    error_file_id: b.error_file_id,
    created_at: seconds(b.created_at),
    in_progress_at: seconds(b.in_progress_at),
    expires_at: seconds(b.expires_at),
    finalizing_at: seconds(b.finalizing_at),
    completed_at: seconds(b.completed_at),
    failed_at: seconds(b.failed_at),
    expired_at: seconds(b.expired_at),
    cancelling_at: seconds(b.cancelling_at),
    cancelled_at: seconds(b.cancelled_at),
    request_counts: { total: b.total, completed: b.completed, failed: b.failed },
    metadata: b.metadata ?? null,
    // Only a running batch is paused; one that ended (or is being cancelled) is not, whatever the row last held.
    paused_reason: b.status === "in_progress" ? b.paused_reason : null,
    paused_at: b.status === "in_progress" && b.paused_reason ? seconds(b.paused_at) : null,
  });
}

function batchesAllowed(p: Principal): void {
  if (p.publishable) throw new ApiError("insufficient_scope", "files and batches are not available to publishable keys");
}

const notFound = (id: string) => new ApiError("not_found", `No batch found with id '${id}'.`, "batch_id");

/**
 * `POST /v1/batches`: the input file must be the caller's, of purpose `batch`; the batch starts
 * `validating` and the batch runner takes it from there (every line checked before any runs).
 */
export async function createBatch(r: GatewayResources, p: Principal, body: CreateBatchRequest): Promise<BatchObject> {
  batchesAllowed(p);
  await refuseDuringMaintenance(r.maintenance);
  const file = await findFile(r.db, p.tenantId, body.input_file_id);
  if (!file) throw new ApiError("not_found", `input_file_id: no file ${body.input_file_id}`, "input_file_id");
  if (file.purpose !== "batch")
    throw new ApiError(
      "invalid_request",
      `input_file_id: file ${file.id} has purpose '${file.purpose}'; a batch's input must have purpose 'batch'`,
      "input_file_id",
    );
  const now = new Date();
  const row = await insertBatch(r.db, {
    id: newId("batch", now.getTime()),
    tenant_id: p.tenantId,
    deployment_id: p.deploymentId,
    api_key_id: p.keyId,
    endpoint: body.endpoint,
    input_file_id: file.id,
    completion_window: body.completion_window,
    metadata: body.metadata ?? null,
    created_at: now,
    expires_at: new Date(now.getTime() + COMPLETION_WINDOW_MS),
    output_expires_seconds: body.output_expires_after?.seconds ?? null,
  });
  r.logger.info({ batchId: row.id, fileId: file.id, endpoint: body.endpoint }, "batch created");
  return toBatchObject(row);
}

export async function getBatch(r: GatewayResources, p: Principal, id: string): Promise<BatchObject> {
  batchesAllowed(p);
  const b = BATCH_ID.test(id) ? await findBatch(r.db, p.tenantId, id) : undefined;
  if (!b) throw notFound(id);
  return (await withUsage(r, p.tenantId, [b]))[0]!;
}

/**
 * `POST /v1/batches/{id}/cancel`: a validating or running batch becomes `cancelling` (the runner
 * cancels its unfinished jobs, then writes what finished and moves it to `cancelled`); cancelling
 * one already cancelling or cancelled answers it as it is; one that ended otherwise is a 409.
 */
export async function cancelBatch(r: GatewayResources, p: Principal, id: string): Promise<BatchObject> {
  const before = await getBatch(r, p, id);
  if (before.status === "cancelling" || before.status === "cancelled") return before;
  if (!(await moveBatch(r.db, before.id, ["validating", "in_progress"], "cancelling"))) {
    const now = await getBatch(r, p, id);
    if (now.status === "cancelling" || now.status === "cancelled") return now;
    throw new ApiError("job_already_terminal", `Cannot cancel a batch that is ${now.status}.`, "batch_id");
  }
  return getBatch(r, p, id);
}

export async function listBatchesPage(r: GatewayResources, p: Principal, q: ListBatchesQuery): Promise<BatchList> {
  batchesAllowed(p);
  const page = await listBatches(r.db, p.tenantId, q);
  const data = await withUsage(r, p.tenantId, page.data);
  return { object: "list", data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: page.has_more };
}
