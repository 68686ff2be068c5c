import { apiClient, readSse, startStack, waitFor, writeTestCatalog, type SseEvent, type Stack } from "@switchyard/testkit";
import { runStatuses } from "./run-statuses";

type Json = Record<string, any>;
let s: Stack;
let a: ReturnType<typeof apiClient>;

beforeAll(async () => {
  // Short locks so a killed worker's job is noticed quickly.
  s = await startStack({
    apps: ["gateway", "usage-aggregator"],
    env: { MODEL_CATALOG_PATH: writeTestCatalog(), WORKER_LOCK_MS: "1500", SHUTDOWN_GRACE_MS: "15000" },
  });
  a = apiClient(s.url, s.key);
}, 60_000);
afterAll(async () => {
  await s?.stop();
});

const status = async (id: string) => (await a.get<Json>(`/v1/jobs/${id}`)).body;
const submit = async (body: Json) => (await a.post<Json>("/v1/jobs", body)).body.id as string;
const deltasAfterLastRestart = (events: SseEvent[]) => {
  let text = "";
  for (const e of events) {
    if (e.event === "restart") text = "";
    if (e.event === "delta") text += JSON.parse(e.data).text;
  }
  return text;
};

test("a job whose worker is killed with SIGKILL is picked up again and finishes, announced by a restart", async () => {
  const w1 = await s.spawn("router-worker", {}, "w1");
  const id = await submit({ model: "sim-slow", messages: [{ role: "user", content: "survive a crash" }], max_tokens: 40 });
  // Wait until it has streamed some output, then kill the worker mid-job.
  await waitFor(async () => {
    const r = await readSse(`${s.url}/v1/jobs/${id}/events`, { headers: { authorization: `Bearer ${s.key}` }, stopAfter: 4 });
    return r.events.filter((e) => e.event === "delta").length >= 2 ? true : undefined;
  });
  w1.kill("SIGKILL");
  await w1.exited;
  expect((await status(id)).status).toBe("running");
  await s.spawn("router-worker", {}, "w2");
  const events = (await readSse(`${s.url}/v1/jobs/${id}/events`, { headers: { authorization: `Bearer ${s.key}` }, timeoutMs: 30_000 })).events;
  const job = await status(id);
  expect(job.status).toBe("succeeded");
  expect(events.filter((e) => e.event === "restart")).toHaveLength(1);
  expect(events.filter((e) => e.event === "done")).toHaveLength(1);
  expect(runStatuses(events).map((d) => d.attempt)).toEqual([1, 2]);
  expect(deltasAfterLastRestart(events)).toBe(job.output.text);
  expect(job.attempts).toEqual({ runs: 2, waits: 0 });
  // The killed run had streamed output, so it is billed too (from what it streamed); each run once.
  const rows = await waitFor(async () => {
    const r = await s.database.db.selectFrom("usage_events").select(["attempt", "status", "provenance"]).where("job_id", "=", id).orderBy("attempt").execute();
    return r.length === 2 ? r : undefined;
  });
  expect(rows).toEqual([
    { attempt: 1, status: "incomplete", provenance: "partial" },
    { attempt: 2, status: "succeeded", provenance: "reported" },
  ]);
}, 60_000);

test("SIGTERM lets in-flight jobs finish, takes no new ones, then exits 0", async () => {
  for (const [name, app] of s.apps) if (name.startsWith("w")) app.kill("SIGKILL");
  const w = await s.spawn("router-worker", {}, "draining");
  const inFlight = await submit({ model: "sim-slow", messages: [{ role: "user", content: "finish me" }], max_tokens: 30 });
  await waitFor(async () => ((await status(inFlight)).status === "running" ? true : undefined));
  w.kill("SIGTERM");
  await new Promise((r) => setTimeout(r, 200));
  const later = await submit({ model: "sim-fast", messages: [{ role: "user", content: "not for you" }] });
  const code = await w.exited;
  expect(code).toBe(0);
  const done = await status(inFlight);
  expect(done.status).toBe("succeeded");
  expect(done.output.text.length).toBeGreaterThan(0);
  expect((await status(later)).status).toBe("queued");
  // Another worker takes the queued job.
  await s.spawn("router-worker", {}, "successor");
  await waitFor(async () => ((await status(later)).status === "succeeded" ? true : undefined));
}, 60_000);

test("the gateway and the aggregator exit 0 on SIGTERM", async () => {
  const gw = s.apps.get("gateway")!;
  const agg = s.apps.get("usage-aggregator")!;
  const sse = readSse(`${s.url}/v1/jobs/${await submit({ model: "sim-crawl", messages: [{ role: "user", content: "x" }] })}/events`, {
    headers: { authorization: `Bearer ${s.key}` },
  });
  await new Promise((r) => setTimeout(r, 300));
  gw.kill("SIGTERM");
  agg.kill("SIGTERM");
  expect(await gw.exited).toBe(0);
  expect(await agg.exited).toBe(0);
  const r = await sse;
  expect(r.status).toBe(200);
  await expect(fetch(`${s.url}/health`)).rejects.toThrow();
}, 60_000);
