import type { CreateJobRequest, CreateJobResponse, JobBudget, JobView, RouteJobPayload, RoutingContext } from "@switchyard/contracts";
import { injectTraceContext } from "@switchyard/telemetry";
import type { Principal } from "@switchyard/contracts";

/** A gateway's create → enqueue takes milliseconds; a job still unqueued after this long lost its gateway in between. */
export const ORPHAN_AFTER_MS = 5000;

/** `POST /v1/jobs`'s answer for a job. */
export function createResponse(view: Pick<JobView, "id" | "status" | "created_at">): CreateJobResponse {
  return {
    id: view.id,
    object: "job",
    status: view.status,
    created_at: view.created_at,
    links: { self: `/v1/jobs/${view.id}`, events: `/v1/jobs/${view.id}/events` },
  };
}

/**
 * The principal a batch's lines are admitted as: the batch's key, plus the batch, so each line's
 * job carries the batch marker (no request body can set it). Built by the batch runner only.
 */
export type BatchLinePrincipal = Principal & { batchId: string };

/** The batch a principal admits a line of ({@link BatchLinePrincipal}); undefined for every other caller. */
export const batchIdOf = (p: Principal): string | undefined => ("batchId" in p && typeof p.batchId === "string" ? p.batchId : undefined);

/** The route job's payload (the one stored copy: the BullMQ job holds it); a batch line's job carries `batch`. */
export function routePayload(
  p: Principal,
  req: CreateJobRequest,
  routing: RoutingContext,
  budget: JobBudget,
  jobId: string,
  createdAt: string,
): RouteJobPayload {
  const batchId = batchIdOf(p);
  const batch = batchId ? { batch: { batch_id: batchId } } : {};
  return {
    job_id: jobId,
    tenant_id: p.tenantId,
    deployment_id: p.deploymentId,
    api_key_id: p.keyId,
    request: req,
    routing,
    budget,
    created_at: createdAt,
    trace: injectTraceContext(),
    ...batch,
  };
}
