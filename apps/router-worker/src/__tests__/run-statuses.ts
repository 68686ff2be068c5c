import type { SseEvent } from "@switchyard/testkit";

/**
 * The `status` events the worker wrote for its runs (one per run, and `retrieving`): without the
 * `queued` one that the gateway puts first in a stream read from the start (it is derived, not
 * stored), and without `waiting` ones (a parked job's waits are not runs; they carry no attempt).
 */
export function runStatuses(events: SseEvent[]): Array<{ status: string; attempt?: number; waits?: number; served_model?: string }> {
  return events
    .filter((e) => e.event === "status")
    .map((e) => JSON.parse(e.data))
    .filter((d) => d.status !== "queued" && d.status !== "waiting");
}
