/** The batch runner's metrics: `ai_batch_lines_total` and `ai_batches_paused`, one of each per registry. */
import type { BatchPausedReason } from "@switchyard/contracts";
import { countPausedBatches } from "@switchyard/db";
import type { MetricsRegistry } from "@switchyard/telemetry";
import type { GatewayResources } from "../resources";

/** A counter of a registry's meter. */
export type Counter = ReturnType<MetricsRegistry["meter"]["createCounter"]>;
const counters = new WeakMap<MetricsRegistry, Counter>();
const pausedGauges = new WeakSet<MetricsRegistry>();

/**
 * `ai_batches_paused{reason}`: running batches paused by their budget, read from Postgres at each
 * scrape (every gateway reports the same platform-wide count: aggregate with max, not sum).
 * Registered once per registry, however many runners share it.
 */
export function pausedBatchesGauge(r: GatewayResources): void {
  if (pausedGauges.has(r.registry)) return;
  pausedGauges.add(r.registry);
  r.registry.meter
    .createObservableGauge("ai_batches_paused", {
      description: "Running batches paused because their next line does not fit the budget (budget_exhausted) or the prepaid credits (credits_exhausted)",
    })
    .addCallback(async (o) => {
      const rows = await countPausedBatches(r.db).catch(() => null);
      if (!rows) return;
      const by = new Map(rows.map((x) => [x.reason, x.n]));
      for (const reason of ["budget_exhausted", "credits_exhausted"] satisfies BatchPausedReason[]) o.observe(by.get(reason) ?? 0, { reason });
    });
}

/** `ai_batch_lines_total{endpoint,result}`: batch lines settled, by how (done, failed, invalid, canceled, expired). */
export function batchLinesCounter(registry: MetricsRegistry): Counter {
  let c = counters.get(registry);
  if (!c) {
    c = registry.meter.createCounter("ai_batch_lines_total", {
      description: "Batch lines settled, by endpoint and result (done, failed, invalid, canceled, expired)",
    });
    counters.set(registry, c);
  }
  return c;
}
