import type { JobStatus } from "@switchyard/contracts";
import { UnrecoverableError } from "bullmq";

/** Terminal statuses BullMQ records as failed: the job ended with an `error` event that no client asked for. */
const FAILED_IN_QUEUE: ReadonlySet<JobStatus> = new Set(["failed", "incomplete"]);

/**
 * Thrown once a job's terminal state (`failed` or `incomplete`) is written and accounted for, so
 * that BullMQ records the queue job as failed without retrying it (`UnrecoverableError`): the
 * dashboard's Failed tab and `retry-failed` see it, and BullMQ keeps it for `removeOnFail`. The
 * message starts with the job's error code. Detect by `name` (a workspace can hold two copies).
 */
export class JobFailed extends UnrecoverableError {
  readonly jobFailed = true;
  constructor(
    readonly status: JobStatus,
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
    // BullMQ decides "do not retry" by this name; ours is told apart by `jobFailed`.
    this.name = "UnrecoverableError";
    // BullMQ keeps a failed job's stack for removeOnFail's 24 h; a job's failure has no useful one.
    this.stack = `JobFailed: ${this.message}`;
  }
}

/** A {@link JobFailed} (from this copy of the module or another). */
export function isJobFailed(err: unknown): err is JobFailed {
  return typeof err === "object" && err !== null && (err as { jobFailed?: unknown }).jobFailed === true;
}

/**
 * After a job's terminal state is written: throw {@link JobFailed} when BullMQ should record the
 * delivery as failed, else return the status (a succeeded or canceled job completes).
 */
export function endInQueue(status: JobStatus, error: { code: string; message: string } | null | undefined): JobStatus {
  if (FAILED_IN_QUEUE.has(status)) throw new JobFailed(status, error?.code ?? status, error?.message ?? `job ${status}`);
  return status;
}
