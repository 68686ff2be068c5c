import { TERMINAL_EVENT_TYPES, type JobEvent, type JobView } from "@switchyard/contracts";
import type { GatewayResources } from "../resources";

export type FollowItem = { kind: "event"; id: string; event: JobEvent } | { kind: "heartbeat" };

/** A terminal event rebuilt from a stored job, for a finished job whose stream has expired. */
export function terminalFromView(view: JobView): JobEvent {
  if (view.status === "succeeded") return { type: "done", data: { job: view } };
  return { type: "error", data: { code: view.error?.code ?? view.status, message: view.error?.message ?? `job ${view.status}`, reason: view.status === "canceled" ? "canceled" : "internal" } };
}

/**
 * Follow a job's event stream after `after`, with a blocking read on a connection of its own,
 * until the terminal event or until `signal` aborts (which also ends a blocking read at once). Yields a heartbeat when `heartbeatMs`
 * pass without events. A finished job whose stream has expired yields its stored terminal event.
 */
export async function* followEvents(r: GatewayResources, view: JobView, after: string, opts: { heartbeatMs: number; signal: AbortSignal }): AsyncGenerator<FollowItem> {
  if (!(await r.jobStore.eventStreamExists(view.id)) && view.completed_at) {
    const id = `${Date.parse(view.completed_at)}-0`;
    if (after === "0" || compareStreamIds(id, after) > 0) yield { kind: "event", id, event: terminalFromView(view) };
    return;
  }
  const conn = r.redis.duplicate();
  const stopped = () => opts.signal.aborted;
  const onAbort = () => conn.disconnect();
  opts.signal.addEventListener("abort", onAbort, { once: true });
  try {
    let cursor = after;
    while (!stopped()) {
      const events = await r.jobStore.readEvents(view.id, cursor, { blockMs: opts.heartbeatMs, conn }).catch((err: Error) => {
        if (stopped()) return [];
        throw err;
      });
      if (stopped()) return;
      if (events.length === 0) {
        yield { kind: "heartbeat" };
        continue;
      }
      for (const { id, event } of events) {
        cursor = id;
        yield { kind: "event", id, event };
        if (TERMINAL_EVENT_TYPES.includes(event.type)) return;
      }
    }
  } finally {
    opts.signal.removeEventListener("abort", onAbort);
    conn.disconnect();
  }
}

/** Order of two Redis Stream ids (`ms-seq`). */
export function compareStreamIds(a: string, b: string): number {
  const [am, as] = a.split("-").map(BigInt) as [bigint, bigint];
  const [bm, bs] = b.split("-").map(BigInt) as [bigint, bigint];
  if (am !== bm) return am > bm ? 1 : -1;
  return as === bs ? 0 : as > bs ? 1 : -1;
}
