/** What {@link startBatchRunner} takes (its options, every one with a default) and returns. */
import type { BatchThrottle, BatchThrottleOptions } from "./batch-throttle";
import type { FilesOptions } from "./files-service";

/** Options of {@link startBatchRunner}; every one has a default. */
export interface BatchRunnerOptions {
  /** Pause between rounds, ms. Default 1000. */
  pollMs?: number;
  /** Lines admitted per round of one batch. Default 50. */
  submitChunk?: number;
  /**
   * Lines of a round admitted at once (admission is mostly waiting on Redis and Postgres; one at a
   * time a busy gateway admitted ~12 lines/s). Default 4. A paused batch tries one line at a time.
   */
  admitConcurrency?: number;
  /** Most lines of one batch whose jobs may be unfinished at once (admitted, not yet collected). Default 200. */
  maxInFlight?: number;
  /**
   * How long a round's claim on a batch lasts; a runner that dies loses its batches to others after
   * it. Default 30 000; never less than the orphan age (`ORPHAN_AFTER_MS` + 1 s), so the runner that
   * takes over re-admits a line whose job was admitted but never enqueued as a replay that enqueues it.
   */
  leaseMs?: number;
  /**
   * How often a paused batch (budget or credits exhausted) tries its next line again, ms. Default
   * 60 000: each try is a refused admission, counted in `ai_budget_refusals_total` (whose
   * credit-refusal alert fires above one a minute), and a batch can wait a minute.
   */
  pauseRetryMs?: number;
  /** This runner's name in `batches.lease_owner`. Default a random UUID. */
  owner?: string;
  /** The file store and limits (the same as the Files API's). */
  files?: FilesOptions;
  /** How often this runner deletes expired files (`sweepExpiredFiles`), ms. Default 60 000. */
  fileSweepMs?: number;
  /**
   * The throttle across all batches (BATCH_MAX_IN_FLIGHT, AIMD on interactive pressure): a
   * {@link BatchThrottle} or its options. Default: one with its defaults.
   */
  throttle?: BatchThrottle | BatchThrottleOptions;
}

export interface BatchRunner {
  /** One round: claim the batch that waited longest, move it on, release it. True if there was one. */
  round(): Promise<boolean>;
  /** Stop after the round in progress. */
  close(): Promise<void>;
}
