import { JobEvent, JobView, isTerminalStatus, type JobStatus } from "@switchyard/contracts";
import type { Redis } from "./redis";
import { APPEND, CREATE_JOB, FINISH, START_ATTEMPT, TRANSITION } from "./job-store-scripts";
import type { RedisKeys } from "./keys";

export interface StoredJob {
  view: JobView;
  tenantId: string;
  deploymentId: string;
  apiKeyId: string | null;
  status: JobStatus;
}

export interface StreamedEvent {
  id: string;
  event: JobEvent;
}

function parseEntries(entries: [id: string, fields: string[]][]): StreamedEvent[] {
  const out: StreamedEvent[] = [];
  for (const [id, fields] of entries) {
    const raw = fields[1];
    if (raw) out.push({ id, event: JobEvent.parse(JSON.parse(raw)) });
  }
  return out;
}

export type CreateResult = { kind: "created" } | { kind: "exists"; jobId: string; bodyHash: string };
export type FinishResult = { kind: "finished"; eventId: string } | { kind: "already_terminal"; status: JobStatus } | { kind: "missing" };

type Scripted = Redis & {
  syCreateJob(k1: string, k2: string, k3: string, ...argv: string[]): Promise<string[]>;
  syTransition(k1: string, k2: string, ...argv: string[]): Promise<string | null>;
  syAppend(k1: string, k2: string, ...argv: string[]): Promise<string | null>;
  syFinish(k1: string, k2: string, k3: string, ...argv: string[]): Promise<string | [string, string] | null>;
  syStartAttempt(k1: string): Promise<[number, number, string, string] | null>;
};

export interface JobStoreOptions {
  redis: Redis;
  keys: RedisKeys;
  /** How long a finished job's hash and event stream stay in Redis. Default 24 h. */
  retentionSeconds?: number;
  /** Approximate cap on events per job stream. Default 100 000. */
  maxEventsPerJob?: number;
}

/**
 * A job's live state (a Redis hash) and its event stream (a Redis Stream). Events are written
 * here before any socket sees them, so a reconnecting client can always resume.
 */
export class JobStore {
  private readonly redis: Scripted;
  private readonly keys: RedisKeys;
  private readonly retention: number;
  private readonly maxlen: string;

  constructor(opts: JobStoreOptions) {
    this.redis = opts.redis as Scripted;
    this.keys = opts.keys;
    this.retention = opts.retentionSeconds ?? 24 * 3600;
    this.maxlen = String(opts.maxEventsPerJob ?? 100_000);
    const r = opts.redis;
    if (!("syCreateJob" in r)) {
      r.defineCommand("syCreateJob", { numberOfKeys: 3, lua: CREATE_JOB });
      r.defineCommand("syTransition", { numberOfKeys: 2, lua: TRANSITION });
      r.defineCommand("syAppend", { numberOfKeys: 2, lua: APPEND });
      r.defineCommand("syFinish", { numberOfKeys: 3, lua: FINISH });
      r.defineCommand("syStartAttempt", { numberOfKeys: 1, lua: START_ATTEMPT });
    }
  }

  /** Create a job hash; with `idempotency`, claim the key atomically or report the job that holds it. */
  async create(input: {
    view: JobView;
    tenantId: string;
    deploymentId: string;
    apiKeyId: string | null;
    payload: unknown;
    idempotency?: { key: string; bodyHash: string; ttlSeconds: number };
  }): Promise<CreateResult> {
    const jobKey = this.keys.job(input.view.id);
    const idemKey = input.idempotency ? this.keys.idempotency(input.tenantId, input.idempotency.key) : jobKey;
    const r = await this.redis.syCreateJob(
      jobKey,
      idemKey,
      this.keys.liveJobs(),
      input.view.id,
      input.idempotency?.bodyHash ?? "",
      String(input.idempotency?.ttlSeconds ?? 0),
      input.tenantId,
      input.deploymentId,
      input.apiKeyId ?? "",
      JSON.stringify(input.view),
      JSON.stringify(input.payload),
      String(Date.parse(input.view.created_at)),
    );
    if (r[0] === "exists") return { kind: "exists", jobId: r[1]!, bodyHash: r[2]! };
    return { kind: "created" };
  }

  /** Read-only idempotency lookup (admission checks a replay before any limit or feature check). */
  async lookupIdempotency(tenantId: string, key: string): Promise<{ jobId: string; bodyHash: string } | null> {
    const cur = await this.redis.get(this.keys.idempotency(tenantId, key));
    if (!cur) return null;
    const sep = cur.indexOf("|");
    return { jobId: cur.slice(0, sep), bodyHash: cur.slice(sep + 1) };
  }

  /** Undo a create whose enqueue failed, so the idempotency key can be used again. */
  async discard(jobId: string, tenantId: string, idempotencyKey?: string): Promise<void> {
    const keys = [this.keys.job(jobId), this.keys.events(jobId)];
    if (idempotencyKey) keys.push(this.keys.idempotency(tenantId, idempotencyKey));
    await this.redis.multi().del(...keys).zrem(this.keys.liveJobs(), jobId).exec();
  }

  /** Ids of jobs created before `createdBefore` (epoch ms) that have not ended, oldest first. */
  async liveJobsCreatedBefore(createdBefore: number, limit = 500): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.liveJobs(), 0, createdBefore, "LIMIT", 0, limit);
  }

  /** Drop an id from the live index (its state is gone from Redis). */
  async forgetLive(jobId: string): Promise<void> {
    await this.redis.zrem(this.keys.liveJobs(), jobId);
  }

  async get(jobId: string): Promise<StoredJob | null> {
    const h = await this.redis.hmget(this.keys.job(jobId), "view", "tenant_id", "deployment_id", "api_key_id", "status");
    const [view, tenantId, deploymentId, apiKeyId, status] = h;
    if (!view || !tenantId || !deploymentId || !status) return null;
    return { view: JobView.parse(JSON.parse(view)), tenantId, deploymentId, apiKeyId: apiKeyId || null, status: status as JobStatus };
  }

  /** The route payload stored with the job (used to re-run it). */
  async payload(jobId: string): Promise<unknown> {
    const p = await this.redis.hget(this.keys.job(jobId), "payload");
    return p ? JSON.parse(p) : null;
  }

  /** Count a started attempt: returns its number and how many deltas earlier attempts streamed. */
  async startAttempt(jobId: string): Promise<{ attempt: number; earlierDeltas: number; status: JobStatus; pendingUsage: unknown } | null> {
    const r = await this.redis.syStartAttempt(this.keys.job(jobId));
    if (!r) return null;
    return { attempt: Number(r[0]), earlierDeltas: Number(r[1]), status: r[2] as JobStatus, pendingUsage: r[3] ? JSON.parse(r[3]) : null };
  }

  /** Count a run whose answer had begun (a paid execution, the bound on re-executions); returns the count. */
  async countPaidAttempt(jobId: string): Promise<number> {
    return this.redis.hincrby(this.keys.job(jobId), "paid_attempts", 1);
  }

  /** Paid executions so far. */
  async paidAttempts(jobId: string): Promise<number> {
    return Number((await this.redis.hget(this.keys.job(jobId), "paid_attempts")) ?? 0);
  }

  /** The parked usage event was enqueued: forget it. */
  async usageHandedOn(jobId: string): Promise<void> {
    await this.redis.hdel(this.keys.job(jobId), "pending_usage");
  }

  /** Non-terminal status change with a `status` event; false when the job already ended. */
  async transition(view: JobView, event: JobEvent): Promise<string | null> {
    if (isTerminalStatus(view.status)) throw new Error("use finish() for terminal statuses");
    return this.redis.syTransition(this.keys.job(view.id), this.keys.events(view.id), view.status, JSON.stringify(view), JSON.stringify(event), this.maxlen);
  }

  /** Append a non-terminal event; null when the job already ended (a canceled job's late deltas are dropped). */
  async append(jobId: string, event: JobEvent): Promise<string | null> {
    if (event.type === "done" || event.type === "error") throw new Error("terminal events go through finish()");
    return this.redis.syAppend(this.keys.job(jobId), this.keys.events(jobId), JSON.stringify(event), event.type === "delta" ? "1" : "0", this.maxlen);
  }

  /** The single terminal transition; a second caller learns the status the job already has. */
  async finish(view: JobView, event: JobEvent, pendingUsage?: unknown): Promise<FinishResult> {
    if (!isTerminalStatus(view.status)) throw new Error("finish() needs a terminal status");
    const r = await this.redis.syFinish(
      this.keys.job(view.id),
      this.keys.events(view.id),
      this.keys.liveJobs(),
      view.status,
      JSON.stringify(view),
      JSON.stringify(event),
      String(this.retention),
      this.maxlen,
      pendingUsage === undefined ? "" : JSON.stringify(pendingUsage),
      view.id,
    );
    if (r === null) return { kind: "missing" };
    if (Array.isArray(r)) return { kind: "already_terminal", status: r[1] as JobStatus };
    return { kind: "finished", eventId: r };
  }

  /**
   * One blocking read over many jobs' event streams and a wake-up stream (all in the prefix's
   * hash slot, so one XREAD serves them on a cluster too). Returns each job's new events and the
   * wake stream's newest id when something was written to it.
   */
  async readManyEvents(
    cursors: ReadonlyMap<string, string>,
    opts: { conn: Redis; blockMs: number; wake: { key: string; after: string }; count?: number },
  ): Promise<{ events: Map<string, StreamedEvent[]>; wakeId: string | null }> {
    const jobIds = [...cursors.keys()];
    const keys = [opts.wake.key, ...jobIds.map((id) => this.keys.events(id))];
    const ids = [opts.wake.after, ...jobIds.map((id) => cursors.get(id)!)];
    const res = await opts.conn.xread("COUNT", String(opts.count ?? 500), "BLOCK", opts.blockMs, "STREAMS", ...keys, ...ids);
    const events = new Map<string, StreamedEvent[]>();
    let wakeId: string | null = null;
    for (const [key, entries] of res ?? []) {
      if (key === opts.wake.key) wakeId = entries.at(-1)?.[0] ?? null;
      else events.set(jobIds[keys.indexOf(key) - 1]!, parseEntries(entries));
    }
    return { events, wakeId };
  }

  /** Interrupt a blocking {@link readManyEvents} waiting on `key` (kept short and expiring). */
  async wake(key: string): Promise<void> {
    await this.redis.multi().xadd(key, "MAXLEN", "~", "16", "*", "w", "1").expire(key, 300).exec();
  }

  async eventStreamExists(jobId: string): Promise<boolean> {
    return (await this.redis.exists(this.keys.events(jobId))) === 1;
  }
}
