import { CircuitBreakers } from "@switchyard/routing";
import { createRedis, type Redis } from "@switchyard/queue";
import { cleanupPrefix, createTestDatabase, TEST_CATALOG, TEST_REDIS_URL, testPrefix, waitFor, writeTestCatalog, type TestDatabase } from "@switchyard/testkit";
import { createLogger } from "@switchyard/telemetry";
import { AppProcess, startProcess } from "./app-process";

const prefix = testPrefix("runtime");
const logger = createLogger({ name: "runtime-test", level: "silent" });
const env = { REDIS_URL: TEST_REDIS_URL, SWITCHYARD_PREFIX: prefix, LOG_LEVEL: "silent" as const, MODEL_CATALOG_PATH: writeTestCatalog() };
let database: TestDatabase;
/** Disconnecting ends a connection once its socket has closed. */
const ended = (c: Redis) => waitFor(async () => (c.status === "end" ? true : undefined), 5000, "the connection to end");

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
  await cleanupPrefix(prefix);
});

test("a start that fails closes what it had opened, last opened first, and passes the error on", async () => {
  let p: AppProcess | undefined;
  const order: string[] = [];
  let metricsPort = 0;
  const started = startProcess({ name: "t", env, logger }, async (proc) => {
    p = proc;
    proc.defer("first", () => order.push("first"));
    const connection = proc.duplicate();
    await connection.ping();
    proc.defer("second", () => order.push(`second (its connection ${connection.status})`));
    metricsPort = (await proc.serveMetrics({ port: 0, metrics: proc.metrics() })).port;
    expect((await fetch(`http://127.0.0.1:${metricsPort}/health`)).status).toBe(200);
    throw new Error("the queue is not there");
  });
  await expect(started).rejects.toThrow("the queue is not there");
  expect(order).toEqual(["second (its connection ready)", "first"]);
  await ended(p!.redis);
  await expect(fetch(`http://127.0.0.1:${metricsPort}/health`)).rejects.toThrow();
});

test("duplicated connections are closed with the process, after what was opened on them", async () => {
  const p = new AppProcess({ name: "t", env, logger });
  const c = p.duplicate();
  let statusWhenConsumerClosed = "";
  p.defer("consumer", () => (statusWhenConsumerClosed = c.status));
  await c.ping();
  await p.close();
  expect(statusWhenConsumerClosed).toBe("ready");
  await ended(c);
  await ended(p.redis);
});

test("readiness checks Redis, and Postgres with its migrations when the process has a database; a given database stays open", async () => {
  const noDb = new AppProcess({ name: "t", env, logger });
  const withDb = new AppProcess({ name: "t", env, logger, db: database.db });
  try {
    await Promise.all([noDb.redis.ping(), withDb.redis.ping()]);
    for (const [p, checks] of [
      [noDb, ["redis"]],
      [withDb, ["migrations", "postgres", "redis"]],
    ] as const) {
      const { port } = await p.serveMetrics({ port: 0, metrics: p.metrics() });
      const r = await fetch(`http://127.0.0.1:${port}/health/ready`);
      const body = (await r.json()) as { ready: boolean; checks: Record<string, { ok: boolean }> };
      expect({ status: r.status, ready: body.ready, checks: Object.keys(body.checks).sort() }).toEqual({ status: 200, ready: true, checks });
    }
    expect(() => noDb.db).toThrow("t has no database (no DATABASE_URL)");
  } finally {
    await noDb.close();
    await withDb.close();
  }
  // The test's database was given, so it was not closed.
  expect((await database.db.selectFrom("tenants").select("id").execute()).length).toBeGreaterThanOrEqual(0);
});

test("the process metrics report every catalog model's breaker, read from Redis by a process that holds no breaker", async () => {
  const redis = createRedis(TEST_REDIS_URL);
  await new CircuitBreakers({ redis, prefix }).forceOpen("sim-slow", 60_000);
  redis.disconnect();
  const p = new AppProcess({ name: "t", env, logger });
  try {
    const { port } = await p.serveMetrics({ port: 0, metrics: p.metrics() });
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const states = Object.fromEntries([...text.matchAll(/^circuit_breaker_state\{model="([^"]+)"\} (\d)/gm)].map((m) => [m[1], Number(m[2])]));
    expect(states).toEqual(Object.fromEntries(TEST_CATALOG.models.map((m) => [m.id, m.id === "sim-slow" ? 2 : 0])));
    expect(text).toMatch(/^ai_tokens_total\{model="sim-fast",kind="output"\} 0/m);
  } finally {
    await p.close();
  }
});
