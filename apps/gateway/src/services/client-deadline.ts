import { ApiError, isApiError, type JobEvent, type JobView, type WaitReason } from "@switchyard/contracts";
import type { IncomingMessage } from "node:http";
import type { Principal } from "@switchyard/contracts";
import type { GatewayResources } from "../resources";
import { followEvents } from "./follow-events";
import { header } from "./http-json";
import { cancelJob } from "./job-service";

/**
 * Without a client deadline, how long a request that waits for its answer may wait while its job
 * is parked waiting for the upstream: the router-worker's MAX_UPSTREAM_WAIT_MS default (a job waits
 * that long at most before it fails). A job that is running is followed to its end.
 */
export const SERVER_MAX_WAIT_MS = 300_000;
/** Longest client deadline taken (seconds): past it the server maximum applies anyway. */
const MAX_DEADLINE_SECONDS = 3600;
const SECONDS = /^\s*(\d+(?:\.\d+)?)\s*$/;

/** The client's deadline for an answer it waits for (ms from now), or null without one. */
export interface ClientDeadline {
  ms: number;
  /** The header it came from, as the client spelt it in docs. */
  header: "X-Request-Timeout" | "X-Stainless-Timeout";
}

/**
 * The deadline a client gave a request that waits for its answer: `X-Request-Timeout` (seconds,
 * as OpenAI's API reads it) or the OpenAI SDKs' `X-Stainless-Timeout` (their timeout in whole
 * seconds; the smaller wins when both come). A value that is not a positive number of seconds (at
 * most 3600) is a 400 naming the header; the SDK's `0` (a timeout under a second) counts as 1 s.
 * Read before the job is admitted, so a bad header costs nothing.
 */
export function clientDeadline(req: IncomingMessage): ClientDeadline | null {
  const read = (name: ClientDeadline["header"], zeroIs: number | null): ClientDeadline | null => {
    const raw = header(req, name.toLowerCase());
    if (raw === undefined) return null;
    const m = SECONDS.exec(raw);
    const s = m ? Number(m[1]) : NaN;
    if (s === 0 && zeroIs !== null) return { ms: zeroIs * 1000, header: name };
    if (!Number.isFinite(s) || s <= 0 || s > MAX_DEADLINE_SECONDS) {
      throw new ApiError(
        "invalid_request",
        `${name}: must be a number of seconds greater than 0 and at most ${MAX_DEADLINE_SECONDS}, got ${JSON.stringify(raw.slice(0, 40))}`,
        name,
      );
    }
    return { ms: Math.round(s * 1000), header: name };
  };
  const given = [read("X-Request-Timeout", null), read("X-Stainless-Timeout", 1)].filter((d): d is ClientDeadline => d !== null);
  return given.length === 0 ? null : given.reduce((a, b) => (b.ms < a.ms ? b : a));
}

/** The job is parked waiting for its upstream (its last `status` said `waiting`). */
export interface Waiting {
  reason: WaitReason;
  retryAt: number | null;
}

export type WaitOutcome =
  /** The job's terminal event (`done` or `error`), and whether the job was waiting for its upstream just before. */
  | { kind: "ended"; event: Extract<JobEvent, { type: "done" | "error" }>; waiting: Waiting | null }
  /**
   * A deadline passed first: the client's (`by: "client"`), or the server's limit on waiting
   * (`by: "server"`); `waiting` when the job was parked waiting at that moment.
   */
  | { kind: "deadline"; by: "client" | "server"; waiting: Waiting | null };

/**
 * Follow a job until its terminal event, or until a deadline: the client's when it gave one, and
 * {@link SERVER_MAX_WAIT_MS}, which ends the wait only while the job is not running (parked waiting
 * for its upstream, or still queued; a job that runs is followed to its end or the client's
 * deadline). Null when `signal` says the client went away.
 */
export async function followUntilEnd(r: GatewayResources, view: JobView, deadline: ClientDeadline | null, signal: AbortSignal): Promise<WaitOutcome | null> {
  const ac = new AbortController();
  const stop = () => ac.abort();
  signal.addEventListener("abort", stop, { once: true });
  let by: "client" | "server" | null = null;
  let passed = false;
  let waiting: Waiting | null = null;
  // Running: a worker is producing its answer (its status said running or retrieving, or output came) and it is not parked since.
  let running = false;
  const clientTimer = deadline
    ? setTimeout(() => {
        by ??= "client";
        stop();
      }, deadline.ms)
    : undefined;
  const serverTimer = setTimeout(() => {
    passed = true;
    if (running) return;
    by ??= "server";
    stop();
  }, SERVER_MAX_WAIT_MS);
  try {
    for await (const item of followEvents(r, view, "0", { heartbeatMs: r.config.sseHeartbeatMs, signal: ac.signal })) {
      if (item.kind !== "event") continue;
      const e = item.event;
      if (e.type === "done" || e.type === "error") return { kind: "ended", event: e, waiting };
      if (e.type === "status") {
        waiting =
          e.data.status === "waiting" && e.data.reason ? { reason: e.data.reason, retryAt: e.data.retry_at ? Date.parse(e.data.retry_at) : null } : null;
        running = e.data.status === "running" || e.data.status === "retrieving";
      } else if (e.type === "delta" || e.type === "tool_call") {
        waiting = null;
        running = true;
      }
      // Past the server maximum, the wait ends as soon as the job parks again.
      if (passed && !running) {
        by ??= "server";
        break;
      }
    }
  } finally {
    clearTimeout(clientTimer);
    clearTimeout(serverTimer);
    signal.removeEventListener("abort", stop);
  }
  // A follow that ended without a terminal event (never expected) is answered rather than left hanging.
  return signal.aborted ? null : { kind: "deadline", by: by ?? "server", waiting };
}

/** Whole seconds until `at` (at least 1) for `Retry-After`; `fallback` when it is unknown or past. */
const secondsUntil = (at: number | null, fallback: number) =>
  String(at === null || at <= Date.now() ? fallback : Math.max(1, Math.ceil((at - Date.now()) / 1000)));

/**
 * A waited-for job passed its deadline: unless the client sent an `Idempotency-Key` (with it, the
 * same request again finds the same job and its answer, so the job keeps going), the job is
 * canceled, so nothing more is spent or billed for an answer nobody will read. Then the error
 * to throw (the error middleware renders it): 503 (the job waits for an unavailable upstream: breakers open, rate limited; or it was not
 * running at the server's limit) or 504 (the client's deadline passed while it was queued, running
 * or busy upstream) with `Retry-After` (the job's next try when known) and the job id in the error.
 * Returns null instead when the job ended in the meantime (its cancel came too late): the caller
 * answers it as usual.
 */
export async function deadlineError(
  r: GatewayResources,
  p: Principal,
  view: JobView,
  req: IncomingMessage,
  deadline: ClientDeadline | null,
  passed: Extract<WaitOutcome, { kind: "deadline" }>,
): Promise<ApiError | null> {
  const { waiting } = passed;
  const keep = header(req, "idempotency-key") !== undefined;
  if (!keep) {
    try {
      await cancelJob(r, p, view.id);
    } catch (err) {
      if (isApiError(err) && err.code === "job_already_terminal") return null;
      throw err;
    }
  }
  const unavailable = passed.by === "server" || (waiting !== null && waiting.reason !== "capacity");
  const what = waiting
    ? `waiting for its upstream (${waiting.reason}${waiting.retryAt ? `, next try at ${new Date(waiting.retryAt).toISOString()}` : ""})`
    : "still queued or running";
  const limit =
    passed.by === "client" && deadline
      ? `the request's deadline (${deadline.header}: ${deadline.ms / 1000} s)`
      : `the server's limit on waiting (${SERVER_MAX_WAIT_MS / 1000} s)`;
  const then = keep ? "it keeps going: send the request again with the same Idempotency-Key to get its answer" : "it was canceled and nothing is billed for it";
  return new ApiError(
    unavailable ? "service_unavailable" : "request_timeout",
    `job ${view.id} did not finish within ${limit}: it is ${what}; ${then}`,
    undefined,
    { "Retry-After": secondsUntil(waiting?.retryAt ?? null, 1) },
    view.id,
  );
}

/**
 * A job that failed while it was waiting for its upstream (it waited past the worker's limit) is
 * answered 503 with `Retry-After` (the upstream may be back later), not as a failed answer.
 */
export function failedWhileWaiting(e: Extract<JobEvent, { type: "error" }>, waiting: Waiting | null): ApiError | null {
  if (!waiting || e.data.reason === "canceled" || e.data.code === "budget_exhausted" || e.data.code === "insufficient_credits") return null;
  return new ApiError("service_unavailable", `the upstream stayed unavailable (${waiting.reason}): ${e.data.code}: ${e.data.message}`, undefined, {
    "Retry-After": secondsUntil(waiting.retryAt, 30),
  });
}
