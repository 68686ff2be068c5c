import { createHash } from "node:crypto";
import { newId, RedisKeys, type AlertJobPayload } from "@switchyard/contracts";
import type { Cluster, Redis as SingleRedis } from "ioredis";

/** One server or a Redis Cluster (the keys are all in one hash slot). */
type Redis = SingleRedis | Cluster;
import { z } from "zod";
import type { BudgetScopeRef, BudgetUsage } from "./budget-ledger";

/** What an alert is about. */
export type AlertKind = "budget_threshold" | "daily_cost_exceeded";

/** Budget thresholds, in percent of the limit, that raise an alert. */
export const ALERT_THRESHOLDS = [80, 90, 100] as const;
export type AlertThreshold = (typeof ALERT_THRESHOLDS)[number];

/**
 * The body of an `ai-alerts` job, which is also the JSON the webhook receives: the fields that
 * identify the alert, plus the details of its kind (spend, limits, …). Parsed by the producer
 * before enqueueing and by the consumer before recording it.
 */
export const AlertBody = z.looseObject({
  alert_id: z.string().min(1),
  kind: z.enum(["budget_threshold", "daily_cost_exceeded"]),
  tenant_id: z.string().min(1),
  /** Whose alert: `deployment:<id>`, `tenant:<id>`. */
  subject: z.string().min(1),
  /** The budget period key (`d:2026-11-23`, `m:2026-11`) or, for daily cost, the UTC day. */
  period: z.string().min(1),
  threshold: z.number().int().min(1),
  /** When the alert was decided (ISO 8601): before the request or job that crossed the threshold was answered. */
  fired_at: z.iso.datetime({ offset: true }),
});
export type AlertBody = z.infer<typeof AlertBody>;

/** One alert to raise; it is raised at most once per (kind, subject, period, threshold). */
export interface AlertFire {
  kind: AlertKind;
  tenantId: string;
  /** `deployment:dep_x`, `tenant:ten_y`: see {@link budgetSubject}. */
  subject: string;
  /** The budget period key (`d:2026-11-23`, `m:2026-11`) or the UTC day (`2026-11-23`). */
  period: string;
  /** 80, 90 or 100 for budgets; 100 for daily cost. */
  threshold: number;
  /** Merged into the body (the identifying fields above win over a detail of the same name). */
  details: Record<string, unknown>;
  /**
   * When the period ends: the once-only marker is kept until then plus a grace, so a month-long
   * budget period cannot fire twice. Default: the firer's `ttlMs` from now.
   */
  until?: Date;
}

/** What {@link AlertFirer.fire} did. */
export interface FireResult {
  /** This call claimed the alert and enqueued it. */
  fired: boolean;
  /** The alert's id (this call's, or the one that claimed it first), when known. */
  alertId: string | null;
}

/** The slice of `QueueSet` the firer needs (any `QueueSet` fits). */
export interface AlertQueue {
  enqueue(
    name: "ai-alerts",
    payload: AlertJobPayload,
    opts: { jobId: string; removeOnComplete: { age: number; count: number }; removeOnFail: { age: number; count: number } },
  ): Promise<unknown>;
}

/** Options of {@link AlertFirer}. */
export interface AlertFirerOptions {
  redis: Redis;
  /** Key prefix without braces; markers are `RedisKeys.alert` (`{prefix}:alert:<kind>:<subject>:<period>:<threshold>`). */
  prefix: string;
  queues: AlertQueue;
  /** Shortest time a once-only marker is kept. Default 3 days. */
  ttlMs?: number;
  /** Added to `until` when an alert gives one. Default 2 days. */
  graceMs?: number;
  /** Alerts this process remembers having seen fired, so it stops asking Redis. Default 10 000. */
  memoSize?: number;
  /** Called after each enqueue this process made (e.g. to count `ai_queue_enqueue_total`). */
  onEnqueue?: () => void;
  /** Clock for `fired_at`. Default `() => new Date()`. */
  now?: () => Date;
}

// Finished alert jobs stay a week, so a re-add of the same job id within that time is a no-op.
const KEEP = { removeOnComplete: { age: 7 * 86_400, count: 10_000 }, removeOnFail: { age: 30 * 86_400, count: 10_000 } };
const MARK_DONE = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL') return 1 end return 0`;
const UNCLAIM = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * Raises alerts at most once per (kind, subject, period, threshold) across every process: the
 * first caller claims a marker in Redis (`SET NX`), enqueues an `ai-alerts` job whose BullMQ id
 * is derived from the same tuple, and marks the claim done. A caller that finds a claim still
 * pending adds the same job too (same id, so only one lands) before returning, so no process can
 * answer a request the alert is about before the alert is in the queue.
 */
export class AlertFirer {
  private readonly redis: Redis;
  private readonly keys: RedisKeys;
  private readonly queues: AlertQueue;
  private readonly ttlMs: number;
  private readonly graceMs: number;
  private readonly memoSize: number;
  private readonly onEnqueue: (() => void) | undefined;
  private readonly now: () => Date;
  // marker key → when it expires (ms). Insertion order doubles as age for eviction.
  private readonly seen = new Map<string, number>();

  constructor(opts: AlertFirerOptions) {
    this.redis = opts.redis;
    this.keys = new RedisKeys(opts.prefix);
    this.queues = opts.queues;
    this.ttlMs = opts.ttlMs ?? 3 * 86_400_000;
    this.graceMs = opts.graceMs ?? 2 * 86_400_000;
    this.memoSize = Math.max(0, Math.floor(opts.memoSize ?? 10_000));
    this.onEnqueue = opts.onEnqueue;
    this.now = opts.now ?? (() => new Date());
  }

  /** Raise `a` unless it was raised before; resolves once the alert is in the queue. */
  async fire(a: AlertFire): Promise<FireResult> {
    const key = this.keys.alert(a.kind, a.subject, a.period, a.threshold);
    const at = this.now();
    const known = this.seen.get(key);
    if (known !== undefined && known > at.getTime()) return { fired: false, alertId: null };
    const ttl = Math.max(this.ttlMs, a.until ? a.until.getTime() + this.graceMs - at.getTime() : 0);
    const alertId = newId("alrt", at.getTime());
    const claimed = await this.redis.set(key, `pending:${alertId}`, "PX", Math.ceil(ttl), "NX");
    if (claimed === "OK") {
      try {
        await this.enqueue(a, alertId, at);
      } catch (err) {
        // Not in the queue: give the claim back so the next crossing tries again.
        await this.redis.eval(UNCLAIM, 1, key, `pending:${alertId}`).catch(() => 0);
        throw err;
      }
      await this.redis.eval(MARK_DONE, 1, key, `pending:${alertId}`, `done:${alertId}`);
      this.remember(key, at.getTime() + ttl);
      return { fired: true, alertId };
    }
    const current = await this.redis.get(key);
    if (current?.startsWith("pending:")) {
      // The winner may not have enqueued yet: add the same job (same id) rather than overtake it.
      const id = current.slice("pending:".length);
      await this.enqueue(a, id, at);
      await this.redis.eval(MARK_DONE, 1, key, current, `done:${id}`);
      this.remember(key, at.getTime() + ttl);
      return { fired: false, alertId: id };
    }
    if (current !== null) this.remember(key, at.getTime() + ttl);
    return { fired: false, alertId: current?.startsWith("done:") ? current.slice("done:".length) : null };
  }

  private async enqueue(a: AlertFire, alertId: string, at: Date): Promise<void> {
    const body = AlertBody.parse({
      ...a.details,
      alert_id: alertId,
      kind: a.kind,
      tenant_id: a.tenantId,
      subject: a.subject,
      period: a.period,
      threshold: a.threshold,
      fired_at: at.toISOString(),
    });
    await this.queues.enqueue("ai-alerts", { alert_id: alertId, tenant_id: a.tenantId, kind: a.kind, body }, { jobId: alertJobId(a), ...KEEP });
    this.onEnqueue?.();
  }

  private remember(key: string, expiresAt: number): void {
    if (this.memoSize === 0) return;
    this.seen.delete(key);
    this.seen.set(key, expiresAt);
    if (this.seen.size > this.memoSize) this.seen.delete(this.seen.keys().next().value!);
  }
}

/** The BullMQ job id of an alert: derived from (kind, subject, period, threshold) alone (BullMQ ids cannot hold `:`). */
export function alertJobId(a: Pick<AlertFire, "kind" | "subject" | "period" | "threshold">): string {
  const h = createHash("sha256")
    .update(JSON.stringify([a.kind, a.subject, a.period, a.threshold]))
    .digest("hex")
    .slice(0, 32);
  return `alert-${a.kind}-${a.threshold}-${h}`;
}

/** `deployment:dep_x` / `tenant:ten_y`: the subject of a budget's alerts. */
export function budgetSubject(scope: BudgetScopeRef): string {
  return `${scope.scope}:${scope.id}`;
}

/** The thresholds a used ratio (spent + reserved over the limit) has reached, lowest first. */
export function thresholdsCrossed(ratio: number): AlertThreshold[] {
  if (!Number.isFinite(ratio)) return [];
  // The ledger computes ratios from integer nano-dollars; the epsilon absorbs the last bit of a division.
  return ALERT_THRESHOLDS.filter((t) => ratio + 1e-9 >= t / 100);
}

/** Options of {@link checkBudgetAlerts}. */
export interface BudgetAlertOptions {
  /** A scope that just refused a request: its 100 % alert fires whatever its ratio says. */
  exhausted?: BudgetScopeRef;
  /** Added to every alert's details (e.g. `{ trigger: "admission" }`). */
  extra?: Record<string, unknown>;
}

/**
 * Raise `budget_threshold` alerts for every threshold each scope's `used_ratio` has reached (and
 * 100 % for an `exhausted` scope). Each is raised once per (scope, period, threshold), so calling
 * this on every admission and settle is cheap once they have fired (the firer remembers).
 */
export async function checkBudgetAlerts(firer: AlertFirer, usage: BudgetUsage[], tenantId: string, opts: BudgetAlertOptions = {}): Promise<FireResult[]> {
  const out: FireResult[] = [];
  for (const u of usage) {
    const crossed = new Set<number>(thresholdsCrossed(u.used_ratio));
    if (opts.exhausted && opts.exhausted.scope === u.scope && opts.exhausted.id === u.id) crossed.add(100);
    for (const threshold of [...crossed].sort((a, b) => a - b)) {
      const details: Record<string, unknown> = {
        ...opts.extra,
        scope: u.scope,
        scope_id: u.id,
        budget_period: u.period,
        period_start: u.period_start,
        period_end: u.period_end,
        limit_usd: u.limit_usd ?? null,
        limit_tokens: u.limit_tokens ?? null,
        spent_usd: u.spent_usd,
        spent_tokens: u.spent_tokens,
        reserved_usd: u.reserved_usd,
        reserved_tokens: u.reserved_tokens,
        used_ratio: u.used_ratio,
      };
      out.push(
        await firer.fire({
          kind: "budget_threshold",
          tenantId,
          subject: budgetSubject(u),
          period: u.period_key,
          threshold,
          details,
          until: new Date(u.period_end),
        }),
      );
    }
  }
  return out;
}
