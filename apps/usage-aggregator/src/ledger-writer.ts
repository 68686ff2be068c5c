import type { UsageDeadLetterReason, UsageEvent } from "@switchyard/contracts";
import { ingestUsageEvents, recordUsageDeadLetter, saveFinishedJobs, type Database, type UsagePartitions } from "@switchyard/db";
import { createLogger, createMetricsRegistry, MetricNames, type Logger, type MetricsRegistry } from "@switchyard/telemetry";
import type { Kysely } from "kysely";
import { isolatePoison } from "./isolate-poison";
import { classifyWriteError, type WriteErrorClass } from "./write-errors";

/** One usage event as taken off `ai-usage`: parsed, and as received (what a dead letter keeps). */
export interface UsageDelivery {
  event: UsageEvent;
  raw: unknown;
  queueJobId: string | null;
}

export interface LedgerWriterOptions {
  db: Kysely<Database>;
  partitions: UsagePartitions;
  /** Default: a registry of its own (the counters are then not exported). */
  registry?: MetricsRegistry;
  /** Default: a `usage-aggregator` logger at level info. */
  logger?: Logger;
  /** Called after each transaction commits, with its events (daily-cost alerts); an error is logged, never retried. */
  afterCommit?: (events: UsageEvent[]) => Promise<void>;
}

export interface LedgerWriter {
  /** Write a micro-batch; one outcome per delivery (`undefined`: written or dead-lettered; an error: retry it). */
  flush(deliveries: UsageDelivery[]): Promise<unknown[]>;
  /** Set aside a payload that failed the consumer's schema (already failed, without retries, by `defineProcessor`). */
  deadLetterInvalid(raw: unknown, queueJobId: string | null, error: string): Promise<{ id: string; recorded: boolean }>;
}

const REASONS: readonly UsageDeadLetterReason[] = ["data_error", "invalid_payload"];

/**
 * The usage ledger writer: each transaction inserts the events once per (job, attempt), bumps
 * rollups from the rows actually inserted, stores finished jobs and debits prepaid credits. A
 * batch Postgres refuses for its data is split until the event at fault stands alone; that event
 * goes to `usage_dead_letters` and its queue job is acknowledged, while the rest commit. Transient
 * failures fail the batch, for BullMQ to retry (never dead-lettered).
 */
export function createLedgerWriter(opts: LedgerWriterOptions): LedgerWriter {
  const o = {
    ...opts,
    registry: opts.registry ?? createMetricsRegistry({ serviceName: "usage-aggregator" }),
    logger: opts.logger ?? createLogger({ name: "usage-aggregator" }),
  };
  const inserted = o.registry.meter.createCounter(MetricNames.usageRowsInserted, { description: "Usage rows written to the ledger" });
  const duplicates = o.registry.meter.createCounter(MetricNames.usageDuplicates, { description: "Usage events already in the ledger (re-deliveries)" });
  const deadLetters = o.registry.meter.createCounter(MetricNames.usageDeadLetters, { description: "Usage events set aside in usage_dead_letters, by reason" });
  // A closed set: start at zero so `increase()` sees the first dead letter.
  for (const reason of REASONS) deadLetters.add(0, { reason });
  const batchSize = o.registry.meter.createHistogram("ai_usage_batch_size", { description: "Usage events per ledger transaction" });

  const write = async (deliveries: UsageDelivery[]) => {
    const events = deliveries.map((d) => d.event);
    // Inside the isolated write, so a date no partition can hold is blamed on its event.
    await o.partitions.ensureFor(events.map((e) => e.occurred_at));
    const finished = events
      .filter((e) => e.job)
      .map((e) => ({ view: e.job!, tenant_id: e.tenant_id, deployment_id: e.deployment_id, api_key_id: e.api_key_id }));
    // Usage rows, rollups and prepaid debits are one statement; finished jobs, when there are
    // any, join it in one transaction (without them no BEGIN/COMMIT round trips are spent).
    const r = await ingestUsageEvents(o.db, events, finished.length ? { inTransaction: (trx) => saveFinishedJobs(trx, finished) } : {});
    batchSize.record(events.length);
    inserted.add(r.inserted);
    duplicates.add(r.duplicates);
    // After the commit: a failure here must not make a written batch look unwritten.
    await o.afterCommit?.(events).catch((err: Error) => o.logger.warn({ err: err.message }, "after-commit step failed"));
  };

  const record = async (reason: UsageDeadLetterReason, raw: unknown, queueJobId: string | null, error: string, sqlstate: string | null) => {
    const r = await recordUsageDeadLetter(o.db, { event: raw, queueJobId, reason, error, sqlstate });
    if (r.recorded) deadLetters.add(1, { reason });
    return r;
  };

  const poison = async (d: UsageDelivery, why: WriteErrorClass) => {
    const r = await record("data_error", d.raw, d.queueJobId, why.message, why.sqlstate);
    o.logger.error(
      {
        deadLetterId: r.id,
        jobId: d.event.job_id,
        attempt: d.event.attempt,
        tenantId: d.event.tenant_id,
        queueJobId: d.queueJobId,
        sqlstate: why.sqlstate,
        err: why.message,
        recorded: r.recorded,
      },
      "usage event refused by the ledger; set aside in usage_dead_letters",
    );
  };

  return {
    flush: (deliveries) => isolatePoison(deliveries, { write, classify: classifyWriteError, poison }),
    async deadLetterInvalid(raw, queueJobId, error) {
      const r = await record("invalid_payload", raw, queueJobId, error, null);
      o.logger.error({ deadLetterId: r.id, queueJobId, err: error, recorded: r.recorded }, "usage event does not parse; set aside in usage_dead_letters");
      return r;
    },
  };
}
