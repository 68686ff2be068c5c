import { envBoolean, envInt, isTerminalStatus, parseEnv, type JobView } from "@switchyard/contracts";
import { saveFinishedJob } from "@switchyard/db";
import { FairScheduler, type FairEntry } from "@switchyard/queue";
import { z } from "zod";
import type { GatewayResources } from "../resources";

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

/** End the jobs at the heads of the fair lists past their max_queue_ms: failed, queue_timeout, reservation released, one terminal event. */
async function expireDue(r: GatewayResources, gate: FairScheduler): Promise<void> {
  for (const e of await gate.takeExpired()) {
    await endWaiting(r, e);
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
