import { ApiError, type JobEvent } from "@switchyard/contracts";
import type { Request, Response } from "express";
import type { Principal } from "../middleware/request-context";
import type { GatewayResources } from "../resources";
import { followEvents } from "../services/follow-events";
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

/**
 * SSE for one job: replays events after the resume point from the job's Redis Stream, then
 * follows it, with heartbeat comments, until the terminal event or the client leaves.
 */
export async function streamJobEvents(r: GatewayResources, p: Principal, jobId: string, req: Request, res: Response): Promise<void> {
  const after = resumePoint(req);
  const view = await getJob(r, p, jobId); // 404 for another tenant's job before any byte is sent
  res.status(200).set({ "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache, no-transform", Connection: "keep-alive", "X-Accel-Buffering": "no" });
  res.flushHeaders();
  r.sse.opened();
  const ac = new AbortController();
  const onClose = () => ac.abort();
  res.once("close", onClose);
  try {
    for await (const item of followEvents(r, view, after, { heartbeatMs: r.config.sseHeartbeatMs, signal: ac.signal })) {
      res.write(item.kind === "heartbeat" ? ": heartbeat\n\n" : frame(item.id, item.event));
    }
  } catch (err) {
    // No made-up terminal event: the client reconnects with Last-Event-ID and loses nothing.
    r.logger.warn({ err: (err as Error).message, jobId }, "SSE stream ended with an error");
  } finally {
    r.sse.closed();
    res.off("close", onClose);
    res.end();
  }
}
