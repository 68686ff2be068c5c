import type { Cluster, Redis as SingleRedis } from "ioredis";

/** One server or a Redis Cluster (the keys are all in one hash slot). */
type Redis = SingleRedis | Cluster;
import { BreakerState, RedisKeys } from "@switchyard/contracts";
import { z } from "zod";
import { CB_ACQUIRE, CB_FORCE_OPEN, CB_RECORD, CB_STATES } from "./circuit-breaker-scripts";

// The HTTP API shows breaker states too, so the enum lives in contracts.
export { BreakerState };

/** The answer to "may I call this model now?". */
export interface BreakerPermit {
  allowed: boolean;
  /** State after this call (an expired open breaker has just become half_open). */
  state: BreakerState;
  /** This caller holds the half-open probe: report its outcome with `record(…, { probe: true })`. */
  probe: boolean;
  /** When refused: ms until the open period ends (open) or, at most, until the probe's lease runs out (half_open). */
  retryInMs?: number;
}

/** What `record` did. */
export interface BreakerRecordResult {
  state: BreakerState;
  /** This outcome moved the breaker (tripped it, re-opened it or closed it). */
  changed: boolean;
}

/** A breaker as ops see it (`GET /admin/v1/circuit-breakers`, `/health/ai`). Times are epoch ms (Redis clock). */
export interface BreakerSnapshot {
  state: BreakerState;
  opened_at?: number;
  open_until?: number;
  /** Outcomes in the current window (closed breakers count; open ones keep the window that tripped them until it ages out). */
  failures: number;
  successes: number;
}

export interface CircuitBreakersOptions {
  redis: Redis;
  /** Key prefix without braces; keys are `RedisKeys.breaker` and `.breakerWindow` (`{prefix}:cb:<model>`, `{prefix}:cb:<model>:win`). */
  prefix: string;
  /** Rolling window of outcomes, counted in tenths. Default 30 000 ms. */
  windowMs?: number;
  /** Outcomes the window needs before the error rate may trip the breaker. Default 10. */
  minVolume?: number;
  /** Share of failures (0..1) in the window that trips the breaker. Default 0.5. */
  errorRateThreshold?: number;
  /** How long a tripped breaker stays open before one probe is let through. Default 15 000 ms. */
  openMs?: number;
  /** A probe that has not reported within this time is presumed lost and another caller may probe. Default 30 000 ms. */
  halfOpenProbeTimeoutMs?: number;
  /** Cap on a provider's Retry-After, so a bogus header cannot park a model for days. Default 300 000 ms. */
  maxRetryAfterMs?: number;
}

type Scripted = Redis & {
  syCbAcquire(state: string, leaseMs: string): Promise<unknown>;
  syCbRecord(state: string, win: string, ...argv: string[]): Promise<unknown>;
  syCbStates(numberOfKeys: number, ...keysThenArgv: string[]): Promise<unknown>;
  syCbForceOpen(state: string, durationMs: string): Promise<unknown>;
};

const AcquireReply = z.tuple([z.number(), BreakerState, z.number(), z.number()]);
const RecordReply = z.tuple([BreakerState, z.number(), z.number(), z.number()]);
const StatesReply = z.array(z.tuple([BreakerState, z.string(), z.string(), z.number(), z.number()]));

/** The `circuit_breaker_state{model}` gauge value: 0 closed, 1 half-open, 2 open. */
export function stateCode(state: BreakerState): 0 | 1 | 2 {
  switch (state) {
    case "closed":
      return 0;
    case "half_open":
      return 1;
    case "open":
      return 2;
  }
}

/**
 * Circuit breakers per model, their state shared by every worker through Redis. Each decision is
 * one Lua script on Redis `TIME`, so workers agree on state and clock.
 *
 * - closed: calls pass; outcomes fill a rolling window. Once the window holds ≥ `minVolume`
 *   outcomes with an error rate ≥ `errorRateThreshold`, the breaker opens for `openMs`.
 * - A failure recorded with `retryAfterMs` (a 429/503 that carried `Retry-After`) opens the breaker
 *   at once for that long (capped at `maxRetryAfterMs`), whatever the window says: the provider has
 *   said when to come back. It never shortens an open period already running.
 * - open: calls are refused until the period ends; then exactly one caller gets a probe
 *   (half_open). Probe success closes the breaker and clears the window; probe failure re-opens it
 *   for `max(openMs, retryAfterMs)`. A probe that never reports is presumed lost after
 *   `halfOpenProbeTimeoutMs`, and the next caller probes instead.
 *
 * Callers record only failures that say the model is unwell (429, 5xx, timeouts, connection
 * errors), never a client's 4xx.
 */
export class CircuitBreakers {
  private readonly redis: Scripted;
  private readonly keys: RedisKeys;
  private readonly windowMs: number;
  private readonly bucketMs: number;
  private readonly minVolume: number;
  private readonly threshold: number;
  private readonly openMs: number;
  private readonly probeTimeoutMs: number;
  private readonly maxRetryAfterMs: number;

  constructor(opts: CircuitBreakersOptions) {
    this.redis = opts.redis as Scripted;
    this.keys = new RedisKeys(opts.prefix);
    this.windowMs = positive("windowMs", opts.windowMs ?? 30_000);
    this.bucketMs = Math.max(1, Math.ceil(this.windowMs / 10));
    this.minVolume = positive("minVolume", opts.minVolume ?? 10);
    this.threshold = opts.errorRateThreshold ?? 0.5;
    if (!(this.threshold > 0 && this.threshold <= 1)) throw new RangeError(`errorRateThreshold must be in (0, 1], got ${this.threshold}`);
    this.openMs = positive("openMs", opts.openMs ?? 15_000);
    this.probeTimeoutMs = positive("halfOpenProbeTimeoutMs", opts.halfOpenProbeTimeoutMs ?? 30_000);
    this.maxRetryAfterMs = positive("maxRetryAfterMs", opts.maxRetryAfterMs ?? 300_000);
    const r = opts.redis;
    if (!("syCbAcquire" in r)) {
      r.defineCommand("syCbAcquire", { numberOfKeys: 1, lua: CB_ACQUIRE });
      r.defineCommand("syCbRecord", { numberOfKeys: 2, lua: CB_RECORD });
      r.defineCommand("syCbForceOpen", { numberOfKeys: 1, lua: CB_FORCE_OPEN });
      // No numberOfKeys: the key count varies and is passed first at call time.
      r.defineCommand("syCbStates", { lua: CB_STATES });
    }
  }

  /** May a call go to `model` now? A half-open breaker lets exactly one caller through as the probe. */
  async acquire(model: string): Promise<BreakerPermit> {
    const [allowed, state, probe, retryIn] = AcquireReply.parse(await this.redis.syCbAcquire(this.stateKey(model), String(this.probeTimeoutMs)));
    const permit: BreakerPermit = { allowed: allowed === 1, state, probe: probe === 1 };
    if (retryIn >= 0) permit.retryInMs = retryIn;
    return permit;
  }

  /**
   * Report how a call went. `probe: true` when `acquire` granted this caller the probe.
   * `retryAfterMs` (from a provider's `Retry-After` on a failure) opens the breaker at once for that long.
   */
  async record(model: string, outcome: "success" | "failure", opts: { retryAfterMs?: number; probe?: boolean } = {}): Promise<BreakerRecordResult> {
    const retryAfter =
      outcome === "failure" && opts.retryAfterMs !== undefined && opts.retryAfterMs > 0 ? Math.min(Math.ceil(opts.retryAfterMs), this.maxRetryAfterMs) : 0;
    const reply = await this.redis.syCbRecord(
      this.stateKey(model),
      this.windowKey(model),
      outcome === "failure" ? "f" : "s",
      String(retryAfter),
      opts.probe ? "1" : "0",
      String(this.windowMs),
      String(this.bucketMs),
      String(this.minVolume),
      String(this.threshold),
      String(this.openMs),
    );
    const [state, changed] = RecordReply.parse(reply);
    return { state, changed: changed === 1 };
  }

  /** One breaker's state (an open breaker whose period has passed reads half_open). */
  async state(model: string): Promise<BreakerSnapshot> {
    const all = await this.states([model]);
    return all[model] ?? { state: "closed", failures: 0, successes: 0 };
  }

  /** Several breakers read in one script (all keys share the `{prefix}` hash slot). */
  async states(models: readonly string[]): Promise<Record<string, BreakerSnapshot>> {
    const unique = [...new Set(models)];
    const out: Record<string, BreakerSnapshot> = {};
    if (unique.length === 0) return out;
    const keys = unique.flatMap((m) => [this.stateKey(m), this.windowKey(m)]);
    const reply = await this.redis.syCbStates(keys.length, ...keys, String(this.windowMs), String(this.bucketMs));
    const rows = StatesReply.parse(reply);
    unique.forEach((model, i) => {
      const row = rows[i];
      if (!row) return;
      const [state, openedAt, openUntil, successes, failures] = row;
      const snap: BreakerSnapshot = { state, failures, successes };
      if (openedAt !== "") snap.opened_at = Number(openedAt);
      if (openUntil !== "") snap.open_until = Number(openUntil);
      out[model] = snap;
    });
    return out;
  }

  /** Close a breaker and forget its window (operators' reset). */
  async reset(model: string): Promise<void> {
    await this.redis.del(this.stateKey(model), this.windowKey(model));
  }

  /** Hold a breaker open for `durationMs` from now, whatever its state; a probe follows as usual. Returns open_until (epoch ms). */
  async forceOpen(model: string, durationMs: number): Promise<number> {
    const reply = await this.redis.syCbForceOpen(this.stateKey(model), String(Math.ceil(positive("durationMs", durationMs))));
    return z.number().parse(reply);
  }

  private stateKey(model: string): string {
    return this.keys.breaker(model);
  }

  private windowKey(model: string): string {
    return this.keys.breakerWindow(model);
  }
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number, got ${value}`);
  return value;
}
