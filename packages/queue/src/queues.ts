import { queueCatalog, type QueueInput, type QueueName, type QueuePayload } from "@switchyard/contracts";
import { Queue, UnrecoverableError, Worker, type Job, type JobsOptions, type WorkerOptions } from "bullmq";
import type { Redis } from "ioredis";
import type { RedisKeys } from "./keys";

/** Finished BullMQ jobs are kept this long (the job's own state lives in our hash and in Postgres). */
const KEEP = { removeOnComplete: { age: 3600, count: 10_000 }, removeOnFail: { age: 24 * 3600, count: 10_000 } };

export interface QueueSet {
  get<Q extends QueueName>(name: Q): Queue;
  /** Validate the payload against the catalog, then add it with the queue's retry policy. */
  enqueue<Q extends QueueName>(name: Q, payload: QueueInput<Q>, opts?: JobsOptions): Promise<Job>;
  close(): Promise<void>;
}

export function createQueueSet(opts: { connection: Redis; keys: RedisKeys; onEnqueue?: (queue: QueueName) => void }): QueueSet {
  const queues = new Map<QueueName, Queue>();
  const get = (name: QueueName): Queue => {
    let q = queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: opts.connection, prefix: opts.keys.bullPrefix });
      queues.set(name, q);
    }
    return q;
  };
  return {
    get,
    async enqueue(name, payload, jobOpts) {
      const entry = queueCatalog[name];
      const data = entry.schema.parse(payload);
      const job = await get(name).add(name, data, { attempts: entry.retry.attempts, backoff: entry.retry.backoff, ...KEEP, ...jobOpts });
      opts.onEnqueue?.(name);
      return job;
    },
    async close() {
      await Promise.all([...queues.values()].map((q) => q.close()));
    },
  };
}

/**
 * A typed BullMQ worker: `job.data` is `safeParse`d against the catalog; a bad payload fails
 * the job without retries, with the validation problems in the reason.
 */
export function defineProcessor<Q extends QueueName>(
  name: Q,
  fn: (payload: QueuePayload<Q>, job: Job, token: string | undefined) => Promise<unknown>,
  opts: Omit<WorkerOptions, "prefix"> & { keys: RedisKeys },
): Worker {
  const { keys, ...workerOpts } = opts;
  return new Worker(
    name,
    async (job: Job, token?: string) => {
      const parsed = queueCatalog[name].schema.safeParse(job.data);
      if (!parsed.success) {
        const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
        throw new UnrecoverableError(`invalid ${name} payload for job ${job.id}: ${problems}`);
      }
      return fn(parsed.data as QueuePayload<Q>, job, token);
    },
    { ...workerOpts, prefix: keys.bullPrefix },
  );
}
