/**
 * The one place Switchyard's Redis key layout is spelt: every key any package or app writes or
 * reads (job state, queues, idempotency, rate limits, budgets, credits, alerts, breakers) comes
 * from a {@link RedisKeys}. Every key starts with the hash tag `{prefix}` (`{sy}` by default), so
 * all of them hash to one Redis Cluster slot and a Lua script may touch any set of them; BullMQ is
 * given the same tag as its prefix, so its keys are in that slot too.
 *
 * The layout is data at rest: a key written by one release is read by the next, so a format here
 * changes only together with a migration. `redis-keys.test.ts` pins every one.
 *
 * It lives in `contracts` (which depends on nothing) because every package that writes Redis
 * needs it: `queue`, `admission` (which does not depend on `queue`) and `routing`.
 */
export class RedisKeys {
  /** The hash tag every key starts with, `{prefix}`; BullMQ's `prefix` option. */
  readonly bullPrefix: string;

  /** @param prefix the deployment's key prefix without braces (`SWITCHYARD_PREFIX`, e.g. `sy`). */
  constructor(readonly prefix: string) {
    this.bullPrefix = `{${prefix}}`;
  }

  // ---- Jobs (queue package: JobStore, TenantJobIndex) ----

  /** A job's state hash (status, view, owner, run counters). */
  job(id: string): string {
    return `${this.bullPrefix}:job:${id}`;
  }
  /** A job's event stream (what SSE followers read). */
  events(id: string): string {
    return `${this.bullPrefix}:events:${id}`;
  }
  /**
   * The start of every event stream's key, the job id left off: the job-store scripts name a
   * comparison parent's stream by putting the parent's id after the child's stream key's last `:`,
   * which is this.
   */
  eventsPrefix(): string {
    return `${this.bullPrefix}:events:`;
  }
  /** A tenant's idempotency claim (`<job id>|<body hash>`), kept 24 h. */
  idempotency(tenantId: string, key: string): string {
    return `${this.bullPrefix}:idem:${tenantId}:${key}`;
  }
  /**
   * Jobs not yet ended, scored by creation time (the stuck-job sweeper reads it): the unbucketed
   * index of older releases, and the base name of the buckets {@link liveJobsBucket}.
   */
  liveJobs(): string {
    return `${this.bullPrefix}:live-jobs`;
  }
  /** Bucket `n` of the live-job index (job-store-scripts.ts names it `<live>:<n>` in Lua). */
  liveJobsBucket(n: number): string {
    return `${this.liveJobs()}:${n}`;
  }
  /** The number of the live-job bucket being filled (`<live>:open`). */
  liveJobsOpenBucket(): string {
    return `${this.liveJobs()}:open`;
  }
  /** The live-job buckets, each scored by its oldest job's creation ms (`<live>:buckets`). */
  liveJobsBuckets(): string {
    return `${this.liveJobs()}:buckets`;
  }
  /**
   * A tenant's jobs (ids scored by creation ms), live and recently ended, for listing them
   * (`GET /v1/jobs`): the base name of its buckets {@link tenantJobsBucket} and
   * {@link tenantJobsOpenBucket} (tenant-job-index.ts).
   */
  tenantJobs(tenantId: string): string {
    return `${this.bullPrefix}:tenant-jobs:${tenantId}`;
  }
  /** Bucket `n` of a tenant's job index (`<index>:<n>`, named in Lua). */
  tenantJobsBucket(tenantId: string, n: number): string {
    return `${this.tenantJobs(tenantId)}:${n}`;
  }
  /** The number of a tenant's bucket being filled (`<index>:open`). */
  tenantJobsOpenBucket(tenantId: string): string {
    return `${this.tenantJobs(tenantId)}:open`;
  }
  /** One notice per event-stream write, naming the job (`JOB_STORE` scripts write it; gateways tail it). */
  eventNotices(): string {
    return `${this.bullPrefix}:event-notices`;
  }
  /** Maintenance mode (JSON), set by an admin; every gateway reads it. */
  maintenance(): string {
    return `${this.bullPrefix}:maintenance`;
  }
  /** The pub/sub channel naming jobs to abort (cancel, the stuck-job sweeper). */
  cancelChannel(): string {
    return `${this.bullPrefix}:cancel`;
  }

  // ---- BullMQ's own layout (`<prefix>:<queue>:<suffix>`), for reads BullMQ offers no call for ----

  /** A BullMQ job's hash. */
  bullJob(queue: string, id: string): string {
    return `${this.bullPrefix}:${queue}:${id}`;
  }
  /** One of a BullMQ queue's own keys (`id` counter, `failed` / `completed` sorted sets, …): BullMQ's `queue.toKey(type)`. */
  bullQueue(queue: string, type: string): string {
    return `${this.bullPrefix}:${queue}:${type}`;
  }

  // ---- Fair scheduling (queue's FairScheduler; layout: fair-scheduler-scripts.ts) ----

  /**
   * The start of every fair-scheduling key (`<prefix>:fair:`): the dispatch script builds the keys
   * of whichever deployment is next in the ring from it, spelt as the methods below spell them.
   */
  fairPrefix(): string {
    return `${this.bullPrefix}:fair:`;
  }
  /** A deployment's waiting jobs of one priority, oldest first (entries: fair-scheduler.ts). Ids are URI-encoded. */
  fairList(deploymentId: string, priority: "high" | "normal" | "low"): string {
    return `${this.fairPrefix()}q:${encodeURIComponent(deploymentId)}:${priority}`;
  }
  /** A deployment's scheduling state (hash: weight, cap, tenant, class, deficit). */
  fairDeployment(deploymentId: string): string {
    return `${this.fairPrefix()}dep:${encodeURIComponent(deploymentId)}`;
  }
  /** A capped deployment's jobs handed to BullMQ and not yet ended (zset: job id → when). */
  fairInflight(deploymentId: string): string {
    return `${this.fairPrefix()}inflight:${encodeURIComponent(deploymentId)}`;
  }
  /** Deployments with a cap (set): the inflight sweep visits their inflight sets. */
  fairCapped(): string {
    return `${this.fairPrefix()}capped`;
  }
  /** The round-robin ring of tenants with jobs waiting (list; set `tactive` beside it) … */
  fairRing(): string {
    return `${this.fairPrefix()}tring`;
  }
  /** … each tenant's ring of its deployments with jobs waiting (list) … */
  fairTenantRing(tenantId: string): string {
    return `${this.fairPrefix()}dring:${encodeURIComponent(tenantId)}`;
  }
  /** … and those deployments, all tenants', as a set (membership). */
  fairActive(): string {
    return `${this.fairPrefix()}active`;
  }
  /** Waiting entries with a deadline (zset: `<encoded deployment>|<priority>|<job id>` → deadline ms), for the queue-timeout sweep. */
  fairDeadlines(): string {
    return `${this.fairPrefix()}deadlines`;
  }
  /** Entries popped for BullMQ and not yet confirmed added (zset: entry → when), for crash recovery. */
  fairDispatching(): string {
    return `${this.fairPrefix()}dispatching`;
  }
  /** The dispatchers' wake-up list (a gateway pushes when it queues a job; at most one element). */
  fairNotify(): string {
    return `${this.fairPrefix()}notify`;
  }
  /** Router-workers' registered concurrency (hash: process id → `<concurrency>|<expires ms>`). */
  fairWorkers(): string {
    return `${this.fairPrefix()}workers`;
  }

  // ---- Rate limits (admission's RateLimiter; layout of each key: rate-limiter-scripts.ts) ----

  /**
   * A deployment's rate-limit keys: the request log, the 24 h token sum, and per end user the
   * 24 h log and the calendar-month counter. Ids are URI-encoded, so a `:` in one cannot make
   * two deployments (or users) share a key.
   */
  rateLimit(deploymentId: string): RateLimitKeys {
    const base = `${this.bullPrefix}:rl:${encodeURIComponent(deploymentId)}`;
    return {
      log: `${base}:log`,
      tokday: `${base}:tokday`,
      endUser: (userId) => `${base}:u:${encodeURIComponent(userId)}`,
      endUserMonth: (userId, month) => `${base}:um:${encodeURIComponent(userId)}:${month}`,
    };
  }

  // ---- Budgets and credits (admission's BudgetLedger; layout: budget-ledger-scripts.ts) ----

  /** A budget scope's hash for one period (`periodKey`: `d:<YYYY-MM-DD>` or `m:<YYYY-MM>`). */
  budgetPeriod(scope: BudgetKeyScope, id: string, periodKey: string): string {
    return `${this.bullPrefix}:budget:${scope}:${id}:${periodKey}`;
  }
  /** The scope a {@link budgetPeriod} key belongs to, or null for any other key. */
  budgetScopeOf(key: string): { scope: BudgetKeyScope; id: string } | null {
    const head = `${this.bullPrefix}:budget:`;
    const m = key.startsWith(head) ? /^(tenant|deployment):(.+):[^:]+:[^:]+$/.exec(key.slice(head.length)) : null;
    return m ? { scope: m[1] as BudgetKeyScope, id: m[2]! } : null;
  }
  /** A job's budget reservation record. */
  budgetReservation(jobId: string): string {
    return `${this.budgetReservationPrefix()}${jobId}`;
  }
  /**
   * {@link budgetReservation} without the job id: the budget scripts get it as an argument and
   * put a job id after it, for the reservations the orphan sweep finds by id.
   */
  budgetReservationPrefix(): string {
    return `${this.bullPrefix}:resv:`;
  }
  /** Reserved job ids scored by when their reservation expires (the orphan sweep reads it). */
  budgetReservationExpiry(): string {
    return `${this.bullPrefix}:resv-expiry`;
  }
  /** The marker that one attempt of a job has been settled (settle is once per (job, attempt)). */
  budgetSettled(jobId: string, attempt: number): string {
    return `${this.bullPrefix}:settled:${jobId}:${attempt}`;
  }
  /** A prepaid tenant's credit balance and held credits. */
  credits(tenantId: string): string {
    return `${this.bullPrefix}:credits:${tenantId}`;
  }

  // ---- Alerts (admission's AlertFirer) ----

  /** The once-only marker of one alert (`pending:<id>` / `done:<id>`). */
  alert(kind: string, subject: string, period: string, threshold: number | string): string {
    return `${this.bullPrefix}:alert:${kind}:${subject}:${period}:${threshold}`;
  }

  // ---- Circuit breakers (routing's CircuitBreakers; layout: circuit-breaker-scripts.ts) ----

  /** A model's breaker state hash. */
  breaker(model: string): string {
    return `${this.bullPrefix}:cb:${model}`;
  }
  /** A model's breaker window: outcome counts per time bucket. */
  breakerWindow(model: string): string {
    return `${this.breaker(model)}:win`;
  }
}

/** Whose budget a {@link RedisKeys.budgetPeriod} key holds. */
export type BudgetKeyScope = "tenant" | "deployment";

/** The keys of one deployment's rate limits: {@link RedisKeys.rateLimit}. */
export interface RateLimitKeys {
  /** Sorted set: the sliding log of admitted requests. */
  log: string;
  /** Hash: the 24 h token sum. */
  tokday: string;
  /** Sorted set: one end user's sliding 24 h log. */
  endUser(userId: string): string;
  /** Counter: one end user's messages in a calendar month (`YYYY-MM`, UTC). */
  endUserMonth(userId: string, month: string): string;
}
