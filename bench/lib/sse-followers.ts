/**
 * The follower side of `bench/sse-fanout.ts`, run as a child process (`fork`) so that its CPU is
 * not the gateway's or the event writer's. It holds many SSE connections on raw sockets (an
 * `http` client per connection would cost more than the gateway's side) and, while recording,
 * notes each event's delivery latency: receipt time minus the millisecond part of its stream id
 * (the Redis clock at XADD; same machine, so the same clock).
 *
 * Messages from the parent: `{ cmd: "open", port, key, jobIds, concurrency, extraHeaders? }` (header lines, each ending in CRLF) → `{ held, failed, errors }`;
 * `{ cmd: "record", on }` → `{ ok }` (turning it off replies with the latencies);
 * `{ cmd: "close" }` → `{ ok }` and exit.
 */
import net from "node:net";

interface Conn {
  socket: net.Socket;
  headerDone: boolean;
  buf: string;
  ok: boolean;
}

const conns: Conn[] = [];
let recording = false;
let latencies: number[] = [];
let received = 0;
let dropped = 0;

function onData(c: Conn, chunk: string, now: number): void {
  let text = chunk;
  if (!c.headerDone) {
    c.buf += text;
    const end = c.buf.indexOf("\r\n\r\n");
    if (end < 0) return;
    c.ok = c.buf.startsWith("HTTP/1.1 200");
    c.headerDone = true;
    text = c.buf.slice(end + 4);
    c.buf = "";
  }
  // Chunked transfer encoding wraps the frames; an `id: ` line is whole within its frame, and
  // frames are small, so a line split across two reads is rare: keep the tail and join it.
  text = c.buf + text;
  const lastNl = text.lastIndexOf("\n");
  c.buf = lastNl < 0 ? text : text.slice(lastNl + 1);
  let at = text.indexOf("id: ");
  while (at >= 0 && at < (lastNl < 0 ? 0 : lastNl)) {
    if (at === 0 || text.charCodeAt(at - 1) === 10) {
      const dash = text.indexOf("-", at + 4);
      const ms = Number(text.slice(at + 4, dash));
      received++;
      if (recording && Number.isFinite(ms)) latencies.push(now - ms);
    }
    at = text.indexOf("id: ", at + 4);
  }
}

function openOne(port: number, key: string, jobId: string, extraHeaders = ""): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: "127.0.0.1" });
    const c: Conn = { socket, headerDone: false, buf: "", ok: false };
    socket.setEncoding("utf8");
    socket.setNoDelay(true);
    let settled = false;
    const timer = setTimeout(() => fail(new Error("no response headers within 30 s")), 30_000);
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    socket.on("error", fail);
    socket.on("close", () => {
      if (settled && c.ok) dropped++;
      fail(new Error("closed before response headers"));
    });
    socket.on("data", (d: string) => {
      onData(c, d, Date.now());
      if (!settled && c.headerDone) {
        settled = true;
        clearTimeout(timer);
        if (c.ok) resolve(c);
        else {
          socket.destroy();
          reject(new Error(`status line: ${d.slice(0, 40)}`));
        }
      }
    });
    socket.write(
      `GET /v1/jobs/${jobId}/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${key}\r\nAccept: text/event-stream\r\n${extraHeaders}\r\n`,
    );
  });
}

async function open(msg: {
  port: number;
  key: string;
  jobIds: string[];
  concurrency: number;
  extraHeaders?: string;
}): Promise<{ held: number; failed: number; errors: string[] }> {
  let next = 0;
  let failed = 0;
  const errors: string[] = [];
  const lane = async () => {
    while (next < msg.jobIds.length) {
      const jobId = msg.jobIds[next++]!;
      try {
        conns.push(await openOne(msg.port, msg.key, jobId, msg.extraHeaders));
      } catch (err) {
        failed++;
        if (errors.length < 5) errors.push((err as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: msg.concurrency }, lane));
  return { held: conns.filter((c) => !c.socket.destroyed).length, failed, errors };
}

process.on("message", (msg: { cmd: string; [k: string]: unknown }) => {
  const reply = (m: unknown) => process.send!(m);
  if (msg.cmd === "open") {
    void open(msg as never).then(reply);
  } else if (msg.cmd === "record") {
    if (msg.on) {
      latencies = [];
      received = 0;
      recording = true;
      reply({ ok: true });
    } else {
      recording = false;
      reply({ ok: true, latencies, received, held: conns.filter((c) => !c.socket.destroyed).length, dropped });
    }
  } else if (msg.cmd === "close") {
    for (const c of conns) c.socket.destroy();
    reply({ ok: true });
    setTimeout(() => process.exit(0), 50);
  }
});
