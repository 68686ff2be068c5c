import { JobEvent, JobView, isTerminalStatus, type JobStatus } from "@switchyard/contracts";
import type { Redis } from "./redis";
import {
  APPEND,
  BEGIN_RUN,
  CREATE_JOB,
  DISCARD,
  FINISH,
  FORGET_LIVE,
  LIVE_BEFORE,
  PARK_USAGE,
  START_ATTEMPT,
  TRANSITION,
  USAGE_HANDED_ON,
} from "./job-store-scripts";
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

/** Stream entries as events; an entry that is not a valid event is skipped (a follower must not stall on one). */
function parseEntries(entries: [id: string, fields: string[]][]): StreamedEvent[] {
  const out: StreamedEvent[] = [];
  for (const [id, fields] of entries) {
    let json: unknown;
    try {
      json = JSON.parse(fields[1] ?? "");
    } catch {
      continue;
    }
    const parsed = JobEvent.safeParse(json);
    if (parsed.success) out.push({ id, event: parsed.data });
  }
  return out;
}

/** What a view holds until a worker first writes one; a stored view leaves out fields that still hold these. */
const VIEW_DEFAULTS = {
  object: "job",
  served_model: null,
  started_at: null,
  completed_at: null,
  output: null,
  usage: null,
  error: null,
  metadata: null,
} as const;

/**
 * A view as stored in the job hash when the job is created: without its id (the hash's key) and
 * status (the hash's `status` field), without the fields that still hold their first value, and
 * with the model as `m` and the creation time as `t` (epoch ms). A waiting job's view is then
 * about 50 bytes, which keeps its hash under Redis' listpack limit (64-byte values) — a third of
 * the memory of a hash table. Views the worker writes later are whole JobViews; both decode.
 */
export function encodeView(view: JobView): string {
  const out: Record<string, unknown> = { m: view.model, t: Date.parse(view.created_at) };
  for (const [k, v] of Object.entries(view)) {
    if (k === "id" || k === "status" || k === "model" || k === "created_at") continue;
    if (k in VIEW_DEFAULTS && v === VIEW_DEFAULTS[k as keyof typeof VIEW_DEFAULTS]) continue;
    if (k === "routing" && view.routing.decision === null && view.routing.fallbacks.length === 0) continue;
    out[k] = v;
  }
  return JSON.stringify(out);
}

/** A stored view (as `encodeView` wrote it, or a whole JobView as the worker writes it) of job `id` whose hash says `status`. */
export function decodeView(stored: string, id: string, status: string): JobView {
  const { m, t, ...rest } = JSON.parse(stored) as Record<string, unknown> & { m?: string; t?: number };
  const base: Record<string, unknown> = { ...VIEW_DEFAULTS, routing: { decision: null, fallbacks: [] }, id, status };
  if (m !== undefined) base.model = m;
  if (t !== undefined) base.created_at = new Date(t).toISOString();
  return JobView.parse({ ...base, ...rest });
}

/** A job to create: its first view, owner and idempotency claim. */
export interface CreateJobInput {
  view: JobView;
  tenantId: string;
  deploymentId: string;
  apiKeyId: string | null;
  idempotency?: { key: string; bodyHash: string; ttlSeconds: number };
}

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

type Scripted = Redis & {
  syCreateJob(k1: string, k2: string, k3: string, ...argv: string[]): Promise<string[]>;
  syTransition(k1: string, k2: string, k3: string, ...argv: string[]): Promise<string | null>;
  syAppend(k1: string, k2: string, k3: string, ...argv: string[]): Promise<string | null>;
  syFinish(k1: string, k2: string, k3: string, k4: string, ...argv: string[]): Promise<string | [string, string] | null>;
  syStartAttempt(
    k1: string,
    k2: string,
    k3: string,
    ...argv: string[]
  ): Promise<[string, string, number, number, string, number, string, number, string, number] | null>;
  syBeginRun(k1: string, ...argv: string[]): Promise<[string, ...(string | number)[]]>;
  syParkUsage(k1: string, ...argv: string[]): Promise<[number, string?]>;
  syUsageHandedOn(k1: string, ...argv: string[]): Promise<number>;
  syDiscard(k1: string, k2: string, k3: string, k4: string, ...argv: string[]): Promise<number>;
  syLiveBefore(k1: string, ...argv: string[]): Promise<string[]>;
  syForgetLive(k1: string, ...argv: string[]): Promise<number>;
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
  /** How long a job stays in its tenant's index after its creation: the retention plus an hour for the job's own life. */
  private readonly tenantIndexKeepMs: number;
  private readonly maxlen: string;

  constructor(opts: JobStoreOptions) {
    this.redis = opts.redis as Scripted;
    this.keys = opts.keys;
    this.retention = opts.retentionSeconds ?? 24 * 3600;
    this.tenantIndexKeepMs = (this.retention + 3600) * 1000;
    this.maxlen = String(opts.maxEventsPerJob ?? 100_000);
    const r = opts.redis;
    if (!("syCreateJob" in r)) {
      r.defineCommand("syCreateJob", { numberOfKeys: 3, lua: CREATE_JOB });
      r.defineCommand("syTransition", { numberOfKeys: 3, lua: TRANSITION });
      r.defineCommand("syAppend", { numberOfKeys: 3, lua: APPEND });
      r.defineCommand("syFinish", { numberOfKeys: 4, lua: FINISH });
      r.defineCommand("syStartAttempt", { numberOfKeys: 3, lua: START_ATTEMPT });
      r.defineCommand("syBeginRun", { numberOfKeys: 1, lua: BEGIN_RUN });
      r.defineCommand("syParkUsage", { numberOfKeys: 1, lua: PARK_USAGE });
      r.defineCommand("syUsageHandedOn", { numberOfKeys: 1, lua: USAGE_HANDED_ON });
      r.defineCommand("syDiscard", { numberOfKeys: 4, lua: DISCARD });
      r.defineCommand("syLiveBefore", { numberOfKeys: 1, lua: LIVE_BEFORE });
      r.defineCommand("syForgetLive", { numberOfKeys: 1, lua: FORGET_LIVE });
    }
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

  /**
   * The newest entry of the event notice stream ("0-0" when it is empty): where a reader that
   * starts now begins, on the connection it will read events on, so that no notice written after
   * this call is missed and no event written before it is unread.
   */
  async latestNotice(conn: Redis): Promise<string> {
    const r = await conn.xrevrange(this.keys.eventNotices(), "+", "-", "COUNT", 1);
    return r[0]?.[0] ?? "0-0";
  }

  /** The oldest notice still kept ("0-0" when none): a reader behind it may have missed notices that were trimmed. */
  async oldestNotice(conn: Redis): Promise<string> {
    const r = await conn.xrange(this.keys.eventNotices(), "-", "+", "COUNT", 1);
    return r[0]?.[0] ?? "0-0";
  }

  /**
   * Notices after `after` (blocking up to `blockMs` for the first): the ids of the jobs whose
   * event streams moved, each once, the newest notice id read, and how many notices were read.
   */
  async readNotices(conn: Redis, after: string, opts: { blockMs: number; count: number }): Promise<{ jobIds: Set<string>; last: string; read: number }> {
    const res = await conn.xread("COUNT", opts.count, "BLOCK", opts.blockMs, "STREAMS", this.keys.eventNotices(), after);
    const entries = res?.[0]?.[1] ?? [];
    const jobIds = new Set<string>();
    for (const [, fields] of entries) if (fields[1]) jobIds.add(fields[1]);
    return { jobIds, last: entries.at(-1)?.[0] ?? after, read: entries.length };
  }

  /**
   * Each job's events after its cursor (at most `count` per job), in one pipelined round trip.
   * A job whose read failed gets the error in its place. An entry that is not a valid event is
   * skipped; `last` is the id of the last entry read (valid or not), `read` how many there were.
   */
  async readEventsAfter(
    conn: Redis,
    reads: ReadonlyArray<{ jobId: string; after: string }>,
    count: number,
  ): Promise<Array<{ events: StreamedEvent[]; last: string | null; read: number } | Error>> {
    const p = conn.pipeline();
    for (const r of reads) p.xrange(this.keys.events(r.jobId), `(${r.after}`, "+", "COUNT", count);
    const res = (await p.exec()) ?? [];
    return reads.map((_, i) => {
      const [err, entries] = res[i] ?? [new Error("no reply"), null];
      if (err) return err;
      const list = entries as [string, string[]][];
      return { events: parseEntries(list), last: list.at(-1)?.[0] ?? null, read: list.length };
    });
  }

  async eventStreamExists(jobId: string): Promise<boolean> {
    return (await this.redis.exists(this.keys.events(jobId))) === 1;
  }
}
