import { monitorEventLoopDelay } from "node:perf_hooks";
import { ROUTE_PRIORITY } from "@switchyard/queue";
import { LAG_RESOLUTION_MS, type MetricsRegistry } from "@switchyard/telemetry";
import { sql } from "kysely";
import type { GatewayResources } from "../resources";

/** Options of {@link BatchThrottle}; every one has a default. */
export interface BatchThrottleOptions {
  /** Most batch lines whose jobs may be unfinished at once, across every running batch (BATCH_MAX_IN_FLIGHT). Default 32. */
  maxInFlight?: number;
  /** The allowance never falls below this under pressure, so a batch always moves (BATCH_MIN_IN_FLIGHT). Default 2. */
  minInFlight?: number;
  /** Adapt the allowance to interactive pressure (AIMD); false: always `maxInFlight` (BATCH_ADAPTIVE). Default true. */
  adaptive?: boolean;
  /** How often the allowance adapts, ms (BATCH_ADAPT_MS). Default 250. */
  adaptMs?: number;
  /** This gateway's event-loop delay p99 above which it is under pressure, ms (BATCH_PRESSURE_LAG_MS). Default 50. */
  lagMs?: number;
  /** Interactive requests this gateway is serving now (the server counts them); default none. */
  interactiveInFlight?: () => number;
}

/** What one adapt step saw (for logs and tests). */
export interface PressureSample {
  /** Interactive (priority above `low`) route jobs waiting, in BullMQ's `ai-route` and the fair lists. */
  waiting: number;
  /** Interactive requests this gateway served during the step (peak in flight). */
  local: number;
  /** This gateway's event-loop delay p99 over the step, ms. */
  lagMs: number;
}

/**
 * Interactive route jobs waiting: BullMQ's prioritized set below `low`'s score band, plus the
 * `high`/`normal` fair lists of the deployments with jobs waiting (at most 200 looked at).
 */
const INTERACTIVE_WAITING = `
local n = redis.call("ZCOUNT", KEYS[1], 0, ARGV[1])
local deps = redis.call("SRANDMEMBER", KEYS[2], 200)
for _, d in ipairs(deps) do
  n = n + redis.call("LLEN", ARGV[2] .. "q:" .. d .. ":high") + redis.call("LLEN", ARGV[2] .. "q:" .. d .. ":normal")
end
return n
`;

/** What the throttle reads: Postgres (batch lines in flight), Redis (interactive jobs waiting), the metrics registry. */
export type ThrottleResources = Pick<GatewayResources, "db" | "redis" | "keys" | "registry">;

const gauges = new WeakMap<MetricsRegistry, Set<BatchThrottle>>();

/**
 * Background batch work that yields to interactive traffic (issue 18). Each batch line is a whole
 * job (admission, worker, events, usage) on the same CPUs as interactive jobs, so the runner keeps
 * at most `limit` batch lines unfinished across all batches, and adapts `limit` by AIMD: at each
 * step (`adaptMs`) under interactive pressure it halves (never below `minInFlight`), otherwise it
 * grows by one (never above `maxInFlight`). Pressure: interactive jobs waiting in `ai-route` or the
 * fair lists, interactive requests in flight on this gateway, or this gateway's event-loop delay
 * p99 above `lagMs`. `ai_batch_admit_limit` shows the allowance.
 */
export class BatchThrottle {
  readonly maxInFlight: number;
  readonly minInFlight: number;
  /** The current allowance: batch lines that may be unfinished at once, across all batches. */
  limit: number;
  private readonly adaptive: boolean;
  private readonly adaptMs: number;
  private readonly lagMs: number;
  private readonly interactive: () => number;
  private readonly lag: ReturnType<typeof monitorEventLoopDelay> | null;
  private adaptedAt = 0;
  private localPeak = 0;
  private readonly backoffs: ReturnType<MetricsRegistry["meter"]["createCounter"]>;
  last: PressureSample = { waiting: 0, local: 0, lagMs: 0 };

  constructor(
    private readonly r: ThrottleResources,
    opts: BatchThrottleOptions = {},
  ) {
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? 32);
    this.minInFlight = Math.min(this.maxInFlight, Math.max(1, opts.minInFlight ?? 2));
    this.adaptive = opts.adaptive ?? true;
    this.adaptMs = Math.max(10, opts.adaptMs ?? 250);
    this.lagMs = opts.lagMs ?? 50;
    this.interactive = opts.interactiveInFlight ?? (() => 0);
    // Adaptive: start low and grow (a batch that starts under load never floods it); fixed: the cap.
    this.limit = this.adaptive ? this.minInFlight : this.maxInFlight;
    this.lag = this.adaptive ? monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS }) : null;
    this.lag?.enable();
    let set = gauges.get(r.registry);
    if (!set) {
      const throttles = new Set<BatchThrottle>();
      set = throttles;
      gauges.set(r.registry, throttles);
      r.registry.meter
        .createObservableGauge("ai_batch_admit_limit", {
          description:
            "Batch lines this gateway's batch runner may keep unfinished at once (AIMD allowance: halves under interactive pressure, grows by one when idle)",
        })
        .addCallback((o) => {
          for (const t of throttles) o.observe(t.limit);
        });
    }
    set.add(this);
    this.backoffs = r.registry.meter.createCounter("ai_batch_backoffs_total", {
      description: "Times the batch runner halved its in-flight allowance under interactive pressure, by signal (waiting, local, lag)",
    });
  }

  /** Note the interactive requests in flight now (called by the server on each request: the step keeps the peak). */
  noteInteractive(n: number): void {
    this.localPeak = Math.max(this.localPeak, n);
  }

  /** Batch lines unfinished (submitted, not yet collected) across every running batch. */
  async inFlight(): Promise<number> {
    const { rows } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM batch_lines l JOIN batches b ON b.id = l.batch_id
      WHERE b.status IN ('in_progress', 'finalizing', 'cancelling') AND l.state = 'submitted'`.execute(this.r.db);
    return rows[0]?.n ?? 0;
  }

  /** How many more batch lines may be admitted now (adapting the allowance first, at most once per `adaptMs`). */
  async room(): Promise<number> {
    await this.adapt();
    return Math.max(0, this.limit - (await this.inFlight()));
  }

  /** One AIMD step if `adaptMs` has passed: halve under pressure, else grow by one. */
  async adapt(now = Date.now()): Promise<void> {
    if (!this.adaptive || now - this.adaptedAt < this.adaptMs) return;
    this.adaptedAt = now;
    const s = await this.sample();
    this.last = s;
    const signal = s.waiting > 0 ? "waiting" : s.local > 0 ? "local" : s.lagMs > this.lagMs ? "lag" : null;
    if (signal) {
      const next = Math.max(this.minInFlight, Math.floor(this.limit / 2));
      if (next < this.limit) this.backoffs.add(1, { signal });
      this.limit = next;
    } else this.limit = Math.min(this.maxInFlight, this.limit + 1);
  }

  private async sample(): Promise<PressureSample> {
    const { redis, keys } = this.r;
    const below = ROUTE_PRIORITY.low * 0x100000000 - 1;
    const waiting = Number(
      await redis.eval(INTERACTIVE_WAITING, 2, keys.bullQueue("ai-route", "prioritized"), keys.fairActive(), String(below), keys.fairPrefix()).catch(() => 0),
    );
    const local = Math.max(this.localPeak, this.interactive());
    this.localPeak = 0;
    // The histogram holds the time between ticks: the period itself is not lag.
    const lagMs = this.lag && this.lag.count > 0 ? Math.max(0, this.lag.percentile(99) / 1e6 - LAG_RESOLUTION_MS) : 0;
    this.lag?.reset();
    return { waiting, local, lagMs };
  }

  close(): void {
    this.lag?.disable();
    gauges.get(this.r.registry)?.delete(this);
  }
}

/** Requests that are interactive work (they admit or run a job now), which a batch yields to. */
export const isInteractiveRequest = (method: string | undefined, url: string | undefined): boolean =>
  method === "POST" && /^\/v1\/(chat\/completions|completions|responses|jobs|embeddings|messages)(\?|$)/.test(url ?? "");
