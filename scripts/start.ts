/**
 * `pnpm start`: the whole of Switchyard in one command.
 *
 * Redis: `REDIS_URL`, else one answering on 127.0.0.1:6379, else a `redis-server` from PATH started
 * on `EMBEDDED_REDIS_PORT` (6390). Postgres: `DATABASE_URL`, else PGlite served by
 * scripts/pglite-server.ts on `PGLITE_PORT` (54329). Embedded data lives in `SWITCHYARD_DATA_DIR`
 * (default `.data/`). Then migrations, the demo tenant and its bootstrap key
 * (`SWITCHYARD_BOOTSTRAP_KEY`, else the one saved in `<data>/bootstrap-key`, else a new one saved
 * there), and the four apps (`PORT` 8080 for the gateway; `ROUTER_METRICS_PORT` 9464,
 * `AGGREGATOR_METRICS_PORT` 9465, `RAG_METRICS_PORT` 9466). Prints `ready` once the gateway's
 * /health/ready answers 200 (within `READY_TIMEOUT_MS`, default 120 000).
 *
 * The apps run as production does: their bundles `apps/<app>/dist/main.js` in plain Node, built
 * first when a source is newer (scripts/build.ts, about a second). `SWITCHYARD_FROM_SOURCE=1`
 * runs `src/main.ts` through tsx instead (no build).
 *
 * Ctrl-C / SIGTERM: the apps get SIGTERM and `SHUTDOWN_GRACE_MS` (15 000) to drain, then SIGKILL;
 * then PGlite and any redis-server we started stop. Exit 0; non-zero when start failed or an app
 * died on its own.
 */
import { createDb, generateApiKey, migrateToLatest, parseApiKey, seedDemo } from "@switchyard/db";
import { APPS, buildApp, bundlesStale } from "./lib/build-apps";
import { Launcher } from "./lib/launcher";

async function prepareDatabase(connectionString: string, bootstrapKey: string): Promise<void> {
  const db = createDb({ connectionString, max: 2 });
  try {
    await migrateToLatest(db);
    await seedDemo(db, { bootstrapKey });
  } finally {
    await db.destroy();
  }
}

const fromSource = process.env.SWITCHYARD_FROM_SOURCE === "1";
const launcher = new Launcher({
  compiled: !fromSource,
  prepareDatabase,
  isValidKey: (key) => parseApiKey(key)?.kind === "secret",
  generateKey: () => generateApiKey("secret").key,
});
process.on("SIGINT", () => launcher.requestStop("SIGINT"));
process.on("SIGTERM", () => launcher.requestStop("SIGTERM"));
/** The apps' bundles, rebuilt when a source is newer than one of them. */
async function buildIfStale(): Promise<void> {
  if (fromSource || !bundlesStale()) return;
  const started = Date.now();
  for (const app of APPS) await buildApp(app);
  console.log(`built the apps (apps/*/dist/main.js) in ${Date.now() - started} ms`);
}

buildIfStale()
  .then(() => launcher.run())
  .then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
