/** Options of {@link runOpenLoop}. */
export interface OpenLoopOptions {
  /** Arrivals per second; request `i` is due at `start + i * 1000 / ratePerSecond`. */
  ratePerSecond: number;
  /** How long arrivals are scheduled, ms. */
  durationMs: number;
  /**
   * Most requests in flight at once. An arrival that finds this many outstanding is not sent and
   * is counted in `dropped` (the system is not keeping up; queueing it in the client would hide that).
   */
  maxInFlight: number;
  /** A request sent more than this after its due time is counted in `late` (default 5 ms). */
  lateToleranceMs?: number;
  /** After the last arrival, how long to wait for outstanding requests; those still out count as failed (default 30 000 ms). */
  drainTimeoutMs?: number;
  /** One request; resolves when its answer was received and checked, throws on any failure. */
  op: (i: number) => Promise<void>;
}

/** Outcome of {@link runOpenLoop}. */
export interface OpenLoopResult {
  /** Arrivals the schedule held (`ratePerSecond * durationMs / 1000`). */
  scheduled: number;
  /** Requests actually sent (scheduled minus dropped). */
  sent: number;
  ok: number;
  /** Requests that threw, plus those still outstanding when the drain wait ended. */
  failed: number;
  /** Arrivals not sent because `maxInFlight` requests were outstanding. */
  dropped: number;
  /** Requests sent more than `lateToleranceMs` after their due time (the generator itself fell behind). */
  late: number;
  /** Largest send delay behind schedule, ms. */
  maxSendLagMs: number;
  /** Requests still outstanding when the drain wait ended (included in `failed`). */
  unfinished: number;
  /** First few error messages. */
  errors: string[];
  /**
   * Latency of successful requests from their due time (not from when they were actually sent),
   * so a generator that falls behind cannot hide queueing (no coordinated omission), ms.
   */
  latencies: number[];
  /** Latency of successful requests from when they were actually sent, ms. */
  serviceLatencies: number[];
  /** Successful requests per second over the scheduling window. */
  achievedRate: number;
  /** Wall time from the first arrival until the last request ended (or the drain wait gave up), ms. */
  elapsedMs: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/**
 * An open-loop load generator: sends requests on a fixed schedule whatever the previous ones are
 * doing (a closed loop slows down with the system under test and so understates its latency).
 * Bounded in time (schedule + drain wait) and in requests outstanding.
 */
export async function runOpenLoop(opts: OpenLoopOptions): Promise<OpenLoopResult> {
  const tolerance = opts.lateToleranceMs ?? 5;
  const interval = 1000 / opts.ratePerSecond;
  const scheduled = Math.max(0, Math.floor((opts.ratePerSecond * opts.durationMs) / 1000));
  const latencies: number[] = [];
  const serviceLatencies: number[] = [];
  const errors: string[] = [];
  const outstanding = new Set<Promise<void>>();
  let failed = 0;
  let dropped = 0;
  let late = 0;
  let maxSendLagMs = 0;

  const start = performance.now();
  for (let i = 0; i < scheduled; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    // setTimeout is late by about a millisecond; waking a little early and spinning on the
    // remainder would burn the CPU the system under test shares, so the lag is measured instead.
    if (wait > 0) await sleep(wait);
    const lag = performance.now() - due;
    maxSendLagMs = Math.max(maxSendLagMs, lag);
    if (outstanding.size >= opts.maxInFlight) {
      dropped++;
      continue;
    }
    if (lag > tolerance) late++;
    const sentAt = performance.now();
    const p: Promise<void> = opts.op(i).then(
      () => {
        const end = performance.now();
        latencies.push(end - due);
        serviceLatencies.push(end - sentAt);
      },
      (err: unknown) => {
        failed++;
        if (errors.length < 5) errors.push(err instanceof Error ? err.message : String(err));
      },
    );
    outstanding.add(p);
    void p.finally(() => outstanding.delete(p));
  }
  const windowMs = Math.max(performance.now() - start, opts.durationMs);

  const drainDeadline = performance.now() + (opts.drainTimeoutMs ?? 30_000);
  while (outstanding.size > 0 && performance.now() < drainDeadline) {
    await Promise.race([Promise.allSettled([...outstanding]), sleep(Math.min(250, drainDeadline - performance.now()))]);
  }
  const unfinished = outstanding.size;
  return {
    scheduled,
    sent: scheduled - dropped,
    ok: latencies.length,
    failed: failed + unfinished,
    dropped,
    late,
    maxSendLagMs,
    unfinished,
    // Copies: a request still out after the drain wait may end later and must not change the result.
    errors: [...errors],
    latencies: [...latencies],
    serviceLatencies: [...serviceLatencies],
    achievedRate: latencies.length / (windowMs / 1000),
    elapsedMs: performance.now() - start,
  };
}
