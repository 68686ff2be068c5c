import { seedDemo } from "@switchyard/db";
import { freePort } from "./net";
import { httpOk, spawnApp, type AppName, type SpawnedApp } from "./spawn-app";
import { createTestDatabase, type TestDatabase } from "./test-db";
import { cleanupPrefix, testPrefix, TEST_REDIS_URL } from "./test-redis";

export interface Stack {
  url: string;
  key: string;
  prefix: string;
  database: TestDatabase;
  env: Record<string, string>;
  apps: Map<string, SpawnedApp>;
  /** Start another instance of an app (e.g. a second worker) against the same stack. */
  spawn(name: AppName, extraEnv?: Record<string, string>, label?: string): Promise<SpawnedApp>;
  stop(): Promise<void>;
}

/**
 * The whole system for an end-to-end test: its own Postgres database and Redis prefix, the apps
 * as real child processes, and a seeded bootstrap key.
 */
export async function startStack(opts: { apps?: AppName[]; env?: Record<string, string>; pgAdminUrl?: string } = {}): Promise<Stack> {
  const database = await createTestDatabase(opts.pgAdminUrl);
  const prefix = testPrefix("stack");
  const seeded = await seedDemo(database.db);
  // Load tests submit thousands of jobs with the demo key; the demo deployment's own (internal)
  // defaults would refuse most. Tests of limits make tenants of their own.
  await database.db
    .updateTable("deployments")
    .set({
      rate_limits: JSON.stringify({
        requests_per_minute: 1_000_000,
        requests_per_hour: 10_000_000,
        requests_per_day: 100_000_000,
        tokens_per_day: 1_000_000_000,
      }),
    })
    .where("id", "=", seeded.deploymentId)
    .execute();
  const env: Record<string, string> = {
    DATABASE_URL: database.url,
    REDIS_URL: TEST_REDIS_URL,
    SWITCHYARD_PREFIX: prefix,
    SSE_HEARTBEAT_MS: "1000",
    ...opts.env,
  };
  const apps = new Map<string, SpawnedApp>();
  const spawnOne = async (name: AppName, extraEnv: Record<string, string> = {}, label: string = name) => {
    let app: SpawnedApp | undefined;
    let port = 0;
    // A free port can be taken by a test running beside this one before the app binds it (the app
    // then exits with EADDRINUSE): try another, a few times.
    for (let attempt = 1; !app; attempt++) {
      port = await freePort();
      const appEnv = { ...env, ...extraEnv, ...(name === "gateway" ? { PORT: String(port) } : { METRICS_PORT: String(port) }) };
      try {
        app = await spawnApp(name, appEnv, () => httpOk(`http://127.0.0.1:${port}/health`), 30_000, port);
      } catch (err) {
        if (attempt >= 3 || !/EADDRINUSE/.test((err as Error).message)) throw err;
      }
    }
    apps.set(label, app);
    if (label === "gateway") stack.url = `http://127.0.0.1:${port}`;
    return app;
  };
  const stack: Stack = {
    url: "",
    key: seeded.key!,
    prefix,
    database,
    env,
    apps,
    spawn: spawnOne,
    async stop() {
      for (const a of apps.values()) a.kill("SIGTERM");
      await Promise.all([...apps.values()].map((a) => Promise.race([a.exited, new Promise((r) => setTimeout(r, 10_000).unref())])));
      for (const a of apps.values()) a.kill("SIGKILL");
      await database.drop();
      await cleanupPrefix(prefix);
    },
  };
  try {
    await Promise.all((opts.apps ?? ["gateway", "router-worker", "usage-aggregator"]).map((n) => spawnOne(n)));
  } catch (err) {
    await stack.stop().catch(() => undefined);
    throw err;
  }
  return stack;
}
