import { apiClient, readSse, startFakeOpenAI, startStack, waitFor, writeTestCatalog, type FakeOpenAI, type SseEvent, type Stack } from "@switchyard/testkit";

type Json = Record<string, any>;
let s: Stack;
let fake: FakeOpenAI;
let a: ReturnType<typeof apiClient>;
const REPLY = "The quick brown fox jumps over the lazy dog, again and again, until the stream ends.";

beforeAll(async () => {
  fake = await startFakeOpenAI({ reply: REPLY, chunkDelayMs: 5 });
  s = await startStack({ env: { MODEL_CATALOG_PATH: writeTestCatalog(), OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: "sk-test", SSE_HEARTBEAT_MS: "500" } });
  a = apiClient(s.url, s.key);
}, 60_000);
afterAll(async () => {
  await s?.stop();
  await fake?.close();
});

const auth = () => ({ authorization: `Bearer ${s.key}` });
const eventsUrl = (id: string, q = "") => `${s.url}/v1/jobs/${id}/events${q}`;
const submit = async (body: Json) => {
  const r = await a.post<Json>("/v1/jobs", body);
  expect(r.status).toBe(202);
  return r.body.id as string;
};
const idKey = (id: string) => id.split("-").map(BigInt) as [bigint, bigint];
const ascending = (ids: string[]) =>
  ids.every((id, i) => i === 0 || idKey(id)[0] > idKey(ids[i - 1]!)[0] || (idKey(id)[0] === idKey(ids[i - 1]!)[0] && idKey(id)[1] > idKey(ids[i - 1]!)[1]));

/** Joined deltas as a client must read them: a `restart` drops what came before it. */
function joinDeltas(events: SseEvent[]): string {
  let text = "";
  for (const e of events) {
    if (e.event === "restart") text = "";
    if (e.event === "delta") text += (JSON.parse(e.data) as { text: string }).text;
  }
  return text;
}

test("a job's events arrive with ids, in order, ending in exactly one done; a finished job replays and closes", async () => {
  const id = await submit({ model: "sim-fast", messages: [{ role: "user", content: "stream me" }], max_tokens: 30 });
  const live = await readSse(eventsUrl(id), { headers: auth() });
  expect(live.status).toBe(200);
  expect(live.headers["content-type"]).toMatch(/^text\/event-stream/);
  expect(live.headers["x-accel-buffering"]).toBe("no");
  expect(live.cut).toBe(false);
  const ids = live.events.map((e) => e.id!);
  expect(ids.every((x) => /^\d+-\d+$/.test(x))).toBe(true);
  expect(ascending(ids)).toBe(true);
  expect(live.events[0]).toMatchObject({ event: "status" });
  expect(live.events.filter((e) => e.event === "done")).toHaveLength(1);
  expect(live.events.at(-1)!.event).toBe("done");
  expect(live.events.filter((e) => e.event === "usage")).toHaveLength(1);
  const job = (await a.get<Json>(`/v1/jobs/${id}`)).body;
  expect(joinDeltas(live.events)).toBe(job.output.text);
  expect(JSON.parse(live.events.at(-1)!.data).job).toMatchObject({ id, status: "succeeded" });

  const replay = await readSse(eventsUrl(id), { headers: auth() });
  expect(replay.events.map((e) => e.id)).toEqual(ids);
  expect(replay.cut).toBe(false);

  const lastTwo = ids.slice(-2);
  const resumed = await readSse(eventsUrl(id), { headers: { ...auth(), "Last-Event-ID": lastTwo[0]! } });
  expect(resumed.events.map((e) => e.id)).toEqual([lastTwo[1]]);
  const viaQuery = await readSse(eventsUrl(id, `?after=${ids[2]}`), { headers: auth() });
  expect(viaQuery.events.map((e) => e.id)).toEqual(ids.slice(3));
});

test("a stream read from the start opens with status queued (id 0-1, not stored); resuming from it or later skips it", async () => {
  const id = await submit({ model: "sim-fast", messages: [{ role: "user", content: "queued first" }], max_tokens: 8 });
  const all = await readSse(eventsUrl(id), { headers: auth() });
  expect(all.events[0]).toMatchObject({ id: "0-1", event: "status" });
  expect(JSON.parse(all.events[0]!.data)).toEqual({ status: "queued" });
  expect(all.events.filter((e) => e.id === "0-1")).toHaveLength(1);
  expect(all.events.slice(1).map((e) => JSON.parse(e.data).status)).not.toContain("queued");
  const afterQueued = await readSse(eventsUrl(id), { headers: { ...auth(), "Last-Event-ID": "0-1" } });
  expect(afterQueued.events.map((e) => e.id)).toEqual(all.events.slice(1).map((e) => e.id));
  const later = await readSse(eventsUrl(id, `?after=${all.events[1]!.id}`), { headers: auth() });
  expect(later.events.map((e) => e.id)).toEqual(all.events.slice(2).map((e) => e.id));
  // Nothing was stored for it: the job's Redis Stream starts with the worker's first event.
  expect(all.events[1]!.id).not.toBe("0-1");
});

test("cutting the connection at random points and resuming loses and repeats nothing", async () => {
  // Deterministic "random" cut points, so a failure can be replayed.
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let round = 0; round < 3; round++) {
    const id = await submit({ model: "sim-slow", messages: [{ role: "user", content: `resume round ${round}` }], max_tokens: 25 });
    const seen: SseEvent[] = [];
    let last: string | undefined;
    let connections = 0;
    while (!seen.some((e) => e.event === "done" || e.event === "error")) {
      expect(connections++).toBeLessThan(200);
      const r = await readSse(eventsUrl(id), { headers: { ...auth(), ...(last ? { "Last-Event-ID": last } : {}) }, stopAfter: 1 + Math.floor(rnd() * 4) });
      seen.push(...r.events);
      if (r.events.length) last = r.events.at(-1)!.id;
    }
    expect(connections).toBeGreaterThan(3);
    const ids = seen.map((e) => e.id!);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ascending(ids)).toBe(true);
    expect(seen.filter((e) => e.event === "done")).toHaveLength(1);
    const job = (await a.get<Json>(`/v1/jobs/${id}`)).body;
    expect(job.status).toBe("succeeded");
    expect(joinDeltas(seen)).toBe(job.output.text);
    expect(job.output.text.split(" ").length).toBeGreaterThan(10);
  }
});

test("heartbeat comments keep a quiet stream open", async () => {
  const id = await submit({ model: "sim-crawl", messages: [{ role: "user", content: "slow start" }], max_tokens: 3 });
  const r = await readSse(eventsUrl(id), { headers: auth() });
  expect(r.comments.filter((c) => c === "heartbeat").length).toBeGreaterThanOrEqual(2);
  expect(r.events.at(-1)!.event).toBe("done");
});

test("a resume point that is not an event id is 400 naming it", async () => {
  const id = await submit({ model: "sim-fast", messages: [{ role: "user", content: "x" }] });
  const r = await a.get<Json>(`/v1/jobs/${id}/events?after=yesterday`);
  expect(r.status).toBe(400);
  expect(r.body.error.param).toBe("after");
  const h = await a.get<Json>(`/v1/jobs/${id}/events`, { "Last-Event-ID": "12-ab" });
  expect(h.status).toBe(400);
  expect(h.body.error.param).toBe("Last-Event-ID");
  // Past what a Redis Stream id can hold (two unsigned 64-bit parts), and the last id there is.
  for (const bad of ["18446744073709551616-0", "1-18446744073709551616", "18446744073709551615-18446744073709551615"]) {
    const big = await a.get<Json>(`/v1/jobs/${id}/events?after=${bad}`);
    expect({ bad, status: big.status, param: big.body.error?.param }).toEqual({ bad, status: 400, param: "after" });
  }
  // Leading zeros name the same event: the stream from there, as without them.
  const ids = (await readSse(eventsUrl(id), { headers: auth() })).events.map((e) => e.id!);
  const [ms, seq] = ids[0]!.split("-");
  const padded = await readSse(eventsUrl(id, `?after=000${ms}-00${seq}`), { headers: auth() });
  expect(padded.events.map((e) => e.id)).toEqual(ids.slice(1));
});

test("the OpenAI-compatible adapter streams the fake's answer with reported usage", async () => {
  fake.setMode({ kind: "ok" });
  const before = fake.requests.length;
  const id = await submit({ model: "gpt-test", messages: [{ role: "user", content: "hi openai" }], max_tokens: 50 });
  const r = await readSse(eventsUrl(id), { headers: auth() });
  expect(joinDeltas(r.events)).toBe(REPLY);
  const job = (await a.get<Json>(`/v1/jobs/${id}`)).body;
  expect(job).toMatchObject({ status: "succeeded", served_model: "gpt-test", output: { text: REPLY, finish_reason: "stop" } });
  expect(job.usage.provenance).toBe("reported");
  const req = fake.requests.slice(before).find((x) => x.path === "/v1/chat/completions")!;
  expect(req.body).toMatchObject({ model: "gpt-4o-mini", stream: true, stream_options: { include_usage: true }, max_tokens: 50 });
  expect(req.headers.authorization).toBe("Bearer sk-test");
});

test("cancel aborts the upstream call, ends the stream with one canceled error, and is 409 afterwards", async () => {
  fake.setMode({ kind: "slow", delayMs: 300 });
  const abortsBefore = fake.abortedRequests();
  const id = await submit({ model: "gpt-test", messages: [{ role: "user", content: "take your time" }] });
  const streaming = readSse(eventsUrl(id), { headers: auth() });
  await waitFor(async () => ((await a.get<Json>(`/v1/jobs/${id}`)).body.status === "running" ? true : undefined));
  await new Promise((r) => setTimeout(r, 400)); // a delta or two have gone out
  const c = await a.post<Json>(`/v1/jobs/${id}/cancel`);
  expect(c.status).toBe(200);
  expect(c.body).toMatchObject({ id, status: "canceled", error: { code: "canceled" } });
  await fake.waitForClientAbort(5000, abortsBefore + 1);
  const sse = await streaming;
  const terminal = sse.events.filter((e) => e.event === "done" || e.event === "error");
  expect(terminal).toHaveLength(1);
  expect(JSON.parse(terminal[0]!.data)).toMatchObject({ code: "canceled", reason: "canceled" });
  expect(joinDeltas(sse.events).length).toBeLessThan(REPLY.length);
  const again = await a.post<Json>(`/v1/jobs/${id}/cancel`);
  expect(again.status).toBe(409);
  expect(again.body.error).toMatchObject({ type: "conflict_error", code: "job_already_terminal" });
  expect((await a.get<Json>(`/v1/jobs/${id}`)).body.status).toBe("canceled");
  fake.setMode({ kind: "ok" });
});

test("cancel of a finished job is 409", async () => {
  const id = await submit({ model: "sim-fast", messages: [{ role: "user", content: "quick" }] });
  await readSse(eventsUrl(id), { headers: auth() });
  const r = await a.post<Json>(`/v1/jobs/${id}/cancel`);
  expect(r.status).toBe(409);
});
