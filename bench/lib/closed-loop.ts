/** Outcome of {@link runClosedLoop}. */
export interface LoopResult {
  /** Operations that resolved. */
  ok: number;
  /** Operations that threw (the first few messages are kept). */
  failed: number;
  errors: string[];
  /** Wall time from the first start to the last finish, ms. */
  elapsedMs: number;
  /** Per-operation latency of successful operations, ms. */
  latencies: number[];
  /** True when the time limit stopped the run before `total` operations. */
  timedOut: boolean;
}

/**
 * A closed-loop load generator: `concurrency` callers each start the next operation as soon as
 * their previous one ends, until `total` operations have started or `deadlineMs` has passed.
 * Bounded in count and in time, so a stuck system cannot keep the bench running.
 */
export async function runClosedLoop(opts: { total: number; concurrency: number; timeLimitMs: number; op: (i: number) => Promise<void> }): Promise<LoopResult> {
  const started = performance.now();
  const deadline = started + opts.timeLimitMs;
  const latencies: number[] = [];
  const errors: string[] = [];
  let next = 0;
  let failed = 0;
  let timedOut = false;
  const caller = async (): Promise<void> => {
    while (next < opts.total) {
      if (performance.now() > deadline) {
        timedOut = true;
        return;
      }
      const i = next++;
      const t0 = performance.now();
      try {
        await opts.op(i);
        latencies.push(performance.now() - t0);
      } catch (err) {
        failed++;
        if (errors.length < 5) errors.push((err as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency) }, caller));
  return { ok: latencies.length, failed, errors, elapsedMs: performance.now() - started, latencies, timedOut };
}
