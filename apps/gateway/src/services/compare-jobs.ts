import {
  ApiError,
  COMPARE_MODEL,
  compareChildId,
  endComparison,
  isTerminalStatus,
  MAX_COMPARE_MODELS,
  newId,
  queuedJobView,
  withComparison,
  type ComparisonChild,
  type CreateJobRequest,
  type EndUserTier,
  type JobView,
  type RoutingContext,
} from "@switchyard/contracts";
import { findJob, saveFinishedJob } from "@switchyard/db";
import { addCompareFlow, type CompareFlow, type StoredJob } from "@switchyard/queue";
import { addLogContext, injectTraceContext, MetricNames, type MetricsRegistry } from "@switchyard/telemetry";
import type { Principal } from "@switchyard/contracts";
import type { GatewayResources } from "../resources";
import { admitJob, jobBudget, jobSpend, type Admitted, type Spend } from "./admission";
import { checkModel } from "./check-model";
import type { DeploymentSettings } from "./deployment-cache";
import { boundedRoute, fairReader, gateSubmit } from "./fair-gate";
import { ORPHAN_AFTER_MS, routePayload } from "./job-payloads";

/**
 * Multi-model comparison (`compare` on `POST /v1/jobs`): one parent job and one child job per
 * model. Each child is an ordinary route job pinned to its model (its routing may use that model
 * alone, so no fallback lands on another), admitted like any job: it counts one request and its
 * tokens against the rate limits and holds its own budget reservation, and its usage is its own
 * ledger row. The children run in parallel as a BullMQ flow whose parent (`ai-compare`) ends the
 * parent job once they have all ended. The job store copies every event of a child to the
 * parent's stream, tagged with the child's model and id, in the same step.
 */

/** What a comparison admits, checked before any Redis step: its models and what each child may spend. */
export interface ComparePlan {
  models: string[];
  spends: Spend[];
}

/** The request a child runs: the parent's, on one model. */
function childRequest(req: CreateJobRequest, model: string): CreateJobRequest {
  const { compare: _models, ...rest } = req;
  return { ...rest, model };
}

/**
 * The checks of a comparison that need no Redis: the deployment's `multiModelComparison`
 * feature, each model as its own job would be checked (errors name `compare.<i>`), and each
 * child's spend.
 */
export async function planCompare(
  r: GatewayResources,
  req: CreateJobRequest,
  d: DeploymentSettings,
  ctx: RoutingContext,
  tier: EndUserTier | null,
): Promise<ComparePlan> {
  if (!d.features.multiModelComparison)
    throw new ApiError("feature_disabled", "compare: multi-model comparison needs the multiModelComparison feature on this deployment", "compare");
  if (req.rag)
    throw new ApiError("invalid_request", "rag: a comparison does not retrieve; send the documents' text in messages, or compare without rag", "rag");
  const models = req.compare ?? [];
  const spends: Spend[] = [];
  for (const [i, model] of models.entries()) {
    const child = childRequest(req, model);
    checkModel(r, child, ctx, d.features, `compare.${i}`);
    spends.push(await jobSpend(r, child, d, tier));
  }
  return { models, spends };
}

export type CompareAdmission = { kind: "exists"; jobId: string; bodyHash: string } | { kind: "created"; view: JobView; headers: Record<string, string> };

/**
 * Create the parent (claiming the idempotency key: a replay spends nothing), admit each child
 * (rate limits and budget, one script each), link the children to the parent and enqueue the
 * flow. A refusal or a failed enqueue undoes what was created and reserved; rate-limit counts of
 * children admitted before a refusal stay counted (a refused comparison is rare, and the counts
 * expire with their windows).
 */
export async function admitCompare(
  r: GatewayResources,
  p: Principal,
  req: CreateJobRequest,
  d: DeploymentSettings,
  ctx: RoutingContext,
  plan: ComparePlan,
  idem: { key: string; bodyHash: string } | undefined,
): Promise<CompareAdmission> {
  const now = new Date();
  const parentId = newId("job", now.getTime());
  addLogContext({ jobId: parentId });
  const children = plan.models.map((model, i) => ({
    model,
    job_id: compareChildId(parentId, i),
    view: queuedJobView(compareChildId(parentId, i), model, now, req.metadata),
  }));
  const parent = withComparison(queuedJobView(parentId, COMPARE_MODEL, now, req.metadata), children);
  const created = await r.jobStore.create({
    view: parent,
    tenantId: p.tenantId,
    deploymentId: p.deploymentId,
    apiKeyId: p.keyId,
    idempotency: idem ? { ...idem, ttlSeconds: r.config.idempotencyTtlSeconds } : undefined,
  });
  if (created.kind === "exists") return created;
  const admitted: Admitted[] = [];
  try {
    await admitAndEnqueue(r, p, req, d, ctx, plan, parent, admitted, false);
  } catch (err) {
    await undoCompare(
      r,
      p,
      parentId,
      children.slice(0, admitted.length).map((c) => c.job_id),
      idem?.key,
    );
    if (err instanceof ApiError) throw err;
    r.logger.warn({ err: (err as Error).message }, "comparison not enqueued");
    throw new ApiError("service_unavailable", "could not enqueue the comparison; try again", undefined, { "Retry-After": "1" });
  }
  compareCounter(r.registry).add(1, { models: [...plan.models].sort().join(",") });
  r.logger.info(
    { models: plan.models, deploymentId: p.deploymentId, reservedUsd: admitted.reduce((n, a) => n + a.budget.reserved_usd, 0) },
    "comparison accepted",
  );
  return { kind: "created", view: parent, headers: admitted.at(-1)?.headers ?? {} };
}

/**
 * Admit the children of `parent` in order (pushing each admission to `admitted`), link them to it
 * and enqueue the flow. With `reuse`, a child that already exists (admitted by a submit that died
 * before its enqueue) keeps its record and reservation, and only the missing ones are admitted.
 */
async function admitAndEnqueue(
  r: GatewayResources,
  p: Principal,
  req: CreateJobRequest,
  d: DeploymentSettings,
  ctx: RoutingContext,
  plan: ComparePlan,
  parent: JobView,
  admitted: Admitted[],
  reuse: boolean,
): Promise<void> {
  const owner = { tenantId: p.tenantId, deploymentId: p.deploymentId, apiKeyId: p.keyId };
  const children = plan.models.map((model, i) => ({ model, job_id: compareChildId(parent.id, i) }));
  for (const [i, c] of children.entries()) {
    if (reuse && (await r.jobStore.get(c.job_id))) {
      admitted.push({ budget: jobBudget(d, plan.spends[i]!), budgetUsedRatio: 0, headers: {} });
      continue;
    }
    const a = await admitJob(
      r,
      c.job_id,
      d,
      plan.spends[i]!,
      r.jobStore.prepareCreate({ view: queuedJobView(c.job_id, c.model, new Date(parent.created_at), req.metadata), ...owner }),
    );
    if (a.kind !== "created") throw new Error(`child ${c.job_id} has no idempotency key to find claimed`);
    admitted.push(a);
  }
  await r.jobStore.linkChildren(parent.id, children);
  const flow: CompareFlow = {
    parent: {
      job_id: parent.id,
      tenant_id: p.tenantId,
      deployment_id: p.deploymentId,
      api_key_id: p.keyId,
      children,
      created_at: parent.created_at,
      trace: injectTraceContext(),
    },
    children: children.map((c, i) =>
      boundedRoute(
        routePayload(
          p,
          childRequest(req, c.model),
          { ...ctx, allowed_models: [c.model], budget_used_ratio: admitted[i]!.budgetUsedRatio },
          admitted[i]!.budget,
          c.job_id,
          parent.created_at,
        ),
        d,
      ),
    ),
  };
  // One unit for the fair gate (one turn, one slot of a capped deployment), under the parent's id.
  if ((await gateSubmit(r, { ...flow.children[0]!, job_id: parent.id, compare_flow: flow }, d)) === "queued") return;
  await addCompareFlow(r.queues, flow);
  r.metrics.countEnqueue("ai-compare");
  for (let i = 0; i < children.length; i++) r.metrics.countEnqueue("ai-route");
}

/**
 * Replays finish a comparison whose submit died between creating its parent and enqueueing it
 * (the replayed body is the same request, by its hash): the children it had admitted are kept,
 * the others admitted now, and the flow enqueued. A failure is logged; the stuck-job sweeper ends
 * a comparison that never runs.
 */
export async function enqueueIfOrphanedCompare(
  r: GatewayResources,
  p: Principal,
  req: CreateJobRequest,
  d: DeploymentSettings,
  ctx: RoutingContext,
  plan: ComparePlan,
  jobId: string,
): Promise<void> {
  // The parent's own record: it stays `queued` until the comparison ends (its view reads `running` from its children).
  const job = await r.jobStore.get(jobId);
  if (!job || job.status !== "queued" || Date.now() - Date.parse(job.view.created_at) < ORPHAN_AFTER_MS) return;
  if (await r.queues.queue("ai-compare").getJob(job.view.id)) return;
  // Waiting in its fair list is not orphaned: the dispatchers will add it.
  if (await fairReader(r).find(d.id, job.view.id)) return;
  try {
    await admitAndEnqueue(r, p, req, d, ctx, plan, job.view, [], true);
    r.logger.warn({ jobId }, "re-enqueued a comparison whose submit died before enqueueing it");
  } catch (err) {
    r.logger.warn({ jobId, err: (err as Error).message }, "could not re-enqueue an orphaned comparison");
  }
}

/** Take back a comparison that could not be admitted or enqueued: its jobs, their reservations, the idempotency claim. */
async function undoCompare(r: GatewayResources, p: Principal, parentId: string, childIds: string[], idemKey: string | undefined): Promise<void> {
  await Promise.all(
    childIds.map(async (id) => {
      await r.jobStore.discard(id, p.tenantId).catch(() => undefined);
      await r.budgets.release(id).catch(() => false);
    }),
  );
  await r.jobStore.discard(parentId, p.tenantId, idemKey).catch(() => undefined);
}

type Counter = ReturnType<MetricsRegistry["meter"]["createCounter"]>;
const counters = new WeakMap<MetricsRegistry, Counter>();
/** `ai_compare_jobs_total{models}`: comparisons admitted, by their models (sorted, comma-joined). */
function compareCounter(registry: MetricsRegistry): Counter {
  let c = counters.get(registry);
  if (!c) {
    c = registry.meter.createCounter(MetricNames.compareJobs, { description: "Multi-model comparisons admitted, by the models compared" });
    counters.set(registry, c);
  }
  return c;
}

/** A live comparison's view with each child's state as it stands (a finished one already holds it). */
export async function liveComparison(r: GatewayResources, live: StoredJob): Promise<JobView> {
  const entries = live.view.comparison;
  if (!entries || isTerminalStatus(live.status)) return live.view;
  const kids = await Promise.all(entries.map((c) => r.jobStore.get(c.job_id)));
  return withComparison(
    live.view,
    entries.map((c, i) => ({ model: c.model, job_id: c.job_id, view: kids[i]?.view ?? null })),
  );
}

/**
 * A comparison no longer in Redis, rebuilt from its children's stored records (the parent's own
 * record, when a cancel or the stuck-job sweeper stored one, gives its status). A finished
 * comparison is not stored apart from its children: they hold every answer and every cost.
 */
export async function storedComparison(r: GatewayResources, p: Principal, id: string, stored: JobView | undefined): Promise<JobView | undefined> {
  if (stored && stored.model !== COMPARE_MODEL) return stored;
  const apiKeyId = p.publishable ? p.keyId : undefined;
  const ids = Array.from({ length: MAX_COMPARE_MODELS }, (_, i) => compareChildId(id, i));
  const found = await r.db.selectFrom("jobs").select("id").where("id", "in", ids).where("tenant_id", "=", p.tenantId).execute();
  if (found.length === 0) return stored;
  const views = (await Promise.all(ids.filter((c) => found.some((f) => f.id === c)).map((c) => findJob(r.db, p.tenantId, c, { apiKeyId })))).filter(
    (v): v is JobView => !!v,
  );
  if (views.length === 0) return stored;
  const children: ComparisonChild[] = views.map((v) => ({ model: v.model, job_id: v.id, view: v }));
  if (stored) return withComparison(stored, children);
  const first = views[0]!;
  const ended = views
    .map((v) => v.completed_at ?? v.created_at)
    .sort()
    .at(-1)!;
  return endComparison(queuedJobView(id, COMPARE_MODEL, new Date(first.created_at), first.metadata), children, new Date(ended));
}

/**
 * Cancel a comparison: every child that has not ended is canceled as any job is (its call
 * aborted, its reservation released), then the parent ends `canceled` with the children's state.
 */
export async function cancelComparison(r: GatewayResources, live: StoredJob, cancelChild: (id: string) => Promise<unknown>): Promise<JobView> {
  const entries = live.view.comparison ?? [];
  for (const c of entries) {
    await cancelChild(c.job_id).catch((err: unknown) => {
      if (!(err instanceof ApiError && (err.code === "job_already_terminal" || err.code === "job_not_found"))) throw err;
    });
  }
  const kids = await Promise.all(entries.map((c) => r.jobStore.get(c.job_id)));
  const view = endComparison(
    live.view,
    entries.map((c, i) => ({ model: c.model, job_id: c.job_id, view: kids[i]?.view ?? null })),
    new Date(),
    "canceled",
  );
  const res = await r.jobStore.finish(view, { type: "error", data: { code: "canceled", message: "canceled by the client", reason: "canceled" } });
  // Canceling the last child can let the flow's parent run and end the comparison canceled first.
  if (res.kind === "already_terminal" && res.status === "canceled") {
    const ended = await r.jobStore.get(view.id);
    if (ended) return ended.view;
  }
  if (res.kind === "already_terminal") throw new ApiError("job_already_terminal", `job ${view.id} already ended with status ${res.status}`);
  if (res.kind === "missing") throw new ApiError("job_not_found", `no job ${view.id}`, "id");
  await r.queues
    .queue("ai-compare")
    .remove(view.id)
    .catch(() => 0);
  await saveFinishedJob(r.db, { view, tenant_id: live.tenantId, deployment_id: live.deploymentId, api_key_id: live.apiKeyId });
  return view;
}
