import type { JobEvent, JobView, WaitReason } from "@switchyard/contracts";
import { isProviderError } from "@switchyard/providers";
import type { BreakerPermit, BreakerSnapshot } from "@switchyard/routing";
import { DelayedError, type Job } from "bullmq";
import type { FinishContext } from "./finish-job";
import type { RouteDeps } from "./route-deps";

/** Longest backoff between two tries of a parked job. */
const MAX_BACKOFF_MS = 8000;
/** Longest a job parks in one go on an upstream's Retry-After. */
const MAX_RETRY_AFTER_MS = 60_000;

/** Why a delivery parks its job, and how long the upstream asked it to hold off (0: unknown). */
export interface WaitWhy {
  reason: WaitReason;
  holdMs: number;
}

/**
 * What one delivery learnt about its chain while walking it: which models' breakers were open
 * (and for how long), and whether an upstream answered 429 (and its Retry-After). It names the
 * wait when every model failed or was held back.
 */
export class WaitCause {
  private readonly open = new Set<string>();
  private readonly openForMs: number[] = [];
  private rateLimitedMs: number | null = null;

  /** A breaker refused the call (`acquire`). */
  refused(model: string, permit: BreakerPermit): void {
    this.open.add(model);
    if (permit.retryInMs !== undefined) this.openForMs.push(permit.retryInMs);
  }

  /** A call failed before its answer; `breakerNow` is the breaker's state after the failure was recorded. */
  failed(model: string, err: unknown, breakerNow: string | undefined): void {
    if (isProviderError(err) && err.kind === "rate_limited") this.rateLimitedMs = Math.max(this.rateLimitedMs ?? 0, err.retryAfterMs ?? 0);
    if (breakerNow === "open") this.open.add(model);
  }

  /**
   * The wait's reason: an upstream 429 (`rate_limited_upstream`, held for its Retry-After); else
   * every model of the chain behind an open breaker (`breaker_open`, held until the first one
   * half-opens); else `capacity` — the upstream failed before answering (5xx, timeout, dropped
   * connection) while its breaker is still closed, so it is busy rather than known to be down.
   */
  why(chain: readonly string[]): WaitWhy {
    if (this.rateLimitedMs !== null) return { reason: "rate_limited_upstream", holdMs: this.rateLimitedMs };
    if (chain.length > 0 && chain.every((m) => this.open.has(m)))
      return { reason: "breaker_open", holdMs: this.openForMs.length ? Math.min(MAX_BACKOFF_MS, ...this.openForMs) : 0 };
    return { reason: "capacity", holdMs: 0 };
  }
}

/**
 * Routing found every model excluded (open breakers): wait until the first one's open period
 * ends, but look again at least every 8 s (an operator may reset a breaker before then).
 */
export function breakersOpen(states: Record<string, BreakerSnapshot>, now = Date.now()): WaitWhy {
  const until = Object.values(states).flatMap((s) => (s.state === "open" && s.open_until !== undefined ? [s.open_until - now] : []));
  return { reason: "breaker_open", holdMs: until.length ? Math.max(0, Math.min(MAX_BACKOFF_MS, ...until)) : 0 };
}

/** True when the job may still wait for its upstream (younger than `maxUpstreamWaitMs`, and BullMQ gave a token to delay with). */
export function mayWait(d: RouteDeps, view: JobView, token: string | undefined): boolean {
  return !!token && Date.now() - Date.parse(view.created_at) <= d.maxUpstreamWaitMs;
}

/**
 * How long to park: a backoff (1 s doubling to 8 s) or, when longer, what the upstream asked for
 * (the rest of a breaker's open period, up to 8 s; a Retry-After, up to a minute), with jitter so
 * parked jobs do not wake together; never much past the job's last chance to run
 * (`maxUpstreamWaitMs` from its creation).
 */
export function parkDelayMs(deliveries: number, holdMs: number, msLeft: number, rand = Math.random): number {
  const backoff = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(deliveries - 1, 3)) * (0.75 + rand() * 0.5);
  const hold = Math.min(MAX_RETRY_AFTER_MS, holdMs) * (1 + rand() * 0.25);
  return Math.round(Math.min(Math.max(backoff, hold), Math.max(250, msLeft + 50)));
}

/**
 * Park the job until `retry_at` without using a BullMQ attempt; a delivery that called no provider
 * counts as a wait, not a run. Sent together (one round trip on each connection): the wait count,
 * the job's `status: "waiting"` event with the reason and `retry_at` (followers see why and until
 * when; a job that ended meanwhile gets none), and BullMQ's move to delayed. Always throws (DelayedError).
 */
export async function park(
  d: RouteDeps,
  job: Job,
  token: string | undefined,
  ctx: FinishContext,
  ran: boolean,
  why: WaitWhy,
  createdAt: string,
): Promise<never> {
  const jobId = ctx.payload.job_id;
  const deliveries = ctx.counts.runs + ctx.counts.waits + 1;
  const msLeft = Date.parse(createdAt) + d.maxUpstreamWaitMs - Date.now();
  const retryAt = new Date(Date.now() + parkDelayMs(deliveries, why.holdMs, msLeft));
  // The waits after this one, as START_ATTEMPT read them (a racing delivery could make it one off; it is informational).
  const waits = ctx.counts.waits + (ran ? 0 : 1);
  const waiting: JobEvent = { type: "status", data: { status: "waiting", reason: why.reason, retry_at: retryAt.toISOString(), waits } };
  const [counted, noted, moved] = await Promise.allSettled([
    ran ? Promise.resolve(0) : d.jobStore.countWait(jobId),
    d.jobStore.append(jobId, waiting),
    job.moveToDelayed(retryAt.getTime(), token),
  ]);
  if (moved.status === "rejected") throw moved.reason;
  if (counted.status === "rejected") throw counted.reason;
  // The job is parked either way; only followers miss the notice.
  if (noted.status === "rejected") d.logger.warn({ err: (noted.reason as Error).message, jobId }, "waiting status not written");
  d.waitMetrics.waited(why.reason);
  throw new DelayedError();
}
