import { QUEUE_NAMES, queueCatalog, type QueueInput, type QueueName, type QueuePayload } from "@switchyard/contracts";
import {
  FlowProducer,
  UnrecoverableError,
  type Job,
  type JobsOptions,
  type JobSchedulerTemplateOptions,
  type Queue,
  type RepeatOptions,
  type WorkerOptions,
  type Worker,
} from "bullmq";
import type { Redis } from "./redis";
import type { RedisKeys } from "./keys";
import { CatalogBullQueue, catalogJobOptions, type CatalogQueue, type QueueJob } from "./catalog-queue";
import { PromptWorker } from "./prompt-worker";
import { validatedPayload } from "./stored-payload";

export { storedPayload } from "./stored-payload";
export type { CatalogQueue, QueueJob } from "./catalog-queue";

/**
 * Finished BullMQ jobs are kept this long (the job's own state lives in our hash and in Postgres).
 * It is the workers' setting ({@link defineProcessor}), which BullMQ applies to every job that
 * names none of its own, rather than each job's: stored in every job's `opts`, it cost each
 * waiting job 115 bytes of Redis. A job (or a caller's `opts`) that names its own still wins.
 */
export const KEEP_FINISHED = { removeOnComplete: { age: 3600, count: 10_000 }, removeOnFail: { age: 24 * 3600, count: 10_000 } } as const;

/** One job of a flow: a catalog queue, its payload (validated) and job options. */
export type FlowJob<Q extends QueueName = QueueName> = { [N in Q]: { name: N; payload: QueueInput<N>; opts?: JobsOptions } }[Q];

/**
 * Every catalog queue of one prefix, typed end to end: adds take the payload type the catalog
 * infers and parse it against the catalog's schema before anything reaches Redis (a payload that
 * does not parse throws zod's error and adds nothing); reads and admin go through
 * {@link QueueSet.queue}, which has no add.
 */
export interface QueueSet {
  /** Reads and admin operations on one queue (no add: use the `enqueue` calls). */
  queue(name: QueueName): CatalogQueue;
  /** Validate the payload against the catalog, then add it with the queue's retry policy. */
  enqueue<Q extends QueueName>(name: Q, payload: QueueInput<Q>, opts?: JobsOptions): Promise<QueueJob>;
  /** {@link enqueue} for many jobs in one round trip; every payload is validated before any is added. */
  enqueueBulk<Q extends QueueName>(name: Q, jobs: ReadonlyArray<{ payload: QueueInput<Q>; opts?: JobsOptions }>): Promise<QueueJob[]>;
  /**
   * Add a parent job that runs after its children (a BullMQ flow), every payload validated. A
   * child that fails for good does not hold the parent back (`ignoreDependencyOnFailure`).
   */
  enqueueFlow<P extends QueueName>(parent: { name: P; payload: QueueInput<P>; opts?: JobsOptions }, children: FlowJob[]): Promise<QueueJob>;
  /**
   * Create or update (every replica may, harmlessly) a job scheduler that adds `payload` to the
   * queue on `repeat`'s schedule; the payload is validated now, as every add's is. Returns the
   * next job it will add.
   */
  schedule<Q extends QueueName>(
    name: Q,
    schedulerId: string,
    repeat: Omit<RepeatOptions, "key">,
    payload: QueueInput<Q>,
    opts?: JobSchedulerTemplateOptions,
  ): Promise<QueueJob>;
  /**
   * BullMQ's own queues, for bull-board (its adapter takes nothing else). They are the
   * validating {@link CatalogBullQueue}s, so even through them no unvalidated job can be added.
   */
  dashboardQueues(): Queue[];
  close(): Promise<void>;
}

export function createQueueSet(opts: { connection: Redis; keys: RedisKeys; onEnqueue?: (queue: QueueName) => void }): QueueSet {
  // Made on first use: a process builds only the queues it touches.
  const queues = new Map<QueueName, CatalogBullQueue>();
  const get = (name: QueueName): CatalogBullQueue => {
    let q = queues.get(name);
    if (!q) {
      q = new CatalogBullQueue(name, { connection: opts.connection, prefix: opts.keys.bullPrefix });
      queues.set(name, q);
    }
    return q;
  };
  let flow: FlowProducer | null = null;
  return {
    queue: get,
    async enqueue(name, payload, jobOpts) {
      const job = await get(name).add(name, payload, jobOpts);
      opts.onEnqueue?.(name);
      return job;
    },
    async enqueueBulk(name, jobs) {
      const added = await get(name).addBulk(jobs.map((j) => ({ name, data: j.payload, opts: j.opts })));
      for (let i = 0; i < added.length; i++) opts.onEnqueue?.(name);
      return added;
    },
    async enqueueFlow(parent, children) {
      // Every payload parsed before the flow is built: one bad child adds nothing.
      const tree = {
        name: parent.name,
        queueName: parent.name,
        data: validatedPayload(parent.name, parent.payload),
        opts: catalogJobOptions(parent.name, parent.opts ?? {}),
        children: children.map((c) => ({
          name: c.name,
          queueName: c.name,
          data: validatedPayload(c.name, c.payload),
          opts: catalogJobOptions(c.name, { ignoreDependencyOnFailure: true, ...c.opts }),
        })),
      };
      flow ??= new FlowProducer({ connection: opts.connection, prefix: opts.keys.bullPrefix });
      const node = await flow.add(tree);
      opts.onEnqueue?.(parent.name);
      for (const c of children) opts.onEnqueue?.(c.name);
      return node.job;
    },
    async schedule(name, schedulerId, repeat, payload, jobOpts) {
      return get(name).upsertJobScheduler(schedulerId, repeat, { name, data: payload, opts: jobOpts });
    },
    dashboardQueues: () => QUEUE_NAMES.map((name) => get(name)),
    async close() {
      await flow?.close();
      await Promise.all([...queues.values()].map((q) => q.close()));
    },
  };
}

/**
 * A typed BullMQ worker: `job.data` is `safeParse`d against the catalog; a bad payload fails
 * the job without retries, with the validation problems in the reason. A job starts as soon as
 * it is taken ({@link PromptWorker}: no second take attempt in between).
 */
export function defineProcessor<Q extends QueueName>(
  name: Q,
  fn: (payload: QueuePayload<Q>, job: Job, token: string | undefined) => Promise<unknown>,
  opts: Omit<WorkerOptions, "prefix"> & { keys: RedisKeys; /** Called for every job taken (`ai_queue_dequeue_total`). */ onDequeue?: (queue: Q) => void },
): Worker {
  const { keys, onDequeue, ...workerOpts } = opts;
  return new PromptWorker(
    name,
    async (job: Job, token?: string) => {
      onDequeue?.(name);
      const parsed = queueCatalog[name].schema.safeParse(job.data);
      if (!parsed.success) {
        const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
        throw new UnrecoverableError(`invalid ${name} payload for job ${job.id}: ${problems}`);
      }
      return fn(parsed.data as QueuePayload<Q>, job, token);
    },
    { ...KEEP_FINISHED, ...workerOpts, prefix: keys.bullPrefix },
  );
}
