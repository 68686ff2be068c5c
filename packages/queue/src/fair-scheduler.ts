import type { FairPayload } from "./fair-enqueue";
import type { Redis } from "./redis";
import type { RedisKeys } from "./keys";
import { FAIR_DEPTH, FAIR_DISPATCH, FAIR_EXPIRED, FAIR_FIND, FAIR_PUSH, FAIR_RECOVER, FAIR_SUBMIT, FAIR_SWEEP_INFLIGHT } from "./fair-scheduler-scripts";

export { FAIR_DECIDE_FUNCTION } from "./fair-scheduler-scripts";

/** A deployment's scheduling settings, as the gateway read them at admission. */
export interface FairSettings {
  /** Share in the deficit round robin (jobs per turn), 1–100. */
  weight: number;
  /** Most jobs of the deployment handed to BullMQ and not ended at once; null: unlimited. */
  maxConcurrentJobs: number | null;
  /** The deployment's type (`tenant_class` of the queue-wait metric). */
  tenantClass: string;
}

/** Where a submit went: straight to BullMQ ("-behind": one BullMQ priority lower, see FairEntry.behind), or into its fair list. */
export type FairSubmitted = "direct" | "direct-behind" | "queued";

/** A decision taken inside another script ({@link FairScheduler.prepareDecide}): "queue" means the caller must {@link FairScheduler.push}. */
export type FairDecision = "direct" | "direct-behind" | "queue";

/** Who a job is, for the fair decision (all known before its payload is built). */
export interface FairJobRef {
  jobId: string;
  tenantId: string;
  deploymentId: string;
  priority: "high" | "normal" | "low";
}

/** A job waiting in a fair list, decoded. */
export interface FairEntry {
  raw: string;
  jobId: string;
  createdMs: number;
  /** When it must have begun (0: no bound). */
  deadlineMs: number;
  payload: FairPayload;
  /** Its deployment's previous job still waits in BullMQ: add it one BullMQ priority lower (see FAIR_DISPATCH). */
  behind?: boolean;
}

/** What one dispatch call took: entries for BullMQ, entries past their deadline, or (with neither) why nothing. */
export interface DispatchBatch {
  entries: FairEntry[];
  expired: FairEntry[];
  idle: "full" | "capped" | "empty" | null;
}

/** Who waits in the fair lists: one row per deployment with jobs waiting. */
export interface FairDepthRow {
  deploymentId: string;
  tenantId: string;
  tenantClass: string;
  waiting: number;
  /** Creation ms of its oldest waiting job. */
  oldestMs: number;
}

type Scripted = Redis & {
  syFairSubmit(...args: string[]): Promise<FairSubmitted>;
  syFairPush(...args: string[]): Promise<"queued">;
  syFairDispatch(...args: string[]): Promise<string[]>;
  syFairExpired(...args: string[]): Promise<string[]>;
  syFairRecover(...args: string[]): Promise<string[]>;
  syFairSweep(...args: string[]): Promise<number>;
  syFairFind(...args: string[]): Promise<number>;
  syFairDepth(...args: string[]): Promise<Array<string | number>>;
};

const PRIORITIES = ["high", "normal", "low"] as const;

function fairRef(payload: FairPayload): FairJobRef {
  return { jobId: payload.job_id, tenantId: payload.tenant_id, deploymentId: payload.deployment_id, priority: payload.request.priority ?? "normal" };
}

/**
 * Fair scheduling across tenants in front of BullMQ's `ai-route`: BullMQ is kept short (about the
 * workers' total concurrency waiting); the rest waits in per-deployment, per-priority Redis lists
 * that the dispatchers (one per router-worker) drain by deficit round robin, weighted per
 * deployment, strict priority within one, skipping deployments at their `max_concurrent_jobs`.
 * Stateless apart from its Lua: any number of gateways and workers may share one prefix.
 */
export class FairScheduler {
  private readonly redis: Scripted;
  private readonly keys: RedisKeys;
  private readonly ahead: number;

  /** @param opts.dispatchAhead BullMQ's waiting target (FAIR_DISPATCH_AHEAD); 0 (default): the registered workers' total concurrency. */
  constructor(opts: { redis: Redis; keys: RedisKeys; dispatchAhead?: number }) {
    this.redis = opts.redis as Scripted;
    this.keys = opts.keys;
    this.ahead = opts.dispatchAhead ?? 0;
    const r = opts.redis;
    if (!("syFairSubmit" in r)) {
      r.defineCommand("syFairSubmit", { numberOfKeys: 13, lua: FAIR_SUBMIT });
      r.defineCommand("syFairPush", { numberOfKeys: 4, lua: FAIR_PUSH });
      r.defineCommand("syFairDispatch", { numberOfKeys: 6, lua: FAIR_DISPATCH });
      r.defineCommand("syFairExpired", { numberOfKeys: 2, lua: FAIR_EXPIRED });
      r.defineCommand("syFairRecover", { numberOfKeys: 1, lua: FAIR_RECOVER });
      r.defineCommand("syFairSweep", { numberOfKeys: 1, lua: FAIR_SWEEP_INFLIGHT });
      r.defineCommand("syFairFind", { numberOfKeys: 4, lua: FAIR_FIND });
      r.defineCommand("syFairDepth", { numberOfKeys: 1, lua: FAIR_DEPTH });
    }
  }

  /**
   * One step of a submit: "direct" when nothing of the deployment waits, BullMQ is below its target
   * and the deployment below its cap (the caller adds the BullMQ job as without fair scheduling;
   * "direct-behind": with `behind`, as the dispatcher's entries); else the payload is queued
   * (durable: the job is accepted) and the dispatchers are woken.
   * `deadlineMs`: when the job must have begun (0: no bound).
   */
  async submit(payload: FairPayload, settings: FairSettings, deadlineMs: number): Promise<FairSubmitted> {
    const decide = this.prepareDecide(fairRef(payload), settings);
    const push = this.pushArgs(payload, deadlineMs);
    return this.redis.syFairSubmit(...decide.keys, ...push.keys, ...decide.argv, ...push.argv);
  }

  /**
   * Keys and arguments of the decision half of a submit (`FAIR_DECIDE_FUNCTION`), for a script
   * that decides in the same step as it creates the job (the gateway's admission): it answers a
   * {@link FairDecision}; on "queue" the caller {@link push}es the payload.
   */
  prepareDecide(ref: FairJobRef, settings: FairSettings): { keys: string[]; argv: string[] } {
    const k = this.keys;
    const dep = ref.deploymentId;
    return {
      keys: [
        ...PRIORITIES.map((p) => k.fairList(dep, p)),
        k.fairDeployment(dep),
        k.fairInflight(dep),
        k.bullQueue("ai-route", "wait"),
        k.bullQueue("ai-route", "prioritized"),
        k.fairWorkers(),
        k.fairCapped(),
      ],
      argv: [
        encodeURIComponent(dep),
        String(settings.weight),
        String(settings.maxConcurrentJobs ?? 0),
        ref.tenantId,
        settings.tenantClass,
        String(Date.now()),
        String(this.ahead),
        ref.jobId,
        k.job(""),
        ref.priority,
      ],
    };
  }

  /** Queue a job whose decision was "queue" (taken by {@link prepareDecide}'s script): its entry on its list, the dispatchers woken. */
  async push(payload: FairPayload, deadlineMs: number): Promise<"queued"> {
    const { keys, argv } = this.pushArgs(payload, deadlineMs);
    return this.redis.syFairPush(...keys, ...argv);
  }

  private pushArgs(payload: FairPayload, deadlineMs: number): { keys: string[]; argv: string[] } {
    const k = this.keys;
    const { deploymentId, priority, jobId, tenantId } = fairRef(payload);
    const deadline = String(Math.max(0, Math.floor(deadlineMs)));
    const raw = `${jobId}|${Date.parse(payload.created_at)}|${deadline}|${JSON.stringify(payload)}`;
    return {
      keys: [k.fairList(deploymentId, priority), k.fairRing(), k.fairActive(), k.fairNotify()],
      argv: [raw, encodeURIComponent(deploymentId), priority, k.fairPrefix(), encodeURIComponent(tenantId), deadline, jobId],
    };
  }

  /**
   * Take the next entries for BullMQ, as many as it has room for (at most `max`): each is in
   * `dispatching` until {@link dispatched}. `entries` go to BullMQ, `expired` are past their
   * deadline (end them); with neither, `idle` says why.
   */
  async dispatch(max = 100): Promise<DispatchBatch> {
    const k = this.keys;
    const out = await this.redis.syFairDispatch(
      k.fairRing(),
      k.fairActive(),
      k.bullQueue("ai-route", "wait"),
      k.bullQueue("ai-route", "prioritized"),
      k.fairWorkers(),
      k.fairDispatching(),
      k.fairPrefix(),
      k.job(""),
      String(Date.now()),
      String(this.ahead),
      String(max),
    );
    const batch: DispatchBatch = { entries: [], expired: [], idle: null };
    if (out.length === 1) batch.idle = out[0] as DispatchBatch["idle"];
    else
      for (let i = 0; i + 1 < out.length; i += 2) {
        const e = decodeEntry(out[i + 1]!);
        if (out[i] === "expired") batch.expired.push(e);
        else batch.entries.push(out[i] === "behind" ? { ...e, behind: true } : e);
      }
    return batch;
  }

  /** Entries past their deadline, wherever they wait in their lists (moved to `dispatching`: end them, then {@link dispatched}). */
  async takeExpired(max = 100): Promise<FairEntry[]> {
    const out = await this.redis.syFairExpired(this.keys.fairDeadlines(), this.keys.fairDispatching(), this.keys.fairPrefix(), String(Date.now()), String(max));
    return out.map(decodeEntry);
  }

  /** Entries whose dispatcher died mid-dispatch (older than `ageMs` in `dispatching`), claimed again. */
  async takeStranded(ageMs: number, max = 100): Promise<FairEntry[]> {
    const out = await this.redis.syFairRecover(this.keys.fairDispatching(), String(Date.now()), String(ageMs), String(max));
    return out.map(decodeEntry);
  }

  /** The entries are in BullMQ (or ended): forget them. */
  async dispatched(...entries: FairEntry[]): Promise<void> {
    if (entries.length) await this.redis.zrem(this.keys.fairDispatching(), ...entries.map((e) => e.raw));
  }

  /** A capped deployment's job ended: its slot is free. */
  async release(deploymentId: string, jobId: string): Promise<void> {
    await this.redis.zrem(this.keys.fairInflight(deploymentId), jobId);
  }

  /** Free slots of ended or vanished jobs held longer than `ageMs` (a worker died before freeing them). */
  sweepInflight(ageMs: number): Promise<number> {
    return this.redis.syFairSweep(this.keys.fairCapped(), this.keys.fairPrefix(), this.keys.job(""), String(Date.now()), String(ageMs));
  }

  /** Whether the job waits in its deployment's lists; with `remove`, take it out (a cancel). */
  async find(deploymentId: string, jobId: string, remove = false): Promise<boolean> {
    const lists = PRIORITIES.map((p) => this.keys.fairList(deploymentId, p));
    return (
      (await this.redis.syFairFind(lists[0]!, lists[1]!, lists[2]!, this.keys.fairDeadlines(), jobId, remove ? "1" : "0", encodeURIComponent(deploymentId))) ===
      1
    );
  }

  /** Register this process's concurrency for `ttlMs` (renew well before it lapses). */
  async registerWorker(id: string, concurrency: number, ttlMs: number): Promise<void> {
    await this.redis.hset(this.keys.fairWorkers(), id, `${concurrency}|${Date.now() + ttlMs}`);
  }

  async unregisterWorker(id: string): Promise<void> {
    await this.redis.hdel(this.keys.fairWorkers(), id);
  }

  /** Wake the dispatchers (one element at most waits in the list). */
  async notify(): Promise<void> {
    await this.redis.multi().lpush(this.keys.fairNotify(), "1").ltrim(this.keys.fairNotify(), 0, 0).exec();
  }

  /** Who waits, per deployment (at most 1000 deployments). */
  async depth(): Promise<FairDepthRow[]> {
    const flat = await this.redis.syFairDepth(this.keys.fairActive(), this.keys.fairPrefix());
    const rows: FairDepthRow[] = [];
    for (let i = 0; i + 4 < flat.length; i += 5) {
      const waiting = Number(flat[i + 3]);
      if (waiting === 0) continue;
      rows.push({
        deploymentId: decodeURIComponent(String(flat[i])),
        tenantId: String(flat[i + 1]),
        tenantClass: String(flat[i + 2]),
        waiting,
        oldestMs: Number(flat[i + 4]),
      });
    }
    return rows;
  }

  /** Jobs waiting in the fair lists, all deployments. */
  async waitingCount(): Promise<number> {
    return (await this.depth()).reduce((n, r) => n + r.waiting, 0);
  }
}

/** Waiting jobs per tenant, the top `n` by count and the rest summed under "other". */
export function topTenants(rows: FairDepthRow[], n = 10): Array<{ tenant: string; waiting: number; oldestMs: number }> {
  const byTenant = new Map<string, { waiting: number; oldestMs: number }>();
  for (const r of rows) {
    const t = byTenant.get(r.tenantId) ?? { waiting: 0, oldestMs: 0 };
    t.waiting += r.waiting;
    if (r.oldestMs > 0 && (t.oldestMs === 0 || r.oldestMs < t.oldestMs)) t.oldestMs = r.oldestMs;
    byTenant.set(r.tenantId, t);
  }
  const sorted = [...byTenant.entries()].map(([tenant, v]) => ({ tenant, ...v })).sort((a, b) => b.waiting - a.waiting);
  const top = sorted.slice(0, n);
  const rest = sorted.slice(n);
  if (rest.length) {
    top.push({
      tenant: "other",
      waiting: rest.reduce((s, r) => s + r.waiting, 0),
      oldestMs: rest.reduce((m, r) => (r.oldestMs > 0 && (m === 0 || r.oldestMs < m) ? r.oldestMs : m), 0),
    });
  }
  return top;
}

function decodeEntry(raw: string): FairEntry {
  const a = raw.indexOf("|");
  const b = raw.indexOf("|", a + 1);
  const c = raw.indexOf("|", b + 1);
  return {
    raw,
    jobId: raw.slice(0, a),
    createdMs: Number(raw.slice(a + 1, b)),
    deadlineMs: Number(raw.slice(b + 1, c)),
    payload: JSON.parse(raw.slice(c + 1)) as FairPayload,
  };
}
