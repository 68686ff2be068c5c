import type { WaitReason, ModelCatalog } from "@switchyard/contracts";
import type { ProviderRegistry } from "@switchyard/providers";
import type { JobStore, QueueSet } from "@switchyard/queue";
import type { AlertFirer, BudgetLedger, BudgetUsedRatios } from "@switchyard/admission";
import type { CircuitBreakers } from "@switchyard/routing";
import type { ProcessMetrics } from "@switchyard/runtime";
import type { Logger } from "@switchyard/telemetry";
import type { CancelRegistry } from "./cancel-listener";
import type { Fault } from "./fault-points";
import type { FairMetrics } from "./fair-metrics";

/** What a route job's processing uses: the router-worker's resources (built once in worker.ts). */
export interface RouteDeps {
  jobStore: JobStore;
  queues: QueueSet;
  catalog: ModelCatalog;
  providers: ProviderRegistry;
  breakers: CircuitBreakers;
  budgets: BudgetLedger;
  /** Alerts: budget thresholds crossed when spend is settled. */
  alerts: AlertFirer;
  cancels: CancelRegistry;
  metrics: ProcessMetrics;
  /** Each deployment's budget use as settlement last read it (the `budget_used_ratio` gauge). */
  budgetRatios: BudgetUsedRatios;
  logger: Logger;
  /** Upper bound on attempts of one job that reach a provider (paid re-executions). */
  maxStartedAttempts: number;
  /** How long a job may wait for an unavailable upstream (open breakers, 429/5xx, dead connections) before it fails. */
  maxUpstreamWaitMs: number;
  /** Crash-test hook called at each fault point ({@link noFaults} in production). */
  fault: Fault;
  /** `ai_job_waits_total{reason}`. */
  waitMetrics: { waited(reason: WaitReason): void };
  /** `ai_queue_wait_seconds` and `ai_fair_dispatch_total` (absent in tests that build deps by hand). */
  fairMetrics?: FairMetrics;
}
