import type { ModelCatalog } from "@switchyard/contracts";
import { createRedis, RedisKeys, type Redis } from "@switchyard/queue";
import {
  apiClient,
  freePort,
  httpOk,
  readSse,
  simulatedModel,
  spawnApp,
  startStack,
  TEST_REDIS_URL,
  waitFor,
  writeTestCatalog,
  type Stack,
} from "@switchyard/testkit";

/**
 * Fair scheduling across tenants (issue 18): jobs queued while no router-worker runs wait in their
 * deployment's fair lists; a worker's dispatcher hands them to BullMQ by weighted deficit round
 * robin, strict priority within a deployment, never past a deployment's max_concurrent_jobs.
 * Orders are read from the jobs' started_at with a worker taking one job at a time.
 */
type Json = Record<string, any>;
type View = {
  id: string;
  status: string;
  started_at: string | null;
  completed_at: string | null;
  error: { code: string; reason?: string } | null;
  attempts?: Json;
};

const CATALOG: ModelCatalog = {
  default_model: "sim-fast",
  models: [simulatedModel("sim-fast", { ttft_ms: 5, tokens_per_second: 2000 }), simulatedModel("sim-slow", { ttft_ms: 300, tokens_per_second: 100 })],
};

let s: Stack;
let redis: Redis;
let keys: RedisKeys;
const ENDED = ["succeeded", "failed", "canceled", "incomplete"];

beforeAll(async () => {
  s = await startStack({ apps: ["gateway"], env: { MODEL_CATALOG_PATH: writeTestCatalog(CATALOG), LOG_LEVEL: "error" } });
  redis = createRedis(TEST_REDIS_URL);
  keys = new RedisKeys(s.prefix);
}, 60_000);
afterAll(async () => {
  redis?.disconnect();
  await s?.stop();
});

/** A tenant whose default deployment has `settings` (scheduling fields, a budget) and generous rate limits; its client and deployment id. */
async function tenant(name: string, settings: Json = {}) {
  const admin = apiClient(s.url, s.key);
  const t = (await admin.post<Json>("/admin/v1/tenants", { name })).body;
  const body = { rate_limits: { requests_per_minute: 100_000, requests_per_hour: 1_000_000, requests_per_day: 10_000_000 }, ...settings };
  const patched = await admin.call<Json>("PATCH", `/admin/v1/deployments/${t.default_deployment_id}`, { body });
  expect(patched.status).toBe(200);
  const k = (await admin.post<Json>(`/admin/v1/tenants/${t.id}/api-keys`, { name: "k", scopes: ["jobs:write", "jobs:read"] })).body;
  return { client: apiClient(s.url, k.key), key: k.key as string, deploymentId: t.default_deployment_id as string, tenantId: t.id as string };
}
type Client = ReturnType<typeof apiClient>;
const submit = async (c: Client, content: string, extra: Json = {}) => {
  const r = await c.post<{ id: string }>("/v1/jobs", { model: "sim-fast", max_tokens: 4, messages: [{ role: "user", content }], ...extra });
  expect(r.status).toBe(202);
  return r.body.id;
};
/** `n` jobs, ten submits at a time, in submission order. */
async function submitMany(c: Client, n: number, label: string, extra: Json = {}): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 10)
    ids.push(...(await Promise.all(Array.from({ length: Math.min(10, n - i) }, (_, j) => submit(c, `${label} ${i + j}`, extra)))));
  return ids;
}
const view = async (c: Client, id: string) => (await c.get<View>(`/v1/jobs/${id}`)).body;
const allEnded = (c: Client, ids: string[], ms = 90_000) =>
  waitFor(
    async () => {
      const views = await Promise.all(ids.map((id) => view(c, id)));
      return views.every((v) => ENDED.includes(v.status)) ? views : undefined;
    },
    ms,
    "the jobs to end",
  );
async function stop(label: string): Promise<void> {
  const w = s.apps.get(label);
  w?.kill("SIGTERM");
  await w?.exited;
}
const terminalEvents = async (key: string, id: string) =>
  (await readSse(`${s.url}/v1/jobs/${id}/events`, { headers: { authorization: `Bearer ${key}` } })).events.filter(
    (e) => e.event === "done" || e.event === "error",
  );
/**
 * Before a test submits with no worker running: settings are cached for a second by each gateway,
 * and no worker registration may be left (one SIGKILLed, or a stop racing its registration timer,
 * counts for 15 s), or the gate would send the test's jobs straight to BullMQ.
 */
const settle = async () => {
  await redis.del(keys.fairWorkers());
  await new Promise((r) => setTimeout(r, 1100));
};

test("a deployment's max_queue_ms ends a job no worker takes: failed queue_timeout, reservation released, one terminal event", async () => {
  const e = await tenant("fair-timeout", { max_queue_ms: 400, budget: { period: "day", limit_usd: 100 } });
  await settle();
  // The request asks for more; the deployment's lower bound wins.
  const id = await submit(e.client, "late", { max_queue_ms: 60_000 });
  expect(await redis.exists(keys.budgetReservation(id))).toBe(1);
  expect(await redis.llen(keys.fairList(e.deploymentId, "normal"))).toBe(1);
  const v = await waitFor(async () => ((await view(e.client, id)).status === "failed" ? view(e.client, id) : undefined), 10_000, "the queue timeout");
  expect(v).toMatchObject({ status: "failed", started_at: null, error: { code: "queue_timeout", reason: "queue_timeout" } });
  expect(await redis.exists(keys.budgetReservation(id))).toBe(0);
  expect(await redis.llen(keys.fairList(e.deploymentId, "normal"))).toBe(0);
  expect((await terminalEvents(e.key, id)).map((x) => x.event)).toEqual(["error"]);
});

test("a request's short max_queue_ms ends its job on time though a job without one waits ahead of it in the same list", async () => {
  const e = await tenant("fair-timeout-behind");
  await settle();
  const ahead = await submit(e.client, "no bound");
  const short = await submit(e.client, "short bound", { max_queue_ms: 500 });
  expect(await redis.llen(keys.fairList(e.deploymentId, "normal"))).toBe(2);
  const v = await waitFor(async () => ((await view(e.client, short)).status === "failed" ? view(e.client, short) : undefined), 5_000, "the queue timeout");
  expect(v).toMatchObject({ status: "failed", started_at: null, error: { code: "queue_timeout" } });
  expect((await view(e.client, ahead)).status).toBe("queued");
  expect(await redis.llen(keys.fairList(e.deploymentId, "normal"))).toBe(1);
  expect(await redis.zcard(keys.fairDeadlines())).toBe(0);
  // The one left is canceled (the next test finds the lists empty).
  expect((await e.client.post(`/v1/jobs/${ahead}/cancel`, {})).status).toBe(200);
  expect(await redis.llen(keys.fairList(e.deploymentId, "normal"))).toBe(0);
});

test("a job canceled while it waits in its fair list leaves it: canceled, reservation released, one terminal event, never run", async () => {
  const f = await tenant("fair-cancel", { budget: { period: "day", limit_usd: 100 } });
  await settle();
  const id = await submit(f.client, "to cancel", { max_queue_ms: 60_000 });
  const keep = await submit(f.client, "to run");
  expect(await redis.llen(keys.fairList(f.deploymentId, "normal"))).toBe(2);
  expect(await redis.zcard(keys.fairDeadlines())).toBe(1);
  const c = await f.client.post<View>(`/v1/jobs/${id}/cancel`, {});
  expect(c.status).toBe(200);
  expect(c.body.status).toBe("canceled");
  expect(await redis.llen(keys.fairList(f.deploymentId, "normal"))).toBe(1);
  expect(await redis.zcard(keys.fairDeadlines())).toBe(0);
  expect(await redis.exists(keys.budgetReservation(id))).toBe(0);
  await s.spawn("router-worker", { ROUTER_CONCURRENCY: "1" }, "w-cancel");
  const [canceled, ran] = await allEnded(f.client, [id, keep], 30_000);
  expect(canceled).toMatchObject({ status: "canceled", started_at: null });
  expect(ran!.status).toBe("succeeded");
  expect((await terminalEvents(f.key, id)).map((x) => x.event)).toEqual(["error"]);
  await stop("w-cancel");
});

test("weights 3:1 give two deployments about a 3:1 share of the dispatches while both wait", async () => {
  const heavy = await tenant("fair-w3", { queue_weight: 3 });
  const light = await tenant("fair-w1", { queue_weight: 1 });
  await settle();
  const h = await submitMany(heavy.client, 24, "heavy");
  const l = await submitMany(light.client, 24, "light");
  await s.spawn("router-worker", { ROUTER_CONCURRENCY: "1" }, "w-weights");
  const hv = await allEnded(heavy.client, h, 60_000);
  const lv = await allEnded(light.client, l, 60_000);
  await stop("w-weights");
  const order = [...hv.map((v) => ({ who: "h", at: Date.parse(v.started_at!) })), ...lv.map((v) => ({ who: "l", at: Date.parse(v.started_at!) }))]
    .sort((x, y) => x.at - y.at)
    .map((x) => x.who);
  // The first 16 starts: 12 heavy and 4 light by the book; ±2 for starts within one millisecond.
  const heavyShare = order.slice(0, 16).filter((w) => w === "h").length;
  expect(heavyShare).toBeGreaterThanOrEqual(10);
  expect(heavyShare).toBeLessThanOrEqual(14);
});

test("a tenant flooding from two deployments gets one tenant's share: a one-deployment tenant's jobs start every other time", async () => {
  const two = await tenant("fair-two-deps");
  const one = await tenant("fair-one-dep");
  const admin = apiClient(s.url, s.key);
  const limits = { rate_limits: { requests_per_minute: 100_000, requests_per_hour: 1_000_000, requests_per_day: 10_000_000 } };
  const second = await admin.post<Json>(`/admin/v1/tenants/${two.tenantId}/deployments`, { name: "second", type: "internal", ...limits });
  expect(second.status).toBe(201);
  const k2 = await admin.post<Json>(`/admin/v1/tenants/${two.tenantId}/api-keys`, {
    name: "k2",
    scopes: ["jobs:write", "jobs:read"],
    deployment_id: second.body.id,
  });
  expect(k2.status).toBe(201);
  const twoSecond = apiClient(s.url, k2.body.key);
  await settle();
  const t1 = await submitMany(two.client, 20, "two-a");
  const t2 = await submitMany(twoSecond, 20, "two-b");
  const o = await submitMany(one.client, 20, "one");
  await s.spawn("router-worker", { ROUTER_CONCURRENCY: "1" }, "w-tenants");
  const views = [
    ...(await allEnded(two.client, t1)).map((v) => ({ who: "two", at: Date.parse(v.started_at!) })),
    ...(await allEnded(twoSecond, t2)).map((v) => ({ who: "two", at: Date.parse(v.started_at!) })),
    ...(await allEnded(one.client, o)).map((v) => ({ who: "one", at: Date.parse(v.started_at!) })),
  ];
  await stop("w-tenants");
  const first = views.sort((x, y) => x.at - y.at).slice(0, 18);
  // By the book 9 of the first 18 (tenants alternate); a per-deployment round robin would give 6.
  const share = first.filter((x) => x.who === "one").length;
  expect(share).toBeGreaterThanOrEqual(8);
  expect(share).toBeLessThanOrEqual(10);
});

test("a deployment ring left by the one-level scheduler of an earlier version is taken over: its waiting jobs still run", async () => {
  const w = await tenant("fair-legacy");
  await settle();
  const ids = await submitMany(w.client, 5, "legacy");
  // As the earlier version left it: the deployment in `ring`, no tenant rings.
  const fairKey = (name: string) => `${keys.fairPrefix()}${name}`;
  expect(await redis.lrange(keys.fairRing(), 0, -1)).toContain(encodeURIComponent(w.tenantId));
  await redis.del(keys.fairRing(), fairKey("tactive"), keys.fairTenantRing(w.tenantId));
  await redis.rpush(fairKey("ring"), encodeURIComponent(w.deploymentId));
  await s.spawn("router-worker", { ROUTER_CONCURRENCY: "2" }, "w-legacy");
  for (const v of await allEnded(w.client, ids)) expect(v.status).toBe("succeeded");
  expect(await redis.exists(fairKey("ring"))).toBe(0);
  await stop("w-legacy");
});

test("a comparison waits in its fair list as one entry: a flood of them does not hold back another tenant's job, and each still completes", async () => {
  const c = await tenant("fair-compare", { features: { multiModelComparison: true } });
  const b = await tenant("fair-compare-b");
  await settle();
  const ids: string[] = [];
  for (let i = 0; i < 8; i++) {
    const r = await c.client.post<{ id: string }>("/v1/jobs", {
      compare: ["sim-fast", "sim-slow"],
      max_tokens: 4,
      messages: [{ role: "user", content: `cmp ${i}` }],
    });
    expect(r.status).toBe(202);
    ids.push(r.body.id);
  }
  // No worker is registered (a target of 0): every comparison waits, one entry each, nothing in BullMQ.
  expect(await redis.llen(keys.fairList(c.deploymentId, "normal"))).toBe(8);
  expect(await redis.zcard(keys.bullQueue("ai-route", "prioritized"))).toBe(0);
  const bId = await submit(b.client, "B after the comparisons");
  await s.spawn("router-worker", { ROUTER_CONCURRENCY: "1" }, "w-compare");
  const parents = await allEnded(c.client, ids, 90_000);
  for (const v of parents) expect(v.status).toBe("succeeded");
  const bStart = Date.parse((await allEnded(b.client, [bId]))[0]!.started_at!);
  // Each comparison's first start, from its children's views.
  const starts = await Promise.all(
    parents.map(async (v) => {
      const kids = await Promise.all(((v as Json).comparison as Json[]).map((k) => view(c.client, k.job_id as string)));
      expect(kids.map((k) => k.status)).toEqual(["succeeded", "succeeded"]);
      return Math.min(...kids.map((k) => Date.parse(k.started_at!)));
    }),
  );
  // B's job is next after at most one comparison (without the gate all 16 of their jobs would be in BullMQ first).
  expect(starts.filter((t) => t < bStart).length).toBeLessThanOrEqual(1);
  await stop("w-compare");
});

test("max_concurrent_jobs=2: never more than two of the deployment's jobs run at once, though the worker could run six", async () => {
  const capped = await tenant("fair-cap", { max_concurrent_jobs: 2 });
  await settle();
  const ids = await submitMany(capped.client, 8, "capped", { model: "sim-slow", max_tokens: 8 });
  // Sample the deployment's held slots while the jobs run.
  let maxHeld = 0;
  let sampling = true;
  const sampler = (async () => {
    for (let i = 0; sampling && i < 600; i++) {
      maxHeld = Math.max(maxHeld, await redis.zcard(keys.fairInflight(capped.deploymentId)));
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  await s.spawn("router-worker", { ROUTER_CONCURRENCY: "6" }, "w-cap");
  const views = await allEnded(capped.client, ids, 60_000);
  sampling = false;
  await sampler;
  await stop("w-cap");
  expect(views.every((v) => v.status === "succeeded")).toBe(true);
  // Running intervals (started → completed) of the deployment's jobs: at most two overlap.
  const edges = views.flatMap((v) => [
    { at: Date.parse(v.started_at!), d: 1 },
    { at: Date.parse(v.completed_at!), d: -1 },
  ]);
  edges.sort((x, y) => x.at - y.at || x.d - y.d);
  let running = 0;
  let most = 0;
  for (const e of edges) most = Math.max(most, (running += e.d));
  expect(most).toBeLessThanOrEqual(2);
  expect(most).toBe(2);
  expect(maxHeld).toBeLessThanOrEqual(2);
  expect(await redis.zcard(keys.fairInflight(capped.deploymentId))).toBe(0);
});

test("a worker SIGKILLed between taking an entry and adding its BullMQ job: the job still runs, exactly once", async () => {
  const g = await tenant("fair-crash");
  await settle();
  const id = await submit(g.client, "crash me");
  // The worker dies at its point as its dispatcher starts, before it serves /health.
  const port = await freePort();
  const died = await spawnApp(
    "router-worker",
    { ...s.env, ROUTER_CONCURRENCY: "1", SWITCHYARD_FAULT_POINTS: "fair.dispatched:1", METRICS_PORT: String(port) },
    () => httpOk(`http://127.0.0.1:${port}/health`),
    30_000,
    port,
  ).then(
    (w) => {
      w.kill("SIGKILL");
      return "it became ready";
    },
    (err: Error) => err.message,
  );
  expect(died).toMatch(/exited before it was ready/);
  // Taken (in `dispatching`), not in BullMQ, not run.
  expect(await redis.zcard(keys.fairDispatching())).toBe(1);
  expect(await redis.exists(keys.bullJob("ai-route", id))).toBe(0);
  expect((await view(g.client, id)).status).toBe("queued");
  await s.spawn("router-worker", { ROUTER_CONCURRENCY: "1", FAIR_RECOVER_MS: "1000" }, "w-survivor");
  const [v] = await allEnded(g.client, [id], 30_000);
  expect(v!.status).toBe("succeeded");
  expect(v!.attempts).toMatchObject({ runs: 1 });
  expect((await terminalEvents(g.key, id)).map((x) => x.event)).toEqual(["done"]);
  expect(await redis.zcard(keys.fairDispatching())).toBe(0);
  await stop("w-survivor");
  // The killed worker's registration would lapse in 15 s; the next test counts on one worker's concurrency.
  await redis.del(keys.fairWorkers());
});

test("ops see jobs waiting in the fair lists: ai-route's waiting count, the metrics and the overview's waiting tenants", async () => {
  const w = await tenant("fair-ops");
  const admin = apiClient(s.url, s.key);
  await settle();
  const ids = await submitMany(w.client, 30, "ops");
  const tenantId = (await admin.get<Json>("/admin/v1/tenants?limit=200")).body.data.find((t: Json) => t.name === "fair-ops").id as string;
  const queues = (await admin.get<Json>("/admin/v1/queues")).body.data as Json[];
  expect(queues.find((q) => q.queue === "ai-route")!.counts.waiting).toBeGreaterThanOrEqual(30);
  const overview = (await admin.get<Json>("/admin/v1/overview")).body;
  const row = (overview.waiting_tenants as Json[]).find((t) => t.tenant_id === tenantId);
  expect(row).toMatchObject({ waiting: 30 });
  expect(row!.oldest_wait_seconds).toBeGreaterThanOrEqual(0);
  const metrics = await (await fetch(`${s.url}/metrics`)).text();
  const sample = (name: string, labels: string) => Number(new RegExp(`^${name}\\{${labels}\\} (\\S+)$`, "m").exec(metrics)?.[1]);
  expect(sample("ai_queue_tenant_depth", `tenant="${tenantId}"`)).toBe(30);
  expect(sample("ai_queue_depth_total", `queue="ai-route",state="waiting"`)).toBeGreaterThanOrEqual(30);
  // Canceled, they leave the lists (and the next test an empty ring).
  for (const id of ids) expect((await w.client.post(`/v1/jobs/${id}/cancel`, {})).status).toBe(200);
  expect((await admin.get<Json>("/admin/v1/overview")).body.waiting_tenants.find((t: Json) => t.tenant_id === tenantId)).toBeUndefined();
});

test("a newly busy tenant's job overtakes the jobs a flooding tenant already has waiting in BullMQ (start-time fairness), and priority classes stay ordered", async () => {
  const b = await tenant("fair-b2");
  const a = apiClient(s.url, s.key);
  const queue = keys.bullQueue("ai-route", "prioritized");
  await settle();
  // A registration worth 12 slots lets 12 of A's jobs straight into BullMQ; the rest of A's and B's wait in the lists.
  await redis.hset(keys.fairWorkers(), "bench-slots", `12|${Date.now() + 120_000}`);
  // One at a time: a direct submit adds its BullMQ job after the gate's script, so concurrent ones could all see room.
  const aIds: string[] = [];
  for (let i = 0; i < 40; i++) aIds.push(await submit(a, `overtake flood ${i}`));
  expect(await redis.zcard(queue)).toBe(12);
  const bId = await submit(b.client, "overtake B");
  const bHigh = await submit(b.client, "overtake B high", { priority: "high" });
  // BullMQ priorities: A's first job its class's own, the other 11 one lower ("behind").
  const prio = async (id: string) => Math.floor(Number(await redis.zscore(queue, id)) / 0x100000000);
  expect(await prio(aIds[0]!)).toBe(3);
  for (const id of aIds.slice(1, 12)) expect(await prio(id)).toBe(4);
  await s.spawn("router-worker", { ROUTER_CONCURRENCY: "1" }, "w-overtake");
  const all = await allEnded(a, aIds);
  const bViews = await allEnded(b.client, [bId, bHigh]);
  const started = (v: View) => Date.parse(v.started_at!);
  const rank = (v: View) => all.filter((x) => started(x) < started(v)).length;
  // B's high job goes to BullMQ at the first room, ahead of all of A's; B's normal one in the next turns, not after A's 11 waiting.
  expect(rank(bViews[1]!)).toBeLessThanOrEqual(2);
  expect(rank(bViews[0]!)).toBeLessThanOrEqual(5);
  await redis.hdel(keys.fairWorkers(), "bench-slots");
  await stop("w-overtake");
});

/** Tenant A floods 200 jobs, then tenant B submits one; a worker taking one job at a time starts. Answers how many jobs started before B's. */
async function flood(a: Client, b: Client, label: string): Promise<number> {
  const aIds = await submitMany(a, 200, `${label} flood`);
  const bId = await submit(b, `${label} B`);
  await s.spawn("router-worker", { ROUTER_CONCURRENCY: "1" }, label);
  // A's jobs start in A's order: once A's third has started, B's rank is known (before it, or after).
  const [a0, a1, a2, bv] = await waitFor(
    async () => {
      const vs = await Promise.all([aIds[0]!, aIds[1]!, aIds[2]!].map((id) => view(a, id)));
      return vs[2]!.started_at ? [...vs, await view(b, bId)] : undefined;
    },
    60_000,
    "A's third job to start",
  );
  const bAt = bv!.started_at ? Date.parse(bv!.started_at) : Infinity;
  return [a0, a1, a2].filter((v) => Date.parse(v!.started_at!) < bAt).length;
}

test("a flood from tenant A does not hold back tenant B: B's job is among the first two taken (and, without fair scheduling, it is not)", async () => {
  const b = await tenant("fair-b");
  const a = apiClient(s.url, s.key);
  await settle();
  expect(await flood(a, b.client, "w-flood")).toBeLessThanOrEqual(1);
  await stop("w-flood");

  // The same with FAIR_SCHEDULING=off on a gateway and a worker of the same stack: plain BullMQ order.
  const off = await s.spawn("gateway", { FAIR_SCHEDULING: "off" }, "gateway-off");
  const url = `http://127.0.0.1:${off.port}`;
  // What the fair run left waiting is dropped (and BullMQ drained), so the off run starts from an empty queue.
  await redis.del(
    ...(await redis.keys(`${keys.fairPrefix()}q:*`)),
    ...(await redis.keys(`${keys.fairPrefix()}dring:*`)),
    keys.fairRing(),
    keys.fairActive(),
    `${keys.fairPrefix()}tactive`,
  );
  await s.spawn("router-worker", { ROUTER_CONCURRENCY: "8", FAIR_SCHEDULING: "off" }, "w-drain");
  await waitFor(
    async () =>
      (await redis.llen(keys.bullQueue("ai-route", "wait"))) + (await redis.zcard(keys.bullQueue("ai-route", "prioritized"))) === 0 ? true : undefined,
    60_000,
    "ai-route to drain",
  );
  await stop("w-drain");
  const ranks = await flood(apiClient(url, s.key), apiClient(url, b.key), "w-flood-off");
  expect(ranks).toBeGreaterThan(1);
  await stop("w-flood-off");
});
