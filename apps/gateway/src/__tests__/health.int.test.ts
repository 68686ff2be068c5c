import { createRedis } from "@switchyard/queue";
import { CircuitBreakers } from "@switchyard/routing";
import {
  apiClient,
  freePort,
  httpOk,
  spawnApp,
  startTcpProxy,
  createTestDatabase,
  testPrefix,
  cleanupPrefix,
  type SpawnedApp,
  type TcpProxy,
  type TestDatabase,
} from "@switchyard/testkit";

type Json = Record<string, any>;
let redisProxy: TcpProxy;
let pgProxy: TcpProxy;
let database: TestDatabase;
let gateway: SpawnedApp;
let url: string;
/** The workers' metrics servers, through the same proxies: their /health/ready must say the same. */
const workers: Record<string, { app?: SpawnedApp; url: string }> = { "router-worker": { url: "" }, "usage-aggregator": { url: "" } };
const prefix = testPrefix("health");

beforeAll(async () => {
  database = await createTestDatabase();
  redisProxy = await startTcpProxy({ host: "127.0.0.1", port: 6379 });
  pgProxy = await startTcpProxy({ host: "127.0.0.1", port: 5432 });
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  const dbUrl = new URL(database.url);
  dbUrl.port = String(pgProxy.port);
  const env = { DATABASE_URL: dbUrl.toString(), REDIS_URL: `redis://127.0.0.1:${redisProxy.port}`, SWITCHYARD_PREFIX: prefix };
  gateway = await spawnApp("gateway", { ...env, PORT: String(port) }, () => httpOk(`${url}/health`));
  for (const [name, w] of Object.entries(workers)) {
    const metricsPort = await freePort();
    w.url = `http://127.0.0.1:${metricsPort}`;
    w.app = await spawnApp(name as "router-worker" | "usage-aggregator", { ...env, METRICS_PORT: String(metricsPort) }, () => httpOk(`${w.url}/health`));
  }
}, 60_000);
afterAll(async () => {
  gateway?.kill("SIGKILL");
  for (const w of Object.values(workers)) w.app?.kill("SIGKILL");
  await redisProxy?.close();
  await pgProxy?.close();
  await database?.drop();
  await cleanupPrefix(prefix);
});

async function until(expected: number, base = url, timeoutMs = 15_000): Promise<Json> {
  const deadline = Date.now() + timeoutMs;
  let last: Json = {};
  while (Date.now() < deadline) {
    const r = await apiClient(base).get<Json>("/health/ready");
    last = r.body;
    if (r.status === expected) return r.body;
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new Error(`readiness never became ${expected}: ${JSON.stringify(last)}`);
}

test("/health answers ok and /health/ready checks redis, postgres and migrations", async () => {
  expect((await apiClient(url).get<Json>("/health")).body).toEqual({ status: "ok" });
  const body = await until(200);
  expect(body).toMatchObject({ ready: true, checks: { redis: { ok: true }, postgres: { ok: true }, migrations: { ok: true } } });
});

test("readiness is 503 naming redis while Redis is away, and 200 again when it is back", async () => {
  await redisProxy.cut();
  const down = await until(503);
  expect(down.checks.redis.ok).toBe(false);
  expect(down.checks.postgres.ok).toBe(true);
  expect(down.error.message).toContain("redis");
  // The workers' readiness follows Redis too (the router-worker has no database to check).
  const router = await until(503, workers["router-worker"]!.url);
  expect(router.checks).toEqual({ redis: { ok: false, error: expect.any(String) } });
  const aggregator = await until(503, workers["usage-aggregator"]!.url);
  expect(aggregator.checks).toMatchObject({ redis: { ok: false }, postgres: { ok: true }, migrations: { ok: true } });
  await redisProxy.restore();
  await until(200);
  for (const w of Object.values(workers)) await until(200, w.url);
});

test("readiness is 503 naming postgres while Postgres is away, and 200 again when it is back", async () => {
  await pgProxy.cut();
  const down = await until(503);
  expect(down.checks.postgres.ok).toBe(false);
  expect(down.checks.redis.ok).toBe(true);
  expect(down.error.message).toContain("postgres");
  const aggregator = await until(503, workers["usage-aggregator"]!.url);
  expect(aggregator.checks).toMatchObject({ redis: { ok: true }, postgres: { ok: false } });
  expect(aggregator.error.message).toContain("postgres");
  expect((await until(200, workers["router-worker"]!.url)).checks.redis.ok).toBe(true);
  const db = await apiClient(url).get<Json>("/health/db");
  expect(db.status).toBe(503);
  expect(db.body).toMatchObject({ status: "down", postgres: { ok: false } });
  await pgProxy.restore();
  await until(200);
  await until(200, workers["usage-aggregator"]!.url);
});

test("/metrics exposes the queue and HTTP metrics", async () => {
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  const text = await res.text();
  for (const name of [
    "ai_queue_depth_total",
    "ai_queue_enqueue_total",
    "ai_queue_dequeue_total",
    "http_requests_total",
    "http_request_duration_seconds_bucket",
  ]) {
    expect(text).toContain(name);
  }
  expect(text).toMatch(/ai_queue_depth_total\{queue="ai-route",state="waiting"\} \d+/);
  expect(text).toMatch(/http_requests_total\{method="GET",route="\/health\/ready",status="(200|503)"\} \d+/);
});

test("/health/db: Postgres answers, the schema is current, and the pool's figures (also db_pool_* in /metrics)", async () => {
  const db = await apiClient(url).get<Json>("/health/db");
  expect(db.status).toBe(200);
  expect(db.body).toMatchObject({ status: "ok", postgres: { ok: true }, migrations: { ok: true }, pool: { max: 10 } });
  expect(db.body.latency_ms).toBeGreaterThanOrEqual(0);
  expect(db.body.pool.total).toBeGreaterThanOrEqual(1);
  expect(db.body.pool.idle).toBeLessThanOrEqual(db.body.pool.total);
  expect(db.body.pool.waiting).toBe(0);
  const text = await (await fetch(`${url}/metrics`)).text();
  expect(text).toMatch(/db_pool_connections\{state="idle"\} \d+/);
  expect(text).toMatch(/db_pool_connections\{state="in_use"\} \d+/);
  expect(text).toMatch(/db_pool_waiting_requests \d+/);
  expect(text).toMatch(/db_pool_max_connections 10/);
});

test("/health/integrations: each provider from its breakers' view, down when all its models' breakers are open", async () => {
  const ok = await apiClient(url).get<Json>("/health/integrations");
  expect(ok.status).toBe(200);
  expect(ok.body.status).toBe("ok");
  const providers = ok.body.providers as Json[];
  expect(providers.length).toBeGreaterThanOrEqual(2);
  for (const p of providers) expect(p).toMatchObject({ status: "ok", open: [], simulated: expect.any(Boolean) });
  const victim = providers[0]!;
  const redis = createRedis(`redis://127.0.0.1:6379`);
  const breakers = new CircuitBreakers({ redis, prefix });
  try {
    for (const m of victim.models) await breakers.forceOpen(m, 60_000);
    const down = await apiClient(url).get<Json>("/health/integrations");
    expect(down.status).toBe(200);
    expect(down.body.status).toBe("degraded");
    const p = (down.body.providers as Json[]).find((x) => x.provider === victim.provider)!;
    expect(p).toMatchObject({ status: "down", open: victim.models });
    for (const other of (down.body.providers as Json[]).filter((x) => x.provider !== victim.provider)) expect(other.status).toBe("ok");
  } finally {
    for (const m of victim.models) await breakers.reset(m);
    redis.disconnect();
  }
  expect((await apiClient(url).get<Json>("/health/integrations")).body.status).toBe("ok");
});
