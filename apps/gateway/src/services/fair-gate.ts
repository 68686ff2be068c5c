import { envBoolean, envInt, isTerminalStatus, parseEnv, type JobView, type RouteJobPayload } from "@switchyard/contracts";
import { saveFinishedJob } from "@switchyard/db";
import { addCompareFlow, FairScheduler, type FairEntry, type FairJobRef, type FairPayload, type FairSettings, type FairSubmitted } from "@switchyard/queue";
import { z } from "zod";
import type { GatewayResources } from "../resources";
import type { DeploymentSettings } from "./deployment-cache";

/** The gateway's fair-scheduling switches (validated at start with the rest of env.ts; read here once). */
const FairEnv = z.object({ FAIR_SCHEDULING: envBoolean(true), FAIR_DISPATCH_AHEAD: envInt(0, 0) });

/** How often a gateway ends jobs that waited in the fair lists past their max_queue_ms. */
const EXPIRY_SWEEP_MS = 250;

let fairEnv: z.infer<typeof FairEnv> | null = null;
const gates = new WeakMap<object, FairScheduler | null>();

/**
 * The fair scheduler of a gateway's Redis, or null with FAIR_SCHEDULING=off (jobs then go straight
 * to BullMQ, as before fair scheduling). One per resources bundle; the first use starts the
 * bundle's expiry sweep, so a job past its `max_queue_ms` ends on time even while no router-worker
 * runs (the dispatchers sweep too: whichever takes an entry ends it).
 */
export function fairGate(r: GatewayResources): FairScheduler | null {
  let gate = gates.get(r);
  if (gate === undefined) {
    fairEnv ??= parseEnv(FairEnv, process.env);
    gate = fairEnv.FAIR_SCHEDULING ? new FairScheduler({ redis: r.redis, keys: r.keys, dispatchAhead: fairEnv.FAIR_DISPATCH_AHEAD }) : null;
    gates.set(r, gate);
    if (gate) startExpirySweep(r, gate);
  }
  return gate;
}

/**
 * A route payload with its deployment's queue settings folded in: `max_queue_ms` the lower of the
 * request's and the deployment's, and the fields the worker's metrics and cap release read.
 */
export function boundedRoute(payload: RouteJobPayload, deployment: DeploymentSettings): RouteJobPayload {
  const own = payload.request.max_queue_ms;
  const maxQueueMs = deployment.maxQueueMs !== null && (own === undefined || deployment.maxQueueMs < own) ? deployment.maxQueueMs : own;
  return {
    ...payload,
    request: { ...payload.request, max_queue_ms: maxQueueMs },
    queue: { tenant_class: deployment.type, capped: deployment.maxConcurrentJobs !== null },
  };
}

/**
 * Through the fair gate (a {@link boundedRoute} payload): "queued" when it waits in its fair list
 * (nothing more to do), else the caller adds it to BullMQ ("direct-behind": one priority lower).
 * With FAIR_SCHEDULING=off always "direct".
 */
export async function gateSubmit(r: GatewayResources, payload: FairPayload, deployment: DeploymentSettings): Promise<FairSubmitted> {
  const gate = fairGate(r);
  if (!gate) return "direct";
  return gate.submit(payload, fairSettings(deployment), deadlineOf(payload));
}

/**
 * The gate's decision half for a job about to be created, to run inside the admission script (one
 * round trip for both); null with FAIR_SCHEDULING=off. A "queue" answer is followed by {@link gatePush}.
 */
export function gateDecision(r: GatewayResources, ref: FairJobRef, deployment: DeploymentSettings): { keys: string[]; argv: string[] } | null {
  return fairGate(r)?.prepareDecide(ref, fairSettings(deployment)) ?? null;
}

/** Queue a {@link boundedRoute} payload whose admission decided "queue" in its fair list. */
export async function gatePush(r: GatewayResources, payload: FairPayload): Promise<void> {
  await fairReader(r).push(payload, deadlineOf(payload));
}

function fairSettings(deployment: DeploymentSettings): FairSettings {
  return { weight: deployment.queueWeight, maxConcurrentJobs: deployment.maxConcurrentJobs, tenantClass: deployment.type };
}

/** When the job must have begun (0: no bound). */
function deadlineOf(payload: FairPayload): number {
  const maxQueueMs = payload.request.max_queue_ms;
  return maxQueueMs === undefined ? 0 : Date.parse(payload.created_at) + maxQueueMs;
}

/** A fair-list reader whatever the switch says (ops views count what waits there, e.g. after turning it off). */
export function fairReader(r: GatewayResources): FairScheduler {
  return fairGate(r) ?? new FairScheduler({ redis: r.redis, keys: r.keys });
}

function startExpirySweep(r: GatewayResources, gate: FairScheduler): void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    void expireDue(r, gate)
      .catch((err: Error) => r.logger.debug({ err: err.message }, "fair expiry sweep failed; retrying"))
      .finally(() => (running = false));
  }, EXPIRY_SWEEP_MS);
  // Nothing to close at shutdown: an entry taken and not ended is handed on by a dispatcher's recovery.
  timer.unref();
}

/** End the jobs waiting in the fair lists past their max_queue_ms: failed, queue_timeout, reservation released, one terminal event. */
async function expireDue(r: GatewayResources, gate: FairScheduler): Promise<void> {
  for (const e of await gate.takeExpired()) {
    // A comparison goes on to BullMQ: each of its jobs carries the bound and ends queue_timeout as a worker reaches it.
    if (e.payload.compare_flow) await addCompareFlow(r.queues, e.payload.compare_flow);
    else await endWaiting(r, e);
    if (e.payload.queue?.capped) await gate.release(e.payload.deployment_id, e.jobId);
    await gate.dispatched(e);
  }
}

async function endWaiting(r: GatewayResources, e: FairEntry): Promise<void> {
  const live = await r.jobStore.get(e.jobId);
  if (!live || isTerminalStatus(live.status)) return;
  const waited = Date.now() - e.createdMs;
  const error = {
    code: "queue_timeout",
    message: `the job waited ${waited} ms to start, past its max_queue_ms of ${e.payload.request.max_queue_ms ?? 0}`,
    reason: "queue_timeout" as const,
  };
  const view: JobView = { ...live.view, status: "failed", completed_at: new Date().toISOString(), error };
  const res = await r.jobStore.finish(view, { type: "error", data: error });
  if (res.kind !== "finished") return;
  // What was only held is freed; the record is kept as every ended job's is.
  await r.budgets.release(e.jobId);
  await saveFinishedJob(r.db, { view, tenant_id: live.tenantId, deployment_id: live.deploymentId, api_key_id: live.apiKeyId });
}
