import { randomUUID } from "node:crypto";
import type { Server } from "node:http";
import type { Socket } from "node:net";
import type { JobView, Principal } from "@switchyard/contracts";
import { withRequestContext } from "@switchyard/telemetry";
import type { Authenticator } from "./middleware/authenticate";
import type { GatewayResources } from "./resources";
import { EVENT_STREAM_HEADERS, followable, followJob, resumePoint } from "./routes/job-events";
import { LAST_CHUNK, SseWriter } from "./services/sse-writer";

/** The route as express names it (the `http_requests_total` label). */
const ROUTE = "/v1/jobs/:id/events";
/** A head longer than this is left to node:http (whose limit is 16 KiB). */
const HEAD_LIMIT = 8 * 1024;
/** Bytes a client may send while its stream is served (a pipelined request, kept for after it). */
const PIPELINED_LIMIT = 16 * 1024;
const HEAD_END = Buffer.from("\r\n\r\n");

/**
 * `GET /v1/jobs/{id}/events` (optionally `?after=<id>`), exactly as express's route matches it with
 * nothing to decode: the id in the characters job ids use, the query the single `after` parameter.
 */
const REQUEST_LINE = /^GET \/v1\/jobs\/([A-Za-z0-9_-]{1,128})\/events(?:\?after=([0-9-]{0,64}))? HTTP\/1\.1$/;
/** A header field as llhttp's strict mode reads it: a token, `:`, optional whitespace, visible ASCII. */
const HEADER_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*((?:[\x21-\x7e](?:[\x20-\x7e\t]*[\x21-\x7e])?)?)[ \t]*$/;
const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** A follow request the front can serve: what express's chain would read from it. */
export interface FollowRequest {
  jobId: string;
  /** `?after=` as given (undefined when absent). */
  after: string | undefined;
  lastEventId: string | undefined;
  authorization: string | undefined;
  requestId: string | undefined;
  traceparent: string | undefined;
  tracestate: string | undefined;
}

/** Headers read once each (a second copy sends the request to node:http, which knows how to merge). */
const READ = new Set(["authorization", "last-event-id", "x-request-id", "traceparent", "tracestate", "host", "connection", "content-length"]);
/** Headers that change what express would do, or that the front does not speak: node:http answers. */
const DECLINE = new Set(["origin", "transfer-encoding", "expect", "upgrade", "te", "trailer", "access-control-request-method"]);

/**
 * The head (request line and fields, without the blank line) as a follow request the front can
 * answer exactly as express would, or null: anything else, anything unusual, anything a browser
 * sends with `Origin` (CORS is express's), and anything node:http's parser might refuse.
 */
export function parseFollowHead(head: string): FollowRequest | null {
  const lines = head.split("\r\n");
  const line = REQUEST_LINE.exec(lines[0]!);
  if (!line) return null;
  const seen = new Map<string, string>();
  for (let i = 1; i < lines.length; i++) {
    const m = HEADER_LINE.exec(lines[i]!);
    if (!m) return null; // obs-fold, a bare LF, control characters, non-ASCII: node:http decides
    const name = m[1]!.toLowerCase();
    if (DECLINE.has(name)) return null;
    if (!READ.has(name)) continue;
    if (seen.has(name)) return null;
    seen.set(name, m[2]!);
  }
  const connection = seen.get("connection");
  if (connection !== undefined && connection.toLowerCase() !== "keep-alive") return null;
  const length = seen.get("content-length");
  if (length !== undefined && length !== "0") return null;
  return {
    jobId: line[1]!,
    after: line[2],
    lastEventId: seen.get("last-event-id"),
    authorization: seen.get("authorization"),
    requestId: seen.get("x-request-id"),
    traceparent: seen.get("traceparent"),
    tracestate: seen.get("tracestate"),
  };
}

/** node:http's `Date` header: the current second, formatted once per second. */
let dateCache = { at: 0, value: "" };
function httpDate(): string {
  const now = Date.now();
  if (now - dateCache.at >= 1000 || new Date(now).getUTCSeconds() !== new Date(dateCache.at).getUTCSeconds())
    dateCache = { at: now, value: new Date(now).toUTCString() };
  return dateCache.value;
}

/**
 * The 200 head express and node:http write for a follower: the request id, `Vary: Origin` (the
 * CORS middleware's), the route's headers in its order, then node's `Date` and chunked encoding
 * (the route sets `Connection` itself, so node adds neither `Connection` nor `Keep-Alive`).
 */
export function followHead(requestId: string): string {
  let head = `HTTP/1.1 200 OK\r\nx-request-id: ${requestId}\r\nVary: Origin\r\n`;
  for (const [k, v] of Object.entries(EVENT_STREAM_HEADERS)) head += `${k}: ${v}\r\n`;
  return `${head}Date: ${httpDate()}\r\nTransfer-Encoding: chunked\r\n\r\n`;
}

export interface RawFollowFrontOptions {
  /** How long a new connection may take to send its first head before node:http is given it (default 5 s). */
  firstHeadMs?: number;
  /** How long a connection may sit idle after a raw-served stream ended (node:http's `keepAliveTimeout`). */
  keepAliveMs: number;
}

/**
 * A raw-socket front for SSE followers (issue 14: a follower served through node:http costs
 * ~19 KiB of RSS — request, response, parser — where a bare socket costs ~5 KiB). It takes the
 * HTTP server's connections (the server still listens, accepts, tracks and times out every
 * connection it is given: the front replaces only its `connection` listener) and reads each new
 * connection's first request head. A plain follow of `GET /v1/jobs/{id}/events` (see
 * {@link parseFollowHead}) that authenticates, has the `jobs:read` scope, names a job of the
 * caller's that may stream, and has a valid resume point is served here: the same 200 head as
 * express's, then the same writer and follower code (job-events.ts `followJob`), the same
 * metrics (`http_requests_total`/duration under the route's label, `ai_sse_connections` and its
 * thresholds). Everything else — other requests, bodies, errors (a 400/401/403/404 is answered by
 * express, which re-runs the checks and records auth failures once: the front's own
 * `Authenticator` records none) — goes to node:http untouched: the bytes read are put back
 * (`unshift`) and the connection handed to the server's own listener.
 *
 * After a raw-served stream ends with its terminal event, the last chunk is written and the
 * connection is kept alive as node:http keeps it: the front reads its next head (closed after the
 * server's `keepAliveTimeout` of silence), so a next follow is served raw again and anything else
 * goes to node:http. A client that half-closes, or one that errs, is closed, as node:http closes it.
 * Per follower the front keeps the socket, its writer and a few listeners; the head's bytes are
 * dropped once parsed.
 */
export class RawFollowFront {
  /** Sockets the front owns (reading a head, checking, or streaming). */
  private readonly owned = new Set<Socket>();
  /** Those reading a head (idle, as node:http counts idle). */
  private readonly reading = new Set<Socket>();
  private nodeListeners: Array<(socket: Socket) => void> = [];
  private readonly firstHeadMs: number;
  /** Follows served raw, and connections handed to node:http (diagnostics and tests). */
  readonly counts = { served: 0, handedOver: 0 };

  constructor(
    private readonly r: GatewayResources,
    private readonly server: Server,
    private readonly auth: Authenticator,
    private readonly opts: RawFollowFrontOptions,
  ) {
    this.firstHeadMs = opts.firstHeadMs ?? 5000;
  }

  /** Put the front before the server's own connection listener. */
  install(): this {
    this.nodeListeners = this.server.listeners("connection") as Array<(socket: Socket) => void>;
    this.server.removeAllListeners("connection");
    this.server.on("connection", (socket: Socket) => this.readHead(socket, this.firstHeadMs, true));
    return this;
  }

  /** Connections owned right now (tests). */
  get size(): number {
    return this.owned.size;
  }

  /** Close the connections waiting for a request (shutdown's first step, as `closeIdleConnections`). */
  closeIdle(): void {
    for (const s of this.reading) s.destroy();
  }

  /** Close every connection the front owns: streams are cut, clients resume with Last-Event-ID. */
  closeAll(): void {
    for (const s of this.owned) s.destroy();
  }

  /** Give the socket to node:http with the bytes read from it put back. */
  private handOver(socket: Socket, bytes: Buffer | null): void {
    this.owned.delete(socket);
    this.reading.delete(socket);
    if (socket.destroyed) return;
    this.counts.handedOver++;
    socket.pause();
    if (bytes !== null && bytes.length > 0) socket.unshift(bytes);
    for (const l of this.nodeListeners) l.call(this.server, socket);
    // node:http listens for 'data' (and reads the handle itself afterwards): let the bytes put back flow.
    socket.resume();
  }

  /**
   * Read a request head. `first`: a new connection, handed to node:http (with what it sent) when
   * no head comes within `ms`; after a raw-served stream a silent connection is closed instead,
   * as node:http closes an idle keep-alive connection.
   */
  private readHead(socket: Socket, ms: number, first: boolean): void {
    this.owned.add(socket);
    this.reading.add(socket);
    let bytes: Buffer | null = null;
    const release = () => {
      socket.off("data", onData);
      socket.off("end", onEnd);
      socket.off("error", onError);
      socket.off("close", onClose);
      socket.off("timeout", onTimeout);
      socket.setTimeout(0);
    };
    const onData = (chunk: Buffer) => {
      const from = bytes === null ? 0 : Math.max(0, bytes.length - 3);
      bytes = bytes === null ? chunk : Buffer.concat([bytes, chunk]);
      const end = bytes.indexOf(HEAD_END, from);
      if (end < 0) {
        if (bytes.length > HEAD_LIMIT) {
          release();
          this.handOver(socket, bytes);
        }
        return;
      }
      release();
      this.reading.delete(socket);
      // Only a head with nothing after it (no body, nothing pipelined) is a candidate.
      const follow = end + 4 === bytes.length && end <= HEAD_LIMIT ? parseFollowHead(bytes.toString("latin1", 0, end)) : null;
      if (follow === null) return this.handOver(socket, bytes);
      void this.serve(socket, follow, bytes);
    };
    const onTimeout = () => {
      release();
      if (first || bytes !== null) this.handOver(socket, bytes);
      else this.drop(socket);
    };
    // A client that half-closes before its head is whole, or errs: closed, as node:http would.
    const onEnd = () => {
      release();
      this.drop(socket);
    };
    const onError = onEnd;
    const onClose = () => {
      release();
      this.owned.delete(socket);
      this.reading.delete(socket);
    };
    socket.on("data", onData);
    socket.on("end", onEnd);
    socket.on("error", onError);
    socket.on("close", onClose);
    socket.on("timeout", onTimeout);
    socket.setTimeout(ms);
    socket.resume();
  }

  private drop(socket: Socket): void {
    this.owned.delete(socket);
    this.reading.delete(socket);
    socket.destroy();
  }

  /** Check the follow as express would; serve it raw if it would succeed, else give it to node:http. */
  private async serve(socket: Socket, req: FollowRequest, head: Buffer): Promise<void> {
    const started = performance.now();
    // Paused while the checks run: nothing is read (a half-close included) until we know who answers.
    socket.pause();
    const onError = () => socket.destroy();
    socket.on("error", onError);
    let p: Principal;
    let view: JobView;
    let after: string;
    try {
      after = resumePoint(req.lastEventId, req.after);
      p = await this.auth.authenticate(req.authorization, undefined);
      if (!p.scopes.has("jobs:read")) throw new Error("scope");
      view = await followable(this.r, p, req.jobId);
    } catch {
      socket.off("error", onError);
      return this.handOver(socket, head);
    }
    socket.off("error", onError);
    if (socket.destroyed) {
      // Gone while we looked: express would have counted the request as it closed (status 200).
      this.owned.delete(socket);
      this.r.metrics.http.record("GET", ROUTE, 200, (performance.now() - started) / 1000);
      return;
    }
    this.counts.served++;
    const requestId = req.requestId !== undefined && REQUEST_ID.test(req.requestId) ? req.requestId : `req_${randomUUID().replaceAll("-", "")}`;
    const headers = { traceparent: req.traceparent, tracestate: req.tracestate };
    withRequestContext(headers, { requestId, tenantId: p.tenantId, keyId: p.keyId }, () => this.stream(socket, view, after, requestId, started));
  }

  /** The 200 head, then the follower's body until its terminal event or the connection's end. */
  private stream(socket: Socket, view: JobView, after: string, requestId: string, started: number): void {
    const r = this.r;
    const jobId = view.id; // what the closures below keep: not the whole view
    let pipelined: Buffer | null = null;
    let finished = false;
    const finish = (clean: boolean) => {
      if (finished) return;
      finished = true;
      socket.off("data", onData);
      socket.off("end", onEnd);
      socket.off("close", onClose);
      socket.off("error", onError);
      r.metrics.http.record("GET", ROUTE, 200, (performance.now() - started) / 1000);
      if (!clean || socket.destroyed) {
        this.owned.delete(socket);
        socket.destroy();
        return;
      }
      socket.write(LAST_CHUNK);
      // Keep-alive: the next request on this connection, raw or node:http's.
      socket.pause();
      if (pipelined !== null) socket.unshift(pipelined);
      this.readHead(socket, this.opts.keepAliveMs, false);
    };
    const writer = SseWriter.onSocket(
      socket,
      () => finish(true),
      r.config.sseMaxBufferedBytes,
      () => {
        r.sseHeartbeats.slowCut++;
        r.logger.warn({ jobId, buffered: socket.writableLength }, "SSE client reads too slowly; stream cut (it resumes with Last-Event-ID)");
      },
    );
    const onData = (chunk: Buffer) => {
      pipelined = pipelined === null ? chunk : Buffer.concat([pipelined, chunk]);
      if (pipelined.length > PIPELINED_LIMIT) socket.destroy();
    };
    // A half-close ends the stream, as node:http ends the connection (its httpAllowHalfOpen is false).
    const onEnd = () => socket.destroy();
    const onError = () => socket.destroy();
    const onClose = () => {
      this.owned.delete(socket);
      writer.closed();
      finish(false);
    };
    socket.on("data", onData);
    socket.on("end", onEnd);
    socket.on("error", onError);
    socket.on("close", onClose);
    socket.write(followHead(requestId));
    socket.resume();
    followJob(r, jobId, view, after, writer).catch((err: Error) => {
      r.logger.warn({ err: err.message, jobId }, "SSE stream ended with an error");
      socket.destroy();
    });
  }
}
