import { createDb } from "@switchyard/db";
import { createQueueSet, createRedis, RedisKeys, registerQueueMetrics, withTimeout } from "@switchyard/queue";
import { createLogger, createMetricsRegistry, startMetricsServer } from "@switchyard/telemetry";
import { sql } from "kysely";
import { loadEnv } from "./env";

/**
 * rag-worker: for now it starts, exposes metrics and reports health (Redis and Postgres
 * reachable). Retrieval (`ai-rag`) and indexing (`ai-index`) arrive with the RAG work.
 */
async function main(): Promise<void> {
  const env = loadEnv();
  const logger = createLogger({ name: "rag-worker", level: env.LOG_LEVEL });
  const db = createDb({ connectionString: env.DATABASE_URL, max: 2, onError: (err) => logger.warn({ err: err.message }, "postgres client error") });
  const redis = createRedis(env.REDIS_URL);
  redis.on("error", (err: Error) => logger.warn({ err: err.message }, "redis error"));
  const queues = createQueueSet({ connection: redis, keys: new RedisKeys(env.SWITCHYARD_PREFIX) });
  const registry = createMetricsRegistry({ serviceName: "rag-worker" });
  registerQueueMetrics(registry.meter, queues);
  const server = await startMetricsServer({
    port: env.METRICS_PORT,
    registry,
    routes: {
      "/health/ready": async () => {
        const checks = await Promise.allSettled([withTimeout(redis.ping(), 1500), withTimeout(sql`select 1`.execute(db), 1500)]);
        const [r, p] = checks.map((c) => (c.status === "fulfilled" ? { ok: true } : { ok: false, error: (c.reason as Error).message }));
        const ready = !!r?.ok && !!p?.ok;
        return { status: ready ? 200 : 503, body: { ready, checks: { redis: r, postgres: p } } };
      },
    },
  });
  logger.info({ metricsPort: server.port }, "rag-worker up (retrieval not enabled yet)");
  const shutdown = async () => {
    await server.close();
    await queues.close();
    redis.disconnect();
    await db.destroy();
    await registry.shutdown();
    process.exit(0);
  };
  process.once("SIGTERM", () => void shutdown());
  process.once("SIGINT", () => void shutdown());
}

main().catch((err: Error) => {
  process.stderr.write(`rag-worker failed to start: ${err.message}\n`);
  process.exit(1);
});
