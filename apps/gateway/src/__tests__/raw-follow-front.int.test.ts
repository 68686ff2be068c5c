import http from "node:http";
import net, { type AddressInfo } from "node:net";
import { seedDemo } from "@switchyard/db";
import { createLogger } from "@switchyard/telemetry";
import { cleanupPrefix, createTestDatabase, testPrefix, TEST_REDIS_URL, waitFor, writeTestCatalog, type TestDatabase } from "@switchyard/testkit";
import { createGatewayHandler } from "../app";
import { loadEnv } from "../env";
import { startGateway, type RunningGateway } from "../server";

/**
 * The raw follow front (raw-follow-front.ts) against express: the same follow requests sent as
 * exact bytes to the gateway's port (where the front serves a plain follow from the bare socket)
 * and to a node:http server running the gateway's own request listener on the same resources
 * (express all the way). Status, headers (Date aside) and the body's bytes, chunk framing
 * included, must be the same: live, resumed with Last-Event-ID and with ?after=, and the answers
 * the front leaves to express (401, 404, 400). The front's counts show which way each went
 * (submits, cancels and /metrics go to the express server, so those counts are the follows' alone).
 */
let database: TestDatabase;
let gw: RunningGateway;
let expressServer: http.Server;
let rawPort: number;
let expressPort: number;
let key: string;
const prefix = testPrefix("rawfront");

beforeAll(async () => {
  database = await createTestDatabase();
  key = (await seedDemo(database.db)).key!;
  const env = {
    DATABASE_URL: database.url,
    REDIS_URL: TEST_REDIS_URL,
    SWITCHYARD_PREFIX: prefix,
    MODEL_CATALOG_PATH: writeTestCatalog(),
    LOG_LEVEL: "silent",
    BATCH_RUNNER_ENABLED: "false",
    // No heartbeat inside a test's window: the two bodies are compared byte for byte.
    SSE_HEARTBEAT_MS: "600000",
  };
  gw = await startGateway(loadEnv({ ...env, PORT: "0", HOST: "127.0.0.1" }), { logger: createLogger({ name: "gateway", level: "silent" }), db: database.db });
  rawPort = gw.port;
  expressServer = http.createServer(createGatewayHandler(gw.resources));
  expressServer.keepAliveTimeout = 65_000; // as server.ts sets it
  await new Promise<void>((r) => expressServer.listen(0, "127.0.0.1", r));
  expressPort = (expressServer.address() as AddressInfo).port;
}, 60_000);
afterAll(async () => {
  expressServer?.closeAllConnections();
  await new Promise((r) => expressServer?.close(r));
  await gw?.close(0);
  await database?.drop();
  await cleanupPrefix(prefix);
});

/** Until `cond` holds (5 s at most). */
const when = (cond: () => boolean | Promise<boolean>) => waitFor(async () => ((await cond()) ? true : undefined), 5000);

let seq = 0;
async function submit(): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${expressPort}/v1/jobs`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json", "idempotency-key": `raw-${process.pid}-${++seq}` },
    body: JSON.stringify({ model: "sim-fast", messages: [{ role: "user", content: "follow me" }] }),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}
const append = (id: string, text: string) => gw.resources.jobStore.append(id, { type: "delta", data: { text } });
async function cancel(id: string): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${expressPort}/v1/jobs/${id}/cancel`, { method: "POST", headers: { authorization: `Bearer ${key}` } });
  expect(res.status).toBe(200);
}

interface Exchange {
  socket: net.Socket;
  /** Everything read so far (latin1, so bytes map 1:1). */
  bytes: () => string;
  /** Resolves once `done(text)` holds, or rejects after `ms`. */
  until: (done: (text: string) => boolean, ms?: number) => Promise<string>;
}

/** A fresh connection that sends `head` as it is and collects what comes back. */
function exchange(port: number, head: string): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: "127.0.0.1" }, () => {
      socket.write(head);
      resolve({
        socket,
        bytes: () => text,
        until: (done, ms = 10_000) =>
          new Promise((ok, fail) => {
            const deadline = Date.now() + ms;
            const check = () => {
              if (done(text)) return ok(text);
              if (Date.now() > deadline) return fail(new Error(`timed out; read so far: ${JSON.stringify(text.slice(0, 2000))}`));
              setTimeout(check, 10);
            };
            check();
          }),
      });
    });
    let text = "";
    socket.setEncoding("latin1");
    socket.on("data", (d: string) => (text += d));
    socket.on("error", reject);
  });
}

const followHead = (id: string, extra = "", query = "") =>
  `GET /v1/jobs/${id}/events${query} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${key}\r\nX-Request-Id: rawfront-${seq}\r\n${extra}\r\n`;

/** Status line and headers (Date dropped), and the raw body, of one response. */
function split(text: string): { head: string[]; body: string } {
  const end = text.indexOf("\r\n\r\n");
  const head = text
    .slice(0, end)
    .split("\r\n")
    .filter((l) => !/^date:/i.test(l));
  return { head, body: text.slice(end + 4) };
}
const streamEnded = (t: string) => t.includes("\r\n\r\n") && t.endsWith("\r\n0\r\n\r\n");
const jsonDone = (t: string) => {
  const end = t.indexOf("\r\n\r\n");
  const m = /content-length: (\d+)/i.exec(t);
  return end >= 0 && m !== null && t.length >= end + 4 + Number(m[1]);
};

test("a live follow, then its replay from Last-Event-ID and from ?after=: the same head and the same body bytes from the raw front and from express", async () => {
  const id = await submit();
  const served = gw.rawFront.counts.served;
  const raw = await exchange(rawPort, followHead(id));
  const viaExpress = await exchange(expressPort, followHead(id));
  await raw.until((t) => t.includes("event: status"));
  await viaExpress.until((t) => t.includes("event: status"));
  expect(gw.rawFront.counts.served).toBe(served + 1);
  const ids: string[] = [];
  for (const text of ["Hel", "lo, ", "wörld ✓"]) ids.push((await append(id, text))!);
  await cancel(id);
  const [a, b] = [split(await raw.until(streamEnded)), split(await viaExpress.until(streamEnded))];
  expect(a.head).toEqual(b.head);
  expect(a.head).toEqual([
    "HTTP/1.1 200 OK",
    `x-request-id: rawfront-${seq}`,
    "Vary: Origin",
    "Content-Type: text/event-stream; charset=utf-8",
    "Cache-Control: no-cache, no-transform",
    "Connection: keep-alive",
    "X-Accel-Buffering: no",
    "Transfer-Encoding: chunked",
  ]);
  expect(a.body).toBe(b.body);
  expect(a.body).toContain(Buffer.from("wörld ✓").toString("latin1"));
  expect(a.body.match(/event: error/g)).toHaveLength(1);
  expect(a.body).toContain('"reason":"canceled"');

  // Deltas after each resume point (Last-Event-ID wins over ?after=; 0-1 is the queued event's id).
  for (const [extra, query, deltas] of [
    [`Last-Event-ID: ${ids[0]}\r\n`, "", 2],
    ["", `?after=${ids[1]}`, 1],
    ["Last-Event-ID: 0-1\r\n", "?after=1-0", 3],
  ] as const) {
    const before = gw.rawFront.counts.served;
    const r = split(await (await exchange(rawPort, followHead(id, extra, query))).until(streamEnded));
    const e = split(await (await exchange(expressPort, followHead(id, extra, query))).until(streamEnded));
    expect(gw.rawFront.counts.served).toBe(before + 1);
    expect(r).toEqual(e);
    expect(r.body.match(/event: delta/g)).toHaveLength(deltas);
    expect(r.body).not.toContain("queued");
  }
  raw.socket.destroy();
  viaExpress.socket.destroy();
});

test.each([
  ["a wrong key (401)", (id: string) => followHead(id).replace(key, `${key.slice(0, -2)}xx`), 401],
  ["another tenant's or no such job (404)", () => followHead("job_doesnotexist"), 404],
  ["a bad Last-Event-ID (400)", (id: string) => followHead(id, "Last-Event-ID: yesterday\r\n"), 400],
  ["a bad ?after= (400)", (id: string) => followHead(id, "", "?after=1-2-3"), 400],
])("%s is answered by express through the front, as express answers it directly", async (_name, head, status) => {
  const id = await submit();
  const handed = gw.rawFront.counts.handedOver;
  const r = split(await (await exchange(rawPort, head(id))).until(jsonDone));
  const e = split(await (await exchange(expressPort, head(id))).until(jsonDone));
  expect(gw.rawFront.counts.handedOver).toBe(handed + 1);
  expect(r.head[0]).toBe(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}`);
  expect(r).toEqual(e);
});

test("after a raw-served stream the connection stays usable: the next request goes to node:http, a next follow is served raw again", async () => {
  const id = await submit();
  await cancel(id);
  const served = gw.rawFront.counts.served;
  const c = await exchange(rawPort, followHead(id));
  await c.until(streamEnded);
  c.socket.write(`GET /v1/jobs/${id} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\n\r\n`);
  const second = await c.until((t) => t.split("HTTP/1.1 ").length === 3 && jsonDone(t.slice(t.lastIndexOf("HTTP/1.1 "))));
  expect(second.slice(second.lastIndexOf("HTTP/1.1 "))).toMatch(/^HTTP\/1\.1 200 OK[\s\S]*"status":"canceled"/);
  expect(gw.rawFront.counts.served).toBe(served + 1);

  const c2 = await exchange(rawPort, followHead(id));
  await c2.until(streamEnded);
  c2.socket.write(followHead(id, "Last-Event-ID: 0-1\r\n"));
  await c2.until((t) => t.split("HTTP/1.1 200 OK").length === 3 && streamEnded(t));
  expect(gw.rawFront.counts.served).toBe(served + 3);
  c.socket.destroy();
  c2.socket.destroy();
});

test("requests the front does not serve reach node:http byte for byte: a POST with its body, Origin, HEAD, an odd case in the path", async () => {
  const id = await submit();
  const handed = gw.rawFront.counts.handedOver;
  const body = JSON.stringify({ model: "sim-fast", messages: [{ role: "user", content: "x".repeat(40_000) }] });
  const post = await exchange(
    rawPort,
    `POST /v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 100)}`,
  );
  await new Promise((r) => setTimeout(r, 50));
  post.socket.write(body.slice(100));
  expect(split(await post.until(jsonDone)).head[0]).toBe("HTTP/1.1 202 Accepted");
  for (const head of [
    followHead(id, "Origin: https://not-allowed.example\r\n"),
    followHead(id).replace("GET", "HEAD"),
    followHead(id).replace("/events", "/Events"),
  ]) {
    const r = await exchange(rawPort, head);
    const e = await exchange(expressPort, head);
    await r.until((t) => t.includes("\r\n\r\n"));
    await e.until((t) => t.includes("\r\n\r\n"));
    expect(split(r.bytes()).head).toEqual(split(e.bytes()).head);
    r.socket.destroy();
    e.socket.destroy();
  }
  expect(gw.rawFront.counts.handedOver).toBe(handed + 4);
});

test("a follower that leaves is counted out: ai_sse_connections, the hub and the front let it go, and the request is recorded under the route", async () => {
  const id = await submit();
  const open = gw.resources.sse.count;
  const owned = gw.rawFront.size;
  const c = await exchange(rawPort, followHead(id));
  await c.until((t) => t.includes("event: status"));
  await when(() => gw.resources.sse.count === open + 1);
  expect(gw.resources.events.size).toBeGreaterThan(0);
  const metrics = async () =>
    (await (await fetch(`http://127.0.0.1:${expressPort}/metrics`)).text()).match(
      /http_requests_total\{[^}]*route="\/v1\/jobs\/:id\/events"[^}]*status="200"[^}]*\} (\d+)/,
    )?.[1];
  const recorded = Number((await metrics()) ?? 0);
  c.socket.destroy();
  await when(() => gw.resources.sse.count === open);
  await when(() => gw.rawFront.size === owned);
  await when(async () => Number(await metrics()) === recorded + 1);
});
