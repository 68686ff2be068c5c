/** What JobStore's operations answer: `CREATE_JOB`'s reply read, and the results of the other steps. */
import type { JobStatus, JobView } from "@switchyard/contracts";

/** Reads `CREATE_JOB`'s reply. */
export function readCreateReply(r: unknown): CreateResult {
  const a = r as string[];
  if (a[0] === "exists") return { kind: "exists", jobId: a[1]!, bodyHash: a[2]! };
  if (a[0] === "created") return { kind: "created" };
  throw new Error(`unexpected create-job reply ${JSON.stringify(r)}`);
}

export type CreateResult = { kind: "created" } | { kind: "exists"; jobId: string; bodyHash: string };
export type FinishResult = { kind: "finished"; eventId: string } | { kind: "already_terminal"; status: JobStatus } | { kind: "missing" };

/** A run whose spend is not yet accounted for: what it streamed, by which model. */
export interface UnbilledRun {
  run: number;
  /** Characters of every delta the run streamed (its restarts included). */
  chars: number;
  model: string;
}

/** What a delivery of a job finds when it starts (see {@link JobStore.startAttempt}). */
export interface AttemptStart {
  status: JobStatus;
  /** A usage event parked by an earlier delivery and not yet handed on (settle it, then send it). */
  pendingUsage: unknown;
  /** Runs so far (deliveries that reached a provider call) and waits (deliveries that found no model to call). */
  runs: number;
  waits: number;
  /** Runs whose answer had begun (the bound on paid re-executions counts these). */
  paid: number;
  /** The last run, when it began and was never accounted for (its process died). */
  unbilled: UnbilledRun | null;
  /** True when this start appended a `restart` event (earlier deltas were on screen). */
  restarted: boolean;
  /** The job's view as stored (read in the same step, so a delivery needs no second read); null if it has none. */
  view: JobView | null;
}

export type BeginRunResult =
  { kind: "ok"; run: number; paid: number; waits: number } | { kind: "max"; paid: number } | { kind: "ended"; status: JobStatus | null };
export type ParkUsageResult = { kind: "parked" } | { kind: "busy"; parked: unknown } | { kind: "missing" };
