import type { ServerResponse } from "node:http";
import type { Socket } from "node:net";

const HEARTBEAT = ": heartbeat\n\n";
const HEARTBEAT_CHUNK = chunk(HEARTBEAT);

/** `text` as one chunk of a chunked body: its length in hex, the bytes, CRLF. */
function chunk(text: string): Buffer {
  const body = Buffer.from(text);
  const head = `${body.length.toString(16)}\r\n`;
  const out = Buffer.allocUnsafe(head.length + body.length + 2);
  out.write(head, 0, "latin1");
  body.copy(out, head.length);
  out.write("\r\n", head.length + body.length, "latin1");
  return out;
}

/** The last chunk of a chunked body. */
export const LAST_CHUNK = "0\r\n\r\n";

/**
 * Writes an SSE body straight to the connection's socket once its head is out: one `write` of one
 * buffer per frame batch, with the chunked framing added here, instead of `res.write`'s three-part
 * `writev` through the outgoing-message machinery (about half the CPU per write; at 10 000
 * followers the heartbeats alone are ~670 writes a second). Without chunked encoding (an HTTP/1.0
 * client, where the body ends with the connection) the text goes out as it is.
 *
 * Two kinds of connection, one writer: a node:http response (`new SseWriter(res, …)`; `end()` is
 * `res.end()`, which writes the last chunk in order after these writes), or a bare socket whose
 * chunked head the raw follow front wrote (`SseWriter.onSocket`; `end()` writes the last chunk and
 * hands the socket back to its owner). The follower code (job-events.ts) sees only this class.
 */
export class SseWriter {
  /** `performance.now()` of the last write (heartbeats are due after a quiet interval). */
  lastWrite = performance.now();
  private readonly chunked: boolean;
  /**
   * The socket, when the head is out and this writer owns it (not queued behind a pipelined
   * response), looked up once: it stays so until the body ends, and express gives every response
   * its own hidden class, so reading the response's properties on each write is slow.
   */
  private readonly socket: Socket | null;
  private readonly res: ServerResponse | null;
  /** Raw sockets: what ends the body (the front's). */
  private readonly done: (() => void) | null = null;
  /** Raw sockets: called once if the connection closes before `end()`. */
  private onGone: (() => void) | null = null;

  /**
   * Made after `res.flushHeaders()`. `maxBuffered`: bytes that may wait for a client that reads
   * slower than its job writes; past it the connection is cut (`onSlow` first), so one slow
   * reader cannot hold the process's memory, and the client resumes with Last-Event-ID.
   */
  constructor(
    res: ServerResponse | { socket: Socket; done: () => void },
    private readonly maxBuffered = Infinity,
    private readonly onSlow: () => void = () => undefined,
  ) {
    if ("done" in res) {
      this.res = null;
      this.chunked = true;
      this.socket = res.socket;
      this.done = res.done;
      return;
    }
    this.res = res;
    this.chunked = (res as ServerResponse & { chunkedEncoding?: boolean }).chunkedEncoding === true;
    const socket = res.socket;
    this.socket = socket && res.headersSent && (socket as { _httpMessage?: unknown })._httpMessage === res ? socket : null;
  }

  /** A writer for a bare socket whose head (chunked transfer encoding) is written; `done` ends the body. */
  static onSocket(socket: Socket, done: () => void, maxBuffered = Infinity, onSlow?: () => void): SseWriter {
    return new SseWriter({ socket, done }, maxBuffered, onSlow);
  }

  /** Bytes waiting to be sent to the client (for the slow-reader log line). */
  get buffered(): number | undefined {
    return (this.socket ?? this.res?.socket)?.writableLength;
  }

  private direct(): Socket | null {
    return this.socket && !this.socket.destroyed ? this.socket : null;
  }

  write(text: string): void {
    if (text.length === 0) return;
    this.lastWrite = performance.now();
    const socket = this.direct();
    if (!socket) {
      if (this.res && !this.res.writableEnded && !this.res.destroyed) this.res.write(text);
      return;
    }
    socket.write(this.chunked ? chunk(text) : text);
    if (socket.writableLength > this.maxBuffered) {
      this.onSlow();
      socket.destroy();
    }
  }

  heartbeat(): void {
    this.lastWrite = performance.now();
    const socket = this.direct();
    if (!socket) {
      if (this.res && !this.res.writableEnded && !this.res.destroyed) this.res.write(HEARTBEAT);
      return;
    }
    socket.write(this.chunked ? HEARTBEAT_CHUNK : HEARTBEAT);
  }

  /** End the body: `res.end()`, or the raw front's end (last chunk, then the socket's next request). */
  end(): void {
    if (this.res) this.res.end();
    else this.done!();
  }

  /**
   * `fn` once when the connection closes before the body ends (the client left, or it was cut);
   * at once if it already has. `offClose` before `end()` when the body ends normally.
   */
  onClose(fn: () => void): void {
    if (this.res) {
      this.res.once("close", fn);
      if (this.res.destroyed || !this.res.socket || this.res.socket.destroyed) fn();
      return;
    }
    this.onGone = fn;
    if (this.socket!.destroyed) fn();
  }

  offClose(fn: () => void): void {
    if (this.res) this.res.off("close", fn);
    else if (this.onGone === fn) this.onGone = null;
  }

  /** Raw sockets: the owner saw the connection close. */
  closed(): void {
    const fn = this.onGone;
    this.onGone = null;
    fn?.();
  }
}

/**
 * Heartbeats for every SSE stream of the process from one timer: each sweep (every quarter of
 * `intervalMs`, at most a second apart) writes a heartbeat comment to the streams quiet for
 * `intervalMs`, instead of a timer per stream. Sweeping often keeps the writes spread out the way
 * the streams opened, rather than one burst that holds the event loop.
 */
export class HeartbeatSweep {
  private readonly streams = new Set<SseWriter>();
  /** Streams cut because their client read too slowly (`ai_sse_slow_followers_cut_total`). */
  slowCut = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly intervalMs: number) {}

  add(w: SseWriter): void {
    this.streams.add(w);
    this.timer ??= setInterval(() => this.sweep(), Math.max(10, Math.min(1000, Math.floor(this.intervalMs / 4)))).unref();
  }

  delete(w: SseWriter): void {
    this.streams.delete(w);
    if (this.streams.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  get size(): number {
    return this.streams.size;
  }

  private sweep(): void {
    const due = performance.now() - this.intervalMs;
    for (const w of this.streams) if (w.lastWrite <= due) w.heartbeat();
  }
}
