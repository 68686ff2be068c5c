import { ApiError, TERMINAL_EVENT_TYPES, type JobEvent, type JobView } from "@switchyard/contracts";
import type { Request, Response } from "express";
import type { Principal } from "../middleware/request-context";
import type { GatewayResources } from "../resources";
import { getJob } from "../services/job-service";

const STREAM_ID = /^\d{1,20}-\d{1,20}$/;

/** `Last-Event-ID` wins over `?after=`; both must be event ids this API handed out. */
function resumePoint(req: Request): string {
  const raw = req.get("last-event-id") ?? (typeof req.query.after === "string" ? req.query.after : undefined);
  if (raw === undefined || raw === "" || raw === "0") return "0";
  if (!STREAM_ID.test(raw)) throw new ApiError("invalid_request", "after: must be an event id such as 1700000000000-0 (the id: of an earlier event)", req.get("last-event-id") ? "Last-Event-ID" : "after");
  return raw;
}

const frame = (id: string, e: JobEvent) => `id: ${id}\nevent: ${e.type}\ndata: ${JSON.stringify(e.data)}\n\n`;

/** A terminal event rebuilt from the stored job, for a finished job whose stream has expired. */
function terminalFromView(view: JobView): JobEvent {
  if (view.status === "succeeded") return { type: "done", data: { job: view } };
  return { type: "error", data: { code: view.error?.code ?? view.status, message: view.error?.message ?? `job ${view.status}`, reason: view.status === "canceled" ? "canceled" : "internal" } };
}

/**
 * SSE for one job: replays events after the resume point from the job's Redis Stream, then
 * follows it with a blocking read on a connection of its own, with heartbeat comments, until the
 * terminal event or the client leaves.
 */
export async function streamJobEvents(r: GatewayResources, p: Principal, jobId: string, req: Request, res: Response): Promise<void> {
  const after = resumePoint(req);
  const view = await getJob(r, p, jobId); // 404 for another tenant's job before any byte is sent
  res.status(200).set({ "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache, no-transform", Connection: "keep-alive", "X-Accel-Buffering": "no" });
  res.flushHeaders();
  r.metrics.sse.add(1);
  let closed = false;
  const conn = r.redis.duplicate();
  const onClose = () => {
    closed = true;
    conn.disconnect();
  };
  req.once("close", onClose);
  try {
    if (!(await r.jobStore.eventStreamExists(jobId)) && view.completed_at) {
      // Retention removed the stream; the stored job still yields its terminal event.
      const id = `${Date.parse(view.completed_at)}-0`;
      if (after === "0" || compareIds(id, after) > 0) res.write(frame(id, terminalFromView(view)));
      return;
    }
    let cursor = after;
    while (!closed) {
      const events = await r.jobStore.readEvents(jobId, cursor, { blockMs: r.config.sseHeartbeatMs, conn }).catch((err: Error) => {
        if (closed) return [];
        throw err;
      });
      if (closed) break;
      if (events.length === 0) {
        res.write(": heartbeat\n\n");
        continue;
      }
      for (const { id, event } of events) {
        res.write(frame(id, event));
        cursor = id;
        if (TERMINAL_EVENT_TYPES.includes(event.type)) return;
      }
    }
  } catch (err) {
    // No fake terminal event: the client reconnects with Last-Event-ID and loses nothing.
    r.logger.warn({ err: (err as Error).message, jobId }, "SSE stream ended with an error");
  } finally {
    r.metrics.sse.add(-1);
    req.off("close", onClose);
    conn.disconnect();
    res.end();
  }
}

function compareIds(a: string, b: string): number {
  const [am, as] = a.split("-").map(BigInt) as [bigint, bigint];
  const [bm, bs] = b.split("-").map(BigInt) as [bigint, bigint];
  return am === bm ? Number(as - bs) : am > bm ? 1 : -1;
}
