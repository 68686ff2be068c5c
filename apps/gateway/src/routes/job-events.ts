import { ApiError, TERMINAL_EVENT_TYPES, type JobView } from "@switchyard/contracts";
import type { StreamedEvent } from "@switchyard/queue";
import type { Request, Response } from "express";
import type { Principal } from "@switchyard/contracts";
import type { GatewayResources } from "../resources";
import { expiredTerminal } from "../services/follow-events";
import { requireStreaming } from "../services/deployment-cache";
import { getJob } from "../services/job-service";
import { SseWriter } from "../services/sse-writer";

const STREAM_ID = /^(\d{1,20})-(\d{1,20})$/;
/** Redis Stream ids are two unsigned 64-bit parts; the very last id has nothing after it to read. */
const U64_MAX = 18446744073709551615n;

/**
 * `Last-Event-ID` wins over `?after=`; both must be event ids this API handed out. Returned in
 * canonical form (no leading zeros), as the hub compares ids by their digits.
 */
export function resumePoint(lastEventId: string | undefined, after: unknown): string {
  const raw = lastEventId ?? (typeof after === "string" ? after : undefined);
  if (raw === undefined || raw === "" || raw === "0") return "0";
  const m = STREAM_ID.exec(raw);
  const ms = m ? BigInt(m[1]!) : -1n;
  const seq = m ? BigInt(m[2]!) : -1n;
  if (!m || ms > U64_MAX || seq > U64_MAX || (ms === U64_MAX && seq === U64_MAX)) {
    const field = lastEventId !== undefined ? "Last-Event-ID" : "after";
    throw new ApiError("invalid_request", `${field}: must be an event id such as 1700000000000-0 (the id: of an earlier event)`, field);
  }
  return `${ms}-${seq}`;
}

/** One SSE frame per event, built once however many followers get it. */
const frames = new WeakMap<StreamedEvent, string>();
function frame(e: StreamedEvent): string {
  let f = frames.get(e);
  if (f === undefined) {
    f = `id: ${e.id}\nevent: ${e.event.type}\ndata: ${JSON.stringify(e.event.data)}\n\n`;
    frames.set(e, f);
  }
  return f;
}

/**
 * The stream's first event, `status: queued`, for a follower that starts from the beginning. Every
 * job is queued before anything else happens to it, so it is not stored (a Redis Stream per
 * waiting job would cost ~4 KB each): it is given the id `0-1`, below any id Redis assigns, and a
 * client resuming from it (`Last-Event-ID: 0-1`) gets the stored events that follow.
 */
export const QUEUED_EVENT_ID = "0-1";
const QUEUED_FRAME = `id: ${QUEUED_EVENT_ID}\nevent: status\ndata: ${JSON.stringify({ status: "queued" })}\n\n`;

/** The 200 head's own headers (after `x-request-id` and `Vary`), in the order express sets them. */
export const EVENT_STREAM_HEADERS = {
  "Content-Type": "text/event-stream; charset=utf-8",
  "Cache-Control": "no-cache, no-transform",
  Connection: "keep-alive",
  "X-Accel-Buffering": "no",
} as const;

/** What must hold before any byte of a stream is sent: the caller's job (404 for another tenant's), streaming allowed. */
export async function followable(r: GatewayResources, p: Principal, jobId: string): Promise<JobView> {
  const view = await getJob(r, p, jobId);
  await requireStreaming(r.deployments, p.deploymentId, undefined);
  return view;
}

/**
 * SSE for one job: replays events after the resume point from the job's Redis Stream, then
 * follows it, with heartbeat comments, until the terminal event or the client leaves.
 */
export async function streamJobEvents(r: GatewayResources, p: Principal, jobId: string, req: Request, res: Response): Promise<void> {
  const after = resumePoint(req.get("last-event-id"), req.query.after);
  const view = await followable(r, p, jobId); // 404 for another tenant's job before any byte is sent
  res.status(200).set(EVENT_STREAM_HEADERS);
  res.flushHeaders();
  const writer = new SseWriter(res, r.config.sseMaxBufferedBytes, () => {
    r.sseHeartbeats.slowCut++;
    r.logger.warn({ jobId, buffered: res.socket?.writableLength }, "SSE client reads too slowly; stream cut (it resumes with Last-Event-ID)");
  });
  await followJob(r, view.id, view, after, writer);
  // Express keeps the router's per-request state (a chain of `next` closures and saved values for
  // every router the request passed) reachable from `req.next`; a held stream needs none of it.
  req.next = undefined;
}

/**
 * The body of a job's event stream once its 200 head is out, whichever way it was served (express,
 * or the raw follow front: raw-follow-front.ts): the `queued` event for a follower from the start,
 * a finished job's stored terminal event when its stream has expired, else the hub's events after
 * `after` and heartbeats, ending after the one terminal event or when the connection closes.
 */
export async function followJob(r: GatewayResources, jobId: string, view: JobView, after: string, writer: SseWriter): Promise<void> {
  r.sse.opened();
  if (after === "0") writer.write(QUEUED_FRAME);
  // A finished job whose stream has expired: its stored terminal event, and done.
  const expired = await expiredTerminal(r, view, after).catch((err: Error) => err);
  if (expired !== null) {
    if (expired instanceof Error) r.logger.warn({ err: expired.message, jobId }, "SSE stream ended with an error");
    else if (expired.event) writer.write(frame(expired.event));
    r.sse.closed();
    writer.end();
    return;
  }
  // From here the stream lives on its own: the handler returns, and what the follower holds is
  // its cursor (in the hub), its writer (in the heartbeat sweep) and the connection.
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    r.sseHeartbeats.delete(writer);
    unsubscribe();
    writer.offClose(end);
    r.sse.closed();
    writer.end();
  };
  const unsubscribe = r.events.subscribe(jobId, after, {
    events(batch) {
      if (ended) return;
      let out = "";
      let terminal = false;
      for (const e of batch) {
        out += frame(e);
        if (TERMINAL_EVENT_TYPES.includes(e.event.type)) {
          terminal = true;
          break;
        }
      }
      writer.write(out);
      if (terminal) end();
    },
    error(err) {
      // No made-up terminal event: the client reconnects with Last-Event-ID and loses nothing.
      r.logger.warn({ err: err.message, jobId }, "SSE stream ended with an error");
      end();
    },
  });
  r.sseHeartbeats.add(writer);
  writer.onClose(end); // at once if the client left while we looked
}
