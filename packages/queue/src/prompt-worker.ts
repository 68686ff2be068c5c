import { Worker, type Job } from "bullmq";

/**
 * A BullMQ `Worker` that starts a job as soon as it has taken it.
 *
 * BullMQ's main loop, having taken a job (one with a priority, as `ai-route` jobs are), first
 * tries to take another — one more `moveToActive` round trip to Redis — and only then starts the
 * one it holds: on an idle queue that round trip sits between every job's pickup and its
 * processor. Here the take attempt that follows a successful one in the same turn of the event
 * loop (no I/O in between: the loop asking again at once) answers "no job" without calling Redis,
 * so the loop starts the job it holds and looks for more right after, while the job runs. Any
 * later attempt goes to Redis as usual, so a marker consumed by a blocking wait is never wasted.
 *
 * It overrides BullMQ's protected `moveToActive` and `callProcessJob` (bullmq 6.x); with another
 * loop it degrades to BullMQ's own behaviour.
 */
export class PromptWorker extends Worker {
  /** A job was just taken and has not started: the take attempt that follows at once is skipped. */
  private holding = false;

  protected override async moveToActive(token: string, name?: string): Promise<Job> {
    if (this.holding) {
      this.holding = false;
      // "No job", which the loop answers by starting the job it holds. BullMQ's loop reads
      // `undefined` as that (its own moveToActive returns it when Redis has no job) although the
      // method is declared to always give a job, so the value must be cast to that declaration.
      return undefined as unknown as Job;
    }
    const job = await super.moveToActive(token, name);
    if (job) {
      this.holding = true;
      setImmediate(() => (this.holding = false));
    }
    return job;
  }

  protected override callProcessJob(job: Job, token: string, signal?: AbortSignal): Promise<unknown> {
    this.holding = false;
    return super.callProcessJob(job, token, signal);
  }
}
