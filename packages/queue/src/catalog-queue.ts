import { queueCatalog, type QueueName } from "@switchyard/contracts";
import {
  Queue,
  type BulkJobOptions,
  type Job,
  type JobSchedulerJson,
  type JobsOptions,
  type JobSchedulerTemplateOptions,
  type JobState,
  type JobType,
  type ObliterateOpts,
  type QueueOptions,
  type RepeatOptions,
} from "bullmq";
import { validatedPayload } from "./stored-payload";

/**
 * A job as read back from a queue. Its `data` is what Redis holds, typed `unknown`: a job added
 * by an older release, or by hand, need not fit today's schema, so a reader parses it (the
 * catalog's schema) before trusting a field.
 */
export type QueueJob = Job<unknown, unknown>;

/** The queue's retry policy from the catalog, under the caller's options (theirs win). */
export function catalogJobOptions<O extends JobsOptions | JobSchedulerTemplateOptions>(name: QueueName, opts: O): O {
  const { retry } = queueCatalog[name];
  return { attempts: retry.attempts, backoff: retry.backoff, ...opts };
}

/**
 * The reads and admin operations on one catalog queue (`QueueSet.queue(name)`). It has no add:
 * adding goes through `QueueSet.enqueue` / `enqueueBulk` / `enqueueFlow` / `schedule`, which
 * validate the payload against the catalog's schema.
 */
export interface CatalogQueue {
  readonly name: QueueName;
  getJob(jobId: string): Promise<QueueJob | undefined>;
  /** Jobs in `types`, `start`..`end` (inclusive) of each, oldest first when `asc`. */
  getJobs(types: JobType | JobType[], start?: number, end?: number, asc?: boolean): Promise<QueueJob[]>;
  getJobState(jobId: string): Promise<JobState | "unknown">;
  getJobCounts(...types: JobType[]): Promise<Partial<Record<JobType, number>>>;
  getJobCountByTypes(...types: JobType[]): Promise<number>;
  /** Workers connected to this queue, in every process. */
  getWorkersCount(): Promise<number>;
  isPaused(): Promise<boolean>;
  /** Remove a job (not one locked by a worker): 1 if removed, 0 if it or a dependency was locked. */
  remove(jobId: string, opts?: { removeChildren?: boolean }): Promise<number>;
  /** Move failed (or completed) jobs finished at or before `timestamp` back to waiting. */
  retryJobs(opts?: { count?: number; state?: "failed" | "completed"; timestamp?: number }): Promise<void>;
  /** A job scheduler (`QueueSet.schedule`): its repeat options, next run and template. */
  getJobScheduler(jobSchedulerId: string): Promise<JobSchedulerJson<unknown> | undefined>;
  getJobSchedulersCount(): Promise<number>;
  removeJobScheduler(jobSchedulerId: string): Promise<boolean>;
  /** Remove every waiting job (and delayed ones with `delayed`); active and finished ones stay. */
  drain(delayed?: boolean): Promise<void>;
  /** Destroy the queue and every job in it (tests and benches). */
  obliterate(opts?: ObliterateOpts): Promise<void>;
}

/**
 * BullMQ's `Queue` for one catalog queue, whose every add (`add`, `addBulk`, a job scheduler's
 * template) parses the data against the catalog's schema before anything reaches Redis, stores
 * it without its defaults, and applies the queue's retry policy. `QueueSet` builds its queues
 * from it, so even the handles given to bull-board cannot add an unvalidated job.
 */
export class CatalogBullQueue extends Queue<unknown, unknown> implements CatalogQueue {
  declare readonly name: QueueName;

  constructor(name: QueueName, opts: QueueOptions) {
    super(name, opts);
  }

  override async add(name: string, data: unknown, opts?: JobsOptions): Promise<QueueJob> {
    return super.add(name, validatedPayload(this.name, data), catalogJobOptions(this.name, opts ?? {}));
  }

  override async addBulk(jobs: Array<{ name: string; data: unknown; opts?: BulkJobOptions }>): Promise<QueueJob[]> {
    // Every payload is parsed before the first is added: one bad job adds none.
    const valid = jobs.map((j) => ({ name: j.name, data: validatedPayload(this.name, j.data), opts: catalogJobOptions(this.name, j.opts ?? {}) }));
    return super.addBulk(valid);
  }

  override async upsertJobScheduler(
    jobSchedulerId: string,
    repeatOpts: Omit<RepeatOptions, "key">,
    jobTemplate?: { name?: string; data?: unknown; opts?: JobSchedulerTemplateOptions },
  ): Promise<QueueJob> {
    return super.upsertJobScheduler(jobSchedulerId, repeatOpts, {
      name: jobTemplate?.name ?? this.name,
      data: validatedPayload(this.name, jobTemplate?.data),
      opts: catalogJobOptions(this.name, jobTemplate?.opts ?? {}),
    });
  }
}
