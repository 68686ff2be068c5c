import { RouteJobPayload, UsageEvent, type JobView, type ModelCatalog } from "@switchyard/contracts";
import type { BudgetLedger } from "@switchyard/admission";
import { deadRunUsage } from "@switchyard/providers";
import type { JobStore, QueueSet } from "@switchyard/queue";
import type { Logger } from "@switchyard/telemetry";

export interface DeadRunBillerOptions {
  jobStore: JobStore;
  queues: QueueSet;
  budgets: BudgetLedger;
  catalog: ModelCatalog;
  logger: Logger;
  onEnqueue?: () => void;
}

/**
 * Bills what a stuck job's dead deliveries left unbilled before the sweeper fails it: a usage
 * event parked by a delivery that died before handing it on, and the run whose process died
 * after its answer began (from the job's tally, provenance `partial`). Each step replays safely,
 * so a sweeper that dies part-way repeats it on its next pass: settlement is once per (job,
 * attempt), the enqueue is deduplicated by the BullMQ job id `u-<job>-<attempt>`, and the tally
 * is closed (by parking the already-enqueued event) last.
 */
export function deadRunBiller(o: DeadRunBillerOptions): (jobId: string, view: JobView) => Promise<void> {
  const handOn = async (payload: RouteJobPayload, ev: UsageEvent) => {
    const b = payload.budget;
    if (b.scopes.length > 0 || b.credits_tenant_id) {
      await o.budgets.settle(
        payload.job_id,
        ev.attempt,
        { usd: ev.cost_usd, tokens: ev.input_tokens + ev.output_tokens },
        { final: false, scopes: b.scopes, creditsTenantId: b.credits_tenant_id ?? undefined },
      );
    }
    await o.queues.enqueue("ai-usage", ev, { jobId: `u-${ev.job_id}-${ev.attempt}` });
    o.onEnqueue?.();
  };
  return async (jobId, view) => {
    const [parked, run] = await Promise.all([o.jobStore.parkedUsage(jobId), o.jobStore.unbilledRun(jobId)]);
    const dead = run && run.chars > 0 ? run : null;
    if (!parked && !dead) return;
    const parsed = RouteJobPayload.safeParse(await o.jobStore.payload(jobId));
    if (!parsed.success) {
      o.logger.error({ jobId, err: parsed.error.message }, "cannot bill a stuck job's dead run: its payload does not parse");
      return;
    }
    const payload = parsed.data;
    if (parked) {
      const earlier = UsageEvent.parse(parked);
      await handOn(payload, earlier);
      await o.jobStore.usageHandedOn(jobId, earlier.attempt);
    }
    if (!dead) return;
    const ev = deadRunUsage({ payload, run: dead, catalog: o.catalog, servedModel: view.served_model });
    await handOn(payload, ev);
    // Closing the tally comes last: until then a sweeper that died here bills the run again, harmlessly.
    await o.jobStore.parkUsage(jobId, ev, dead.run);
    await o.jobStore.usageHandedOn(jobId, ev.attempt);
    o.logger.warn({ jobId, run: dead.run, chars: dead.chars, costUsd: ev.cost_usd }, "billed a stuck job's dead run (partial)");
  };
}
