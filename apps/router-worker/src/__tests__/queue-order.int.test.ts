import { createRedis, RedisKeys, type Redis } from "@switchyard/queue";
import { apiClient, readSse, startStack, TEST_REDIS_URL, waitFor, writeTestCatalog, type Stack } from "@switchyard/testkit";

/**
 * Jobs waiting in `ai-route` (queued while no worker runs, then taken by one worker running one
 * job at a time): `max_queue_ms` bounds how long a job may wait to start, and `priority`
 * (high | normal | low) orders the waiting jobs.
 */
let s: Stack;
let redis: Redis;
type View = { status: string; started_at: string | null; error: { code: string; reason?: string } | null };
beforeAll(async () => {
  s = await startStack({ apps: ["gateway"], env: { MODEL_CATALOG_PATH: writeTestCatalog() } });
  redis = createRedis(TEST_REDIS_URL);
  // A budget, so every admitted job holds a reservation until it ends.
  const dep = await s.database.db.selectFrom("deployments").select("id").where("is_default", "=", true).executeTakeFirstOrThrow();
  expect((await apiClient(s.url, s.key).call("PATCH", `/admin/v1/deployments/${dep.id}`, { body: { budget: { period: "day", limit_usd: 100 } } })).status).toBe(
    200,
  );
  await new Promise((r) => setTimeout(r, 1100)); // deployment settings are cached for a second
}, 60_000);
afterAll(async () => {
  redis?.disconnect();
  await s?.stop();
});

const submit = async (name: string, extra: Record<string, unknown>) => {
  const r = await apiClient(s.url, s.key).post<{ id: string }>("/v1/jobs", {
    model: "sim-fast",
    max_tokens: 4,
    messages: [{ role: "user", content: name }],
    ...extra,
  });
  expect(r.status).toBe(202);
  return { name, id: r.body.id };
};
const view = async (id: string) => (await apiClient(s.url, s.key).get<View>(`/v1/jobs/${id}`)).body;
const ended = (ids: string[]) =>
  waitFor(
    async () => {
      const views = await Promise.all(ids.map(view));
      return views.every((v) => ["succeeded", "failed"].includes(v.status)) ? views : undefined;
    },
    30_000,
    "the jobs to end",
  );
/** Stop this file's router-worker, so the next jobs wait in the queue. */
async function stopWorker(label: string): Promise<void> {
  const w = s.apps.get(label);
  w?.kill("SIGTERM");
  await w?.exited;
}

test("a job not begun within its max_queue_ms ends failed with queue_timeout, its reservation released, one terminal event", async () => {
  const late = await submit("late", { max_queue_ms: 200 });
  const patient = await submit("patient", { max_queue_ms: 60_000 });
  // Both are admitted, so both hold a budget reservation while they wait.
  expect(await redis.exists(new RedisKeys(s.prefix).budgetReservation(late.id))).toBe(1);
  await new Promise((r) => setTimeout(r, 500));
  await s.spawn("router-worker", { ROUTER_CONCURRENCY: "1" }, "worker-1");
  const [lateView, patientView] = await ended([late.id, patient.id]);
  expect(lateView).toMatchObject({ status: "failed", started_at: null, error: { code: "queue_timeout", reason: "queue_timeout" } });
  expect(patientView!.status).toBe("succeeded");
  expect(await redis.exists(new RedisKeys(s.prefix).budgetReservation(late.id))).toBe(0);
  const events = (await readSse(`${s.url}/v1/jobs/${late.id}/events`, { headers: { authorization: `Bearer ${s.key}` } })).events;
  expect(events.filter((e) => e.event === "done" || e.event === "error").map((e) => e.event)).toEqual(["error"]);
  expect(events.some((e) => e.event === "delta")).toBe(false);
  await stopWorker("worker-1");
});

test("a max_queue_ms out of range is a 400 naming it", async () => {
  const r = await apiClient(s.url, s.key).post<{ error: { param?: string } }>("/v1/jobs", {
    model: "sim-fast",
    max_queue_ms: 0,
    messages: [{ role: "user", content: "x" }],
  });
  expect(r.status).toBe(400);
  expect(r.body.error.param).toBe("max_queue_ms");
});

test("a waiting high job is taken before normal and low ones submitted earlier", async () => {
  const jobs = [
    await submit("low-1", { priority: "low" }),
    await submit("low-2", { priority: "low" }),
    await submit("normal-1", { priority: "normal" }),
    await submit("high-1", { priority: "high" }),
    await submit("normal-2", { priority: "normal" }),
  ];
  await s.spawn("router-worker", { ROUTER_CONCURRENCY: "1" }, "worker-2");
  const views = await ended(jobs.map((j) => j.id));
  expect(views.every((v) => v.status === "succeeded")).toBe(true);
  const order = jobs
    .map((j, i) => ({ name: j.name, at: Date.parse(views[i]!.started_at!) }))
    .sort((x, y) => x.at - y.at)
    .map((j) => j.name);
  expect(order).toEqual(["high-1", "normal-1", "normal-2", "low-1", "low-2"]);
});
