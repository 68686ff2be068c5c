import http from "node:http";
import type { AddressInfo } from "node:net";
import { HeartbeatSweep, SseWriter } from "./sse-writer";

/** The SSE writer on a real loopback HTTP server: chunked framing a client parses, heartbeats, slow readers cut. */
type Handler = (res: http.ServerResponse) => void;
async function serve(handler: Handler): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.flushHeaders();
    handler(res);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

test("frames written straight to the socket arrive as a well-formed chunked body, then res.end() ends it", async () => {
  const frames = ['id: 1-0\nevent: delta\ndata: {"text":"héllo ✓"}\n\n', "id: 2-0\nevent: done\ndata: {}\n\n"];
  const s = await serve((res) => {
    const w = new SseWriter(res);
    w.write(frames[0]!);
    w.heartbeat();
    w.write(frames[1]!);
    res.end();
  });
  const body = await new Promise<string>((resolve, reject) => {
    http
      .get(s.url, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (text += d));
        res.on("end", () => resolve(text));
      })
      .on("error", reject);
  });
  expect(body).toBe(`${frames[0]}: heartbeat\n\n${frames[1]}`);
  await s.close();
});

test("a client that stops reading is cut once more than maxBuffered waits; one that reads gets everything", async () => {
  const frame = `data: ${"x".repeat(64 * 1024)}\n\n`;
  const rounds = 400; // 26 MB: more than loopback's socket buffers hold
  let slow = 0;
  let cutAfter = -1;
  const s = await serve((res) => {
    const w = new SseWriter(res, 256 * 1024, () => slow++);
    let i = 0;
    const next = () => {
      if (res.socket === null || res.socket.destroyed) return void (cutAfter = i);
      if (i++ === rounds) return void res.end();
      w.write(frame);
      setImmediate(next);
    };
    next();
  });
  // The reader: everything arrives, nobody is cut.
  const got = await new Promise<number>((resolve, reject) => {
    http
      .get(s.url, (res) => {
        let n = 0;
        res.on("data", (d: Buffer) => (n += d.length));
        res.on("end", () => resolve(n));
      })
      .on("error", reject);
  });
  expect(got).toBe(frame.length * rounds);
  expect(slow).toBe(0);
  // The sleeper: paused from the first byte; the server cuts it long before the last round.
  const req = http.get(s.url, (res) => res.pause());
  req.on("error", () => undefined);
  const deadline = Date.now() + 20_000;
  while (cutAfter < 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(slow).toBe(1);
  expect(cutAfter).toBeGreaterThan(0);
  expect(cutAfter).toBeLessThan(rounds);
  req.destroy();
  await s.close();
});

test("one sweep timer sends heartbeats only to streams quiet for the interval", async () => {
  const writers: SseWriter[] = [];
  const sweep = new HeartbeatSweep(200);
  const s = await serve((res) => {
    const w = new SseWriter(res);
    writers.push(w);
    sweep.add(w);
  });
  const read = (onText: (t: string) => void) => http.get(s.url, (res) => res.setEncoding("utf8").on("data", onText));
  let quiet = "";
  let busy = "";
  const a = read((t) => (quiet += t));
  const b = read((t) => (busy += t));
  while (writers.length < 2) await new Promise((r) => setTimeout(r, 10));
  const chatter = setInterval(() => writers[1]!.write("data: x\n\n"), 50);
  await new Promise((r) => setTimeout(r, 700));
  clearInterval(chatter);
  expect(quiet.split(": heartbeat").length - 1).toBeGreaterThanOrEqual(2);
  expect(busy).not.toContain(": heartbeat");
  for (const w of writers) sweep.delete(w);
  expect(sweep.size).toBe(0);
  a.destroy();
  b.destroy();
  await s.close();
});
