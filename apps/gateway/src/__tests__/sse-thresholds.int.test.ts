import http from "node:http";
import { apiClient, startStack, waitFor, writeTestCatalog, type Stack } from "@switchyard/testkit";

interface LogLine {
  level: number;
  msg: string;
  event?: string;
  sse_connections?: number;
  threshold?: number;
  severity?: string;
}
/** An SSE response held open until the test cuts it. */
interface OpenStream {
  status: number;
  firstChunk: Promise<string>;
  close(): void;
}

const PINO = { info: 30, warn: 40, error: 50 };
let s: Stack;
let a: ReturnType<typeof apiClient>;

beforeAll(async () => {
  // No router-worker: a submitted job stays queued, so its event stream never finishes on its own.
  s = await startStack({
    apps: ["gateway"],
    env: { MODEL_CATALOG_PATH: writeTestCatalog(), SSE_WARN_CONNECTIONS: "3", SSE_CRITICAL_CONNECTIONS: "5", LOG_LEVEL: "info" },
  });
  a = apiClient(s.url, s.key);
}, 60_000);
afterAll(async () => {
  await s?.stop();
});

/** The gateway's JSON log lines that carry an `event` field. */
function eventLines(): LogLine[] {
  return s.apps
    .get("gateway")!
    .output()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as LogLine)
    .filter((l) => typeof l.event === "string" && l.event.startsWith("sse_connections"));
}

/** `ai_sse_connections` as GET /metrics reports it, summed over label sets; 0 when absent. */
async function sseGauge(): Promise<number> {
  const text = await (await fetch(`${s.url}/metrics`)).text();
  return text
    .split("\n")
    .filter((l) => /^ai_sse_connections(\{| )/.test(l))
    .reduce((sum, l) => sum + Number(l.trim().split(/\s+/).at(-1)), 0);
}

/** `p`, or a failure after `ms` (the timer cleared either way, so jest can exit). */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, no) => (timer = setTimeout(() => no(new Error(`no ${what} within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

function openStream(url: string): Promise<OpenStream> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, headers: { accept: "text/event-stream", authorization: `Bearer ${s.key}` } }, (res) => {
      res.setEncoding("utf8");
      const firstChunk = new Promise<string>((ok) => res.once("data", ok));
      res.on("error", () => undefined);
      resolve({ status: res.statusCode ?? 0, firstChunk, close: () => req.destroy() });
    });
    req.on("error", reject);
    req.setTimeout(10_000, () => req.destroy(new Error("no SSE response headers within 10 s")));
  });
}

test("five open streams log one warning at 3 and one critical line at 5; /metrics follows the count up and back to 0", async () => {
  const r = await a.post<{ id: string }>("/v1/jobs", { model: "sim-fast", messages: [{ role: "user", content: "hold the line" }], max_tokens: 8 });
  expect(r.status).toBe(202);
  const url = `${s.url}/v1/jobs/${r.body.id}/events`;
  expect(eventLines()).toEqual([]);

  const streams: OpenStream[] = [];
  try {
    for (let i = 0; i < 5; i++) {
      const st = await openStream(url);
      expect(st.status).toBe(200);
      streams.push(st);
    }
    // The replayed `status` event has arrived on every stream, so the handler has counted each one.
    await Promise.all(streams.map((st) => within(st.firstChunk, 10_000, "SSE data")));
    expect(await waitFor(async () => ((await sseGauge()) === 5 ? 5 : undefined), 10_000, "ai_sse_connections to read 5")).toBe(5);
    await waitFor(async () => (eventLines().some((l) => l.event === "sse_connections_critical") ? true : undefined), 10_000, "the critical log line");

    const lines = eventLines();
    const warns = lines.filter((l) => l.event === "sse_connections_high");
    const crits = lines.filter((l) => l.event === "sse_connections_critical");
    expect(warns).toHaveLength(1);
    expect(warns[0]).toMatchObject({ level: PINO.warn, sse_connections: 3, threshold: 3, msg: "SSE connections at warning level" });
    expect(crits).toHaveLength(1);
    expect(crits[0]).toMatchObject({ level: PINO.error, severity: "critical", sse_connections: 5, threshold: 5, msg: "SSE connections at critical level" });
    expect(lines.filter((l) => l.event === "sse_connections_normal")).toEqual([]);
  } finally {
    for (const st of streams) st.close();
  }

  expect(await waitFor(async () => ((await sseGauge()) === 0 ? 0 : undefined), 10_000, "ai_sse_connections to read 0")).toBe(0);
  await waitFor(async () => (eventLines().some((l) => l.event === "sse_connections_normal") ? true : undefined), 10_000, "the back-to-normal log line");
  const after = eventLines();
  expect(after.filter((l) => l.event === "sse_connections_normal")).toHaveLength(1);
  expect(after.find((l) => l.event === "sse_connections_normal")).toMatchObject({ level: PINO.info, sse_connections: 2, threshold: 3 });
  expect(after.filter((l) => l.event === "sse_connections_high")).toHaveLength(1);
  expect(after.filter((l) => l.event === "sse_connections_critical")).toHaveLength(1);
});

test("an OpenAI-compatible stream (stream: true) counts as an SSE connection too", async () => {
  const before = await sseGauge();
  const ac = new AbortController();
  const res = await fetch(`${s.url}/v1/chat/completions`, {
    method: "POST",
    signal: ac.signal,
    headers: { authorization: `Bearer ${s.key}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "sim-fast", messages: [{ role: "user", content: "stream me" }], max_tokens: 8, stream: true }),
  });
  try {
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    expect(await waitFor(async () => ((await sseGauge()) === before + 1 ? true : undefined), 10_000, "ai_sse_connections to count the stream")).toBe(true);
  } finally {
    ac.abort();
  }
  expect(await waitFor(async () => ((await sseGauge()) === before ? true : undefined), 10_000, "ai_sse_connections to drop back")).toBe(true);
});
