import { TERMINAL_EVENT_TYPES, type JobEvent, type JobView } from "@switchyard/contracts";
import type { StreamedEvent } from "@switchyard/queue";
import type { GatewayResources } from "../resources";
import { compareStreamIds } from "./event-stream-hub";

export type FollowItem = { kind: "event"; id: string; event: JobEvent } | { kind: "heartbeat" };

/** A terminal event rebuilt from a stored job, for a finished job whose stream has expired. */
export function terminalFromView(view: JobView): JobEvent {
  if (view.status === "succeeded") return { type: "done", data: { job: view } };
  return {
    type: "error",
    data: {
      code: view.error?.code ?? view.status,
      message: view.error?.message ?? `job ${view.status}`,
      reason: view.status === "canceled" ? "canceled" : "internal",
    },
  };
}

/**
 * For a finished job whose stream has expired: its terminal event rebuilt from the stored view
 * (`event` null when that is not after `after`). Null while the stream is there to follow. Only a
 * finished job can have lost its stream to retention: a live one costs no round trip here.
 */
export async function expiredTerminal(r: GatewayResources, view: JobView, after: string): Promise<{ event: StreamedEvent | null } | null> {
  if (!view.completed_at || (await r.jobStore.eventStreamExists(view.id))) return null;
  const id = `${Date.parse(view.completed_at)}-0`;
  return { event: after === "0" || compareStreamIds(id, after) > 0 ? { id, event: terminalFromView(view) } : null };
}

/**
 * Follow a job's event stream after `after` (through the process's shared reader), until the
 * terminal event or until `signal` aborts. Yields a heartbeat when `heartbeatMs` pass without
 * events. A finished job whose stream has expired yields its stored terminal event.
 */
export async function* followEvents(
  r: GatewayResources,
  view: JobView,
  after: string,
  opts: { heartbeatMs: number; signal: AbortSignal },
): AsyncGenerator<FollowItem> {
  const expired = await expiredTerminal(r, view, after);
  if (expired) {
    if (expired.event) yield { kind: "event", id: expired.event.id, event: expired.event.event };
    return;
  }
  for await (const item of r.events.follow(view.id, after, { idleMs: opts.heartbeatMs, signal: opts.signal })) {
    if (item === "idle") {
      yield { kind: "heartbeat" };
      continue;
    }
    yield { kind: "event", id: item.id, event: item.event };
    if (TERMINAL_EVENT_TYPES.includes(item.event.type)) return;
  }
}
