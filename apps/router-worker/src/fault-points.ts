import { faultHook, parseFaultSpec } from "@switchyard/contracts";
/**
 * Named places in a job's delivery where a crash test can kill the worker: each lies between two
 * writes that a crash could split (the start of an attempt and its first output, the terminal
 * transition, settlement and the usage hand-off).
 */
export const FAULT_POINTS = [
  /** START_ATTEMPT ran (a due `restart` is written); nothing else yet. */
  "attempt.started",
  /** A usage event was parked in the job hash (a dead run's, a failed run's, a canceled run's), not yet settled. */
  "usage.parked",
  /** A usage event's spend was settled in the budgets, not yet enqueued. */
  "usage.settled",
  /** A usage event was enqueued to `ai-usage`, its parked copy not yet cleared. */
  "usage.enqueued",
  /**
   * BEGIN_RUN's reply: the run is counted and its tally open. On a delivery's first run the
   * `running` write and the provider call went out right behind BEGIN_RUN, but nothing the call
   * answers is written before `run.running` (when paid runs had reached the bound as the attempt
   * started, BEGIN_RUN is asked first and nothing is called yet).
   */
  "run.begun",
  /** The `status: running` event is confirmed written; the provider call is out, and only now may its deltas be written. */
  "run.running",
  /** A delta was written (the Nth delta this process wrote). */
  "delta",
  /** A fallback's `restart` was written; the next model is not called yet. */
  "fallback.restart",
  /** FINISH ran (terminal event, usage parked); not yet settled or handed on. */
  "finish.written",
  /** The fair dispatcher took an entry from a fair list (it is in `dispatching`); its BullMQ job is not added yet. */
  "fair.dispatched",
] as const;
export type FaultPoint = (typeof FAULT_POINTS)[number];

/** Called at each fault point; kills the process the Nth time a configured point is reached. */
export type Fault = (point: FaultPoint) => void;

/** No fault points configured: a call that does nothing. */
export const noFaults: Fault = () => undefined;

/**
 * Parse `name:N,name:N` (N ≥ 1, default 1). Throws on an unknown name or a bad count, listing
 * the known points.
 */
export function parseFaultPoints(spec: string): Map<FaultPoint, number> {
  return parseFaultSpec(spec, FAULT_POINTS);
}

/**
 * The fault hook for a worker: with no points configured it is {@link noFaults}; else it counts
 * how often each configured point is reached and calls `kill` (default: SIGKILL to this process,
 * so nothing after the point runs — no `finally`, no shutdown hook) on the Nth time.
 */
export function faultPoints(points: ReadonlyMap<FaultPoint, number>, kill?: (point: FaultPoint) => void): Fault {
  return points.size === 0 ? noFaults : faultHook(points, kill);
}
