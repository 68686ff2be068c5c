import { isTerminalStatus, type JobEvent, type JobStatus, type JobView } from "@switchyard/contracts";
import type { Redis } from "./redis";
import * as eventStream from "./job-event-reader";
import { defineJobStoreCommands, type Scripted } from "./job-store-commands";
import {
  readCreateReply,
  type AttemptStart,
  type BeginRunResult,
  type CreateResult,
  type FinishResult,
  type ParkUsageResult,
  type UnbilledRun,
} from "./job-store-replies";
import { decodeView, encodeView } from "./job-view-codec";
import type { RedisKeys } from "./keys";

export interface StoredJob {
  view: JobView;
  tenantId: string;
  deploymentId: string;
  apiKeyId: string | null;
  status: JobStatus;
}

/** A job to create: its first view, owner and idempotency claim. */
export interface CreateJobInput {
  view: JobView;
  tenantId: string;
  deploymentId: string;
  apiKeyId: string | null;
  idempotency?: { key: string; bodyHash: string; ttlSeconds: number };
}

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
  /** How long a job stays in its tenant's index after its creation: the retention plus an hour for the job's own life. */
  private readonly tenantIndexKeepMs: number;
  private readonly maxlen: string;

  constructor(opts: JobStoreOptions) {
    this.redis = opts.redis as Scripted;
    this.keys = opts.keys;
    this.retention = opts.retentionSeconds ?? 24 * 3600;
    this.tenantIndexKeepMs = (this.retention + 3600) * 1000;
    this.maxlen = String(opts.maxEventsPerJob ?? 100_000);
    defineJobStoreCommands(opts.redis);
  }

  /** Create a job hash; with `idempotency`, claim the key atomically or report the job that holds it. */
  async create(input: CreateJobInput): Promise<CreateResult> {
    const c = this.prepareCreate(input);
    return readCreateReply(await this.redis.syCreateJob(c.keys[0]!, c.keys[1]!, c.keys[2]!, ...c.argv));
  }

  /** `create`'s script call (`CREATE_JOB` keys and arguments), for a caller that runs it inside a larger script. */
  prepareCreate(input: CreateJobInput): { keys: string[]; argv: string[] } {
    const jobKey = this.keys.job(input.view.id);
    const idemKey = input.idempotency ? this.keys.idempotency(input.tenantId, input.idempotency.key) : jobKey;
    const created = Date.parse(input.view.created_at);
    return {
      keys: [jobKey, idemKey, this.keys.liveJobs()],
      argv: [
        input.view.id,
        input.idempotency?.bodyHash ?? "",
        String(input.idempotency?.ttlSeconds ?? 0),
        input.tenantId,
        input.deploymentId,
        input.apiKeyId ?? "",
        encodeView(input.view),
        String(created),
        this.keys.tenantJobs(input.tenantId),
        String(this.tenantIndexKeepMs),
      ],
    };
  }

  /**
   * Make jobs the children of comparison `parentId`: from now on every event written to a child's
   * stream is also written to the parent's, with the child's model and id added to its `data`
   * (`model`, `job_id`), and a child's end becomes a tagged `status` event there (see
   * `job-store-scripts.ts`). One round trip for all of them; ordinary jobs never carry the fields.
   */
  async linkChildren(parentId: string, children: ReadonlyArray<{ model: string; job_id: string }>): Promise<void> {
    const p = this.redis.pipeline();
    for (const c of children) p.hset(this.keys.job(c.job_id), "p", parentId, "pt", `"model":${JSON.stringify(c.model)},"job_id":${JSON.stringify(c.job_id)}`);
    const res = (await p.exec()) ?? [];
    const failed = res.find(([err]) => err);
    if (failed?.[0]) throw failed[0];
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
    const jobKey = this.keys.job(jobId);
    await this.redis.syDiscard(
      jobKey,
      this.keys.events(jobId),
      this.keys.liveJobs(),
      idempotencyKey ? this.keys.idempotency(tenantId, idempotencyKey) : jobKey,
      jobId,
    );
  }

  /** Ids of jobs created before `createdBefore` (epoch ms) that have not ended, oldest first. */
  async liveJobsCreatedBefore(createdBefore: number, limit = 500): Promise<string[]> {
    return this.redis.syLiveBefore(this.keys.liveJobs(), String(createdBefore), String(limit));
  }

  /** Drop an id from the live index (its state is gone from Redis). */
  async forgetLive(jobId: string): Promise<void> {
    await this.redis.syForgetLive(this.keys.liveJobs(), jobId);
  }

  async get(jobId: string): Promise<StoredJob | null> {
    // Owner fields as CREATE_JOB writes them (`o`, `d`, `k`), or as jobs created before it did.
    const h = await this.redis.hmget(this.keys.job(jobId), "view", "o", "d", "k", "status", "tenant_id", "deployment_id", "api_key_id");
    const [view, o, d, k, status, oldTenant, oldDeployment, oldKey] = h;
    const tenantId = o ?? oldTenant;
    const deploymentId = d ?? oldDeployment;
    const apiKeyId = k ?? oldKey;
    if (!view || !tenantId || !deploymentId || !status) return null;
    return { view: decodeView(view, jobId, status), tenantId, deploymentId, apiKeyId: apiKeyId || null, status: status as JobStatus };
  }

  /**
   * The job's route payload: its BullMQ job's data, which is the one copy (null once BullMQ has
   * dropped the job). Jobs created before the payload moved there still carry it in their hash.
   */
  async payload(jobId: string): Promise<unknown> {
    const [data, legacy] = await Promise.all([this.redis.hget(this.keys.bullJob("ai-route", jobId), "data"), this.redis.hget(this.keys.job(jobId), "payload")]);
    const p = data ?? legacy;
    return p ? JSON.parse(p) : null;
  }

  /**
   * Start a delivery of the job. In one step: when deltas of an earlier delivery are still on
   * screen, append a `restart` (reason `retry`) and zero the counter. Returns what the delivery
   * must deal with first (a parked usage event, a run that died unbilled), the counters and the
   * job's view.
   */
  async startAttempt(jobId: string): Promise<AttemptStart | null> {
    const restart: JobEvent = { type: "restart", data: { reason: "retry" } };
    const r = await this.redis.syStartAttempt(this.keys.job(jobId), this.keys.events(jobId), this.keys.eventNotices(), JSON.stringify(restart), this.maxlen);
    if (!r) return null;
    const [status, pending, runs, waits, unbilled, chars, model, restarted, view, paid] = r;
    return {
      status: status as JobStatus,
      pendingUsage: pending ? JSON.parse(pending) : null,
      runs: Number(runs),
      waits: Number(waits),
      paid: Number(paid ?? 0),
      unbilled: unbilled ? { run: Number(unbilled), chars: Number(chars), model } : null,
      restarted: Number(restarted) === 1,
      view: view ? decodeView(view, jobId, status) : null,
    };
  }

  /**
   * Begin a run (this delivery is about to call `model`): counts it and opens its tally, unless
   * the job ended or `maxPaid` runs already had their answer begin.
   */
  async beginRun(jobId: string, model: string, maxPaid: number): Promise<BeginRunResult> {
    const r = await this.redis.syBeginRun(this.keys.job(jobId), model, String(maxPaid));
    if (r[0] === "ok") return { kind: "ok", run: Number(r[1]), paid: Number(r[2]), waits: Number(r[3]) };
    if (r[0] === "max") return { kind: "max", paid: Number(r[1]) };
    return { kind: "ended", status: (r[1] || null) as JobStatus | null };
  }

  /** Count a delivery that found no model to call and waits for one. */
  async countWait(jobId: string): Promise<number> {
    return this.redis.hincrby(this.keys.job(jobId), "waits", 1);
  }

  /** Runs whose answer had begun (counted by the run's first delta); the bound on paid re-executions. */
  async paidAttempts(jobId: string): Promise<number> {
    return Number((await this.redis.hget(this.keys.job(jobId), "paid_attempts")) ?? 0);
  }

  /** The current run, if its spend is not yet accounted for (the stuck-job sweeper can bill it). */
  async unbilledRun(jobId: string): Promise<UnbilledRun | null> {
    const [run, chars, model] = await this.redis.hmget(this.keys.job(jobId), "run_unbilled", "run_chars", "run_model");
    return run ? { run: Number(run), chars: Number(chars ?? 0), model: model ?? "" } : null;
  }

  /** The usage event a delivery parked and has not handed on yet (null when there is none). */
  async parkedUsage(jobId: string): Promise<unknown> {
    const raw = await this.redis.hget(this.keys.job(jobId), "pending_usage");
    return raw ? (JSON.parse(raw) as unknown) : null;
  }

  /**
   * Park a usage event until it is handed on (so a crash cannot lose it), closing the tally of
   * `closesRun` in the same step. `busy` returns another parked event to hand on first.
   */
  async parkUsage(jobId: string, usage: { attempt: number }, closesRun: number | null): Promise<ParkUsageResult> {
    const r = await this.redis.syParkUsage(this.keys.job(jobId), JSON.stringify(usage), String(usage.attempt), closesRun === null ? "" : String(closesRun));
    if (r[0] === 1) return { kind: "parked" };
    if (r[0] === 0) return { kind: "busy", parked: JSON.parse(r[1]!) };
    return { kind: "missing" };
  }

  /** The parked usage event of `attempt` was enqueued: forget it (a newer one is left alone). */
  async usageHandedOn(jobId: string, attempt: number): Promise<void> {
    await this.redis.syUsageHandedOn(this.keys.job(jobId), String(attempt));
  }

  /**
   * Non-terminal status change with a `status` event; null when the job already ended, or, with
   * `run`, when that run is not the job's open one (see {@link beginRun}: a `running` sent before
   * BEGIN_RUN's reply names the run it expects BEGIN_RUN to open).
   */
  async transition(view: JobView, event: JobEvent, opts: { run?: number } = {}): Promise<string | null> {
    if (isTerminalStatus(view.status)) throw new Error("use finish() for terminal statuses");
    const model = event.type === "status" ? (event.data.served_model ?? "") : "";
    return this.redis.syTransition(
      this.keys.job(view.id),
      this.keys.events(view.id),
      this.keys.eventNotices(),
      view.status,
      JSON.stringify(view),
      JSON.stringify(event),
      this.maxlen,
      model,
      opts.run === undefined ? "" : String(opts.run),
    );
  }

  /**
   * Append a non-terminal event; null when the job already ended (a canceled job's late deltas
   * are dropped). A delta or a tool-call fragment is output: it adds to the current run's tally
   * (characters of the text, or of the call's id, name and arguments) and to the delta counter
   * that a restart zeroes.
   */
  async append(jobId: string, event: JobEvent): Promise<string | null> {
    if (event.type === "done" || event.type === "error") throw new Error("terminal events go through finish()");
    const kind = event.type === "delta" || event.type === "tool_call" ? "delta" : event.type === "restart" ? "restart" : "other";
    const chars =
      event.type === "delta"
        ? event.data.text.length
        : event.type === "tool_call"
          ? (event.data.id?.length ?? 0) + (event.data.name?.length ?? 0) + event.data.arguments.length
          : 0;
    return this.redis.syAppend(
      this.keys.job(jobId),
      this.keys.events(jobId),
      this.keys.eventNotices(),
      JSON.stringify(event),
      kind,
      this.maxlen,
      String(chars),
    );
  }

  /**
   * The single terminal transition; a second caller learns the status the job already has. With
   * `pendingUsage`, the usage event is parked (closing the current run's tally) and `usageEvent`
   * (the stream's `usage` event) is appended before the terminal one, all in the same step.
   */
  async finish(view: JobView, event: JobEvent, pendingUsage?: unknown, usageEvent?: JobEvent): Promise<FinishResult> {
    if (!isTerminalStatus(view.status)) throw new Error("finish() needs a terminal status");
    const r = await this.redis.syFinish(
      this.keys.job(view.id),
      this.keys.events(view.id),
      this.keys.liveJobs(),
      this.keys.eventNotices(),
      view.status,
      JSON.stringify(view),
      JSON.stringify(event),
      String(this.retention),
      this.maxlen,
      pendingUsage === undefined ? "" : JSON.stringify(pendingUsage),
      view.id,
      usageEvent === undefined ? "" : JSON.stringify(usageEvent),
    );
    if (r === null) return { kind: "missing" };
    if (Array.isArray(r)) return { kind: "already_terminal", status: r[1] as JobStatus };
    return { kind: "finished", eventId: r };
  }

  /** Where a reader that starts now begins: see {@link eventStream.latestNotice}. */
  async latestNotice(conn: Redis): Promise<string> {
    return eventStream.latestNotice(conn, this.keys);
  }

  /** The oldest notice still kept: see {@link eventStream.oldestNotice}. */
  async oldestNotice(conn: Redis): Promise<string> {
    return eventStream.oldestNotice(conn, this.keys);
  }

  /** The jobs whose event streams moved since `after`: see {@link eventStream.readNotices}. */
  async readNotices(conn: Redis, after: string, opts: { blockMs: number; count: number }): Promise<{ jobIds: Set<string>; last: string; read: number }> {
    return eventStream.readNotices(conn, this.keys, after, opts);
  }

  /** Each job's events after its cursor, in one round trip: see {@link eventStream.readEventsAfter}. */
  async readEventsAfter(
    conn: Redis,
    reads: ReadonlyArray<{ jobId: string; after: string }>,
    count: number,
  ): Promise<Array<{ events: eventStream.StreamedEvent[]; last: string | null; read: number } | Error>> {
    return eventStream.readEventsAfter(conn, this.keys, reads, count);
  }

  async eventStreamExists(jobId: string): Promise<boolean> {
    return (await this.redis.exists(this.keys.events(jobId))) === 1;
  }
}
