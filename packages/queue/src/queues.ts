import { queueCatalog, type QueueInput, type QueueName, type QueuePayload } from "@switchyard/contracts";
import { isDeepStrictEqual } from "node:util";
import { FlowProducer, Queue, UnrecoverableError, Worker, type Job, type JobsOptions, type WorkerOptions } from "bullmq";
import type { Redis } from "./redis";
import type { RedisKeys } from "./keys";
import { PromptWorker } from "./prompt-worker";

/**
 * Finished BullMQ jobs are kept this long (the job's own state lives in our hash and in Postgres).
 * It is the workers' setting ({@link defineProcessor}), which BullMQ applies to every job that
 * names none of its own, rather than each job's: stored in every job's `opts`, it cost each
 * waiting job 115 bytes of Redis. A job (or a caller's `opts`) that names its own still wins.
 */
export const KEEP_FINISHED = { removeOnComplete: { age: 3600, count: 10_000 }, removeOnFail: { age: 24 * 3600, count: 10_000 } } as const;

/** The slice of a zod schema's definition that {@link storedPayload} walks. */
interface SchemaDef {
  type?: string;
  defaultValue?: unknown;
  innerType?: { def?: SchemaDef };
  shape?: Record<string, { def?: SchemaDef }>;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** `value` without the object fields (at any depth of nested objects, not in arrays) that hold their schema's default. */
function withoutDefaults(def: SchemaDef | undefined, value: unknown): unknown {
  if (!def) return value;
  if (def.type === "default" || def.type === "optional" || def.type === "nullable") return withoutDefaults(def.innerType?.def, value);
  if (def.type !== "object" || !def.shape || !isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const field = def.shape[key]?.def;
    if (field?.type === "default" && isDeepStrictEqual(v, field.defaultValue)) continue;
    out[key] = withoutDefaults(field, v);
  }
  return out;
}

/**
 * A validated payload as a job stores it: without the object fields that hold their schema's
 * default (a deployment's routing settings left as they are, no budget scopes, normal priority),
 * at any depth of nested objects. The consumer's parse ({@link defineProcessor}, and every reader
 * of a stored payload) puts them back, so the parsed payload is the same. A waiting `ai-route` job
 * keeps 110-180 bytes less of JSON in Redis, which keeps its `data` under 512 bytes (one jemalloc
 * size class: 128 bytes) for short prompts.
 */
export function storedPayload<Q extends QueueName>(name: Q, data: QueuePayload<Q>): Partial<QueuePayload<Q>> {
  const schema = queueCatalog[name].schema as unknown as { def?: SchemaDef };
  return withoutDefaults(schema.def, data) as Partial<QueuePayload<Q>>;
}

export interface QueueSet {
  get<Q extends QueueName>(name: Q): Queue;
  /** Validate the payload against the catalog, then add it with the queue's retry policy. */
  enqueue<Q extends QueueName>(name: Q, payload: QueueInput<Q>, opts?: JobsOptions): Promise<Job>;
  /**
   * Add a parent job that runs after its children (a BullMQ flow), every payload validated. A
   * child that fails for good does not hold the parent back (`ignoreDependencyOnFailure`).
   */
  enqueueFlow<P extends QueueName>(parent: { name: P; payload: QueueInput<P>; opts?: JobsOptions }, children: Array<{ [C in QueueName]: { name: C; payload: QueueInput<C>; opts?: JobsOptions } }[QueueName]>): Promise<Job>;
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
  let flow: FlowProducer | null = null;
  const flowOpts = (name: QueueName, extra?: JobsOptions): JobsOptions => {
    const entry = queueCatalog[name];
    return { attempts: entry.retry.attempts, backoff: entry.retry.backoff, ...extra };
  };
  return {
    get,
    async enqueueFlow(parent, children) {
      flow ??= new FlowProducer({ connection: opts.connection, prefix: opts.keys.bullPrefix });
      const node = await flow.add({
        name: parent.name,
        queueName: parent.name,
        data: storedPayload(parent.name, queueCatalog[parent.name].schema.parse(parent.payload) as QueuePayload<typeof parent.name>),
        opts: flowOpts(parent.name, parent.opts),
        children: children.map((c) => ({ name: c.name, queueName: c.name, data: storedPayload(c.name, queueCatalog[c.name].schema.parse(c.payload) as QueuePayload<typeof c.name>), opts: flowOpts(c.name, { ignoreDependencyOnFailure: true, ...c.opts }) })),
      });
      opts.onEnqueue?.(parent.name);
      for (const c of children) opts.onEnqueue?.(c.name);
      return node.job;
    },
    async enqueue(name, payload, jobOpts) {
      const entry = queueCatalog[name];
      const data = storedPayload(name, entry.schema.parse(payload) as QueuePayload<typeof name>);
      const job = await get(name).add(name, data, { attempts: entry.retry.attempts, backoff: entry.retry.backoff, ...jobOpts });
      opts.onEnqueue?.(name);
      return job;
    },
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
