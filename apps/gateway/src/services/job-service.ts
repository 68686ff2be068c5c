import {
  ApiError,
  MAX_IDEMPOTENCY_KEY_LENGTH,
  isTerminalStatus,
  newId,
  queuedJobView,
  RouteJobPayload,
  type CreateJobRequest,
  type CreateJobResponse,
  type JobView,
  type RoutingContext,
} from "@switchyard/contracts";
import { findJob, saveFinishedJob } from "@switchyard/db";
import { addRouteJob, type FairDecision } from "@switchyard/queue";
import { addLogContext, AttrNames, SpanKind, startSpan } from "@switchyard/telemetry";
import type { GatewayResources } from "../resources";
import type { Principal } from "@switchyard/contracts";
import { canonicalHash } from "./canonical-json";
import { refuseDuringMaintenance } from "./maintenance";
import { admitJob, jobBudget, jobSpend, type Spend } from "./admission";
import type { DeploymentSettings } from "./deployment-cache";
import { routingContext } from "./deployment-cache";
import { checkModel } from "./check-model";
import { admitCompare, cancelComparison, enqueueIfOrphanedCompare, liveComparison, planCompare, storedComparison, type ComparePlan } from "./compare-jobs";
import { batchIdOf, createResponse, ORPHAN_AFTER_MS, routePayload } from "./job-payloads";
import { boundedRoute, fairReader, gateDecision, gatePush, gateSubmit } from "./fair-gate";

/** `view`: the whole job as it stands (a created job's first view, or a replay's current one), so a caller needs no read back. */
export type SubmitResult = { replayed: boolean; job: CreateJobResponse; view: JobView; headers?: Record<string, string> };

/**
 * Admission for `POST /v1/jobs`: the checks that need no Redis (catalog, features, the token
 * count and price), then one Redis script (idempotency claim, rate limits, budget reservation, the
 * job record and the fair gate's decision: `admitJob`), then the enqueue (the BullMQ add, or the
 * fair-list push; undone if it fails). Two round trips.
 * A replay returns the stored job before any feature or limit check, and spends nothing: a check
 * that fails looks the key up before it answers, and the script checks the key first.
 */
export async function submitJob(r: GatewayResources, p: Principal, req: CreateJobRequest, headerKey: string | undefined): Promise<SubmitResult> {
  if (headerKey !== undefined && headerKey.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw new ApiError("idempotency_key_too_long", `Idempotency-Key: at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`, "Idempotency-Key");
  }
  if (headerKey !== undefined && headerKey.length === 0) throw new ApiError("invalid_request", "Idempotency-Key: must not be empty", "Idempotency-Key");
  const idemKey = headerKey ?? req.client_request_id;
  const bodyHash = canonicalHash(req);
  const replay = async (
    existing: { jobId: string; bodyHash: string },
    rebuild: { payload: () => Promise<RouteJobPayload>; deployment: DeploymentSettings } | null,
  ): Promise<SubmitResult> => {
    if (existing.bodyHash !== bodyHash) {
      throw new ApiError(
        "idempotency_key_reused",
        "this Idempotency-Key was already used with a different request body",
        headerKey ? "Idempotency-Key" : "client_request_id",
      );
    }
    const job = await getJob(r, p, existing.jobId);
    if (rebuild) await enqueueIfOrphaned(r, job, rebuild.payload, rebuild.deployment);
    return { replayed: true, job: createResponse(job), view: job };
  };
  let deployment: DeploymentSettings;
  let ctx: RoutingContext;
  // What the request may spend: one job's, or each model's of a comparison.
  let plan: { spend: Spend } | { compare: ComparePlan };
  try {
    await refuseDuringMaintenance(r.maintenance);
    deployment = await r.deployments.get(p.deploymentId);
    ctx = routingContext(deployment);
    if (req.compare) {
      plan = { compare: await planCompare(r, req, deployment, ctx, req.user ? await r.deployments.endUserTier(deployment.id, req.user) : null) };
    } else {
      checkModel(r, req, ctx, deployment.features);
      const tier = req.user ? await r.deployments.endUserTier(deployment.id, req.user) : null;
      plan = { spend: await jobSpend(r, req, deployment, tier, { batch: batchIdOf(p) !== undefined }) };
    }
  } catch (err) {
    const earlier = idemKey && err instanceof ApiError ? await r.jobStore.lookupIdempotency(p.tenantId, idemKey) : null;
    if (earlier) return replay(earlier, null);
    throw err;
  }
  if ("compare" in plan) {
    const admitted = await admitCompare(r, p, req, deployment, ctx, plan.compare, idemKey ? { key: idemKey, bodyHash } : undefined);
    if (admitted.kind === "exists") {
      const replayed = await replay(admitted, null);
      await enqueueIfOrphanedCompare(r, p, req, deployment, ctx, plan.compare, replayed.view.id);
      return replayed;
    }
    return { replayed: false, job: createResponse(admitted.view), view: admitted.view, headers: admitted.headers };
  }
  const { spend } = plan;
  const now = new Date();
  const jobId = newId("job", now.getTime());
  addLogContext({ jobId });
  const view = queuedJobView(jobId, req.model, now, req.metadata);
  const create = r.jobStore.prepareCreate({
    view,
    tenantId: p.tenantId,
    deploymentId: p.deploymentId,
    apiKeyId: p.keyId,
    idempotency: idemKey ? { key: idemKey, bodyHash, ttlSeconds: r.config.idempotencyTtlSeconds } : undefined,
  });
  const fair = gateDecision(r, { jobId, tenantId: p.tenantId, deploymentId: p.deploymentId, priority: req.priority ?? "normal" }, deployment);
  const admitted = await admitJob(r, jobId, deployment, spend, create, fair);
  // Claimed already (a replay, or a concurrent identical request won): that job is the job.
  if (admitted.kind === "exists") {
    return replay(admitted, {
      payload: async () => routePayload(p, req, { ...ctx, budget_used_ratio: 0 }, jobBudget(deployment, spend), admitted.jobId, new Date().toISOString()),
      deployment,
    });
  }
  const payload = routePayload(p, req, { ...ctx, budget_used_ratio: admitted.budgetUsedRatio }, admitted.budget, view.id, view.created_at);
  r.fault("job.admitted");
  try {
    await enqueueRoute(r, payload, deployment, admitted.fair);
  } catch (err) {
    await r.jobStore.discard(view.id, p.tenantId, idemKey).catch(() => undefined);
    await r.budgets.release(jobId).catch(() => false);
    throw new ApiError("service_unavailable", "could not enqueue the job; try again", undefined, { "Retry-After": "1" });
  }
  r.logger.info({ model: req.model, deploymentId: p.deploymentId, rag: Boolean(req.rag), reservedUsd: admitted.budget.reserved_usd }, "job accepted");
  return { replayed: false, job: createResponse(view), view, headers: admitted.headers };
}

/** {@link submitJob} in the request's server span (`route`: its HTTP route); the job's payload carries the span's context (injectTraceContext), so the workers' spans join its trace. */
export function submitJobTraced(r: GatewayResources, p: Principal, req: CreateJobRequest, headerKey: string | undefined, route: string): Promise<SubmitResult> {
  return startSpan(
    "submit job",
    { [AttrNames.tenantId]: p.tenantId, [AttrNames.deploymentId]: p.deploymentId, "http.request.method": "POST", "http.route": route },
    async (span) => {
      const submitted = await submitJob(r, p, req, headerKey);
      span.setAttributes({ [AttrNames.jobId]: submitted.job.id, "switchyard.idempotent_replay": submitted.replayed });
      return submitted;
    },
    SpanKind.SERVER,
  );
}

/**
 * Enqueue a created job: through the fair gate (FAIR_SCHEDULING, on by default), which either lets
 * it straight into BullMQ (nothing of its deployment waits and the workers have room: the path
 * and cost of a plain add) or queues it in its deployment's fair list for the dispatchers; the job
 * is accepted either way. A deployment's `max_queue_ms` bounds the request's (the lower wins).
 * Added after its retrieval child when it has `rag`; the job id makes a repeat a no-op. `decided`:
 * the gate's decision, when the admission script took it (else the gate decides here).
 */
async function enqueueRoute(r: GatewayResources, payload: RouteJobPayload, deployment: DeploymentSettings, decided: FairDecision | null = null): Promise<void> {
  payload = boundedRoute(payload, deployment);
  if (decided === "queue") return gatePush(r, payload);
  const path = decided ?? (await gateSubmit(r, payload, deployment));
  if (path === "queued") return;
  const { rag } = await addRouteJob(r.queues, payload, path === "direct-behind");
  if (rag) r.metrics.countEnqueue("ai-rag");
  r.metrics.countEnqueue("ai-route");
}

/**
 * Replays finish a submit that died between creating the job and enqueueing it: a job still
 * `queued` in Redis with no BullMQ job is enqueued with a payload rebuilt from the replayed
 * request (the same body, by its hash; the job record does not keep a second copy of it).
 */
async function enqueueIfOrphaned(r: GatewayResources, job: JobView, rebuild: () => Promise<RouteJobPayload>, deployment: DeploymentSettings): Promise<void> {
  if (job.status !== "queued" || Date.now() - Date.parse(job.created_at) < ORPHAN_AFTER_MS) return;
  if (await r.queues.queue("ai-route").getJob(job.id)) return;
  // Waiting in its fair list is not orphaned: the dispatchers will add it.
  if (await fairReader(r).find(deployment.id, job.id)) return;
  await enqueueRoute(r, { ...(await rebuild()), created_at: job.created_at }, deployment);
  r.logger.warn({ jobId: job.id }, "re-enqueued a job whose submit died before enqueueing it");
}

/** A job of the caller's tenant: live state from Redis, else the stored record from Postgres. */
export async function getJob(r: GatewayResources, p: Principal, id: string): Promise<JobView> {
  const live = await r.jobStore.get(id);
  if (live) {
    if (!owns(p, live)) throw notFound(id);
    return live.view.comparison ? liveComparison(r, live) : live.view;
  }
  // A comparison is rebuilt from its children's records (it has none of its own unless canceled or swept).
  const stored = await storedComparison(r, p, id, await findJob(r.db, p.tenantId, id, { apiKeyId: p.publishable ? p.keyId : undefined }));
  if (!stored) throw notFound(id);
  return stored;
}

/** Cancel: one terminal transition (409 if the job already ended), then abort the worker's call. */
export async function cancelJob(r: GatewayResources, p: Principal, id: string): Promise<JobView> {
  const live = await r.jobStore.get(id);
  if (!live || !owns(p, live)) {
    const stored = await findJob(r.db, p.tenantId, id, { apiKeyId: p.publishable ? p.keyId : undefined });
    if (!stored) throw notFound(id);
    throw new ApiError("job_already_terminal", `job ${id} already ended with status ${stored.status}`);
  }
  if (isTerminalStatus(live.status)) {
    // A cancel whose gateway died after the terminal transition is finished by its retry.
    if (live.status === "canceled") await afterCancel(r, live, live.view);
    throw new ApiError("job_already_terminal", `job ${id} already ended with status ${live.status}`);
  }
  if (live.view.comparison) return cancelComparison(r, live, (child) => cancelJob(r, p, child));
  const view: JobView = {
    ...live.view,
    status: "canceled",
    completed_at: new Date().toISOString(),
    error: { code: "canceled", message: "canceled by the client", reason: "canceled" },
  };
  const res = await r.jobStore.finish(view, { type: "error", data: { code: "canceled", message: "canceled by the client", reason: "canceled" } });
  if (res.kind === "already_terminal") throw new ApiError("job_already_terminal", `job ${id} already ended with status ${res.status}`);
  if (res.kind === "missing") throw notFound(id);
  await afterCancel(r, live, view);
  return view;
}

/**
 * What follows a cancel's terminal transition; every step is idempotent, so a retried cancel (or
 * the worker that next takes the job, for the release) can replay it after a crash.
 */
async function afterCancel(r: GatewayResources, live: { tenantId: string; deploymentId: string; apiKeyId: string | null }, view: JobView): Promise<void> {
  // Abort the upstream call wherever it runs; a job still waiting is simply dropped.
  await r.redis.publish(r.keys.cancelChannel(), view.id);
  await r.queues
    .queue("ai-route")
    .remove(view.id)
    .catch(() => 0);
  // A job waiting in its fair list leaves it (the dispatchers would drop it anyway), and a capped
  // deployment's slot it held is freed.
  const fair = fairReader(r);
  await fair.find(live.deploymentId, view.id, true);
  await fair.release(live.deploymentId, view.id);
  // Spend already incurred is settled by the worker; what was only held is freed now.
  await r.budgets.release(view.id);
  await saveFinishedJob(r.db, { view, tenant_id: live.tenantId, deployment_id: live.deploymentId, api_key_id: live.apiKeyId });
}

/** Another tenant's job, or for a publishable key another key's job, is "not found". */
const owns = (p: Principal, job: { tenantId: string; apiKeyId: string | null }) => job.tenantId === p.tenantId && (!p.publishable || job.apiKeyId === p.keyId);

export const notFound = (id: string) => new ApiError("job_not_found", `no job ${id}`, "id");
