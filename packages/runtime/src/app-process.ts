import type { ModelCatalog } from "@switchyard/contracts";
import { createDb, readiness, readinessResponse, type Database } from "@switchyard/db";
import { DEFAULT_CATALOG_PATH, loadCatalog } from "@switchyard/providers";
import { createQueueSet, createRedis, FairScheduler, RedisKeys, type QueueSet, type Redis } from "@switchyard/queue";
import { createLogger, createMetricsRegistry, startMetricsServer, type Logger, type MetricsRegistry } from "@switchyard/telemetry";
import type { RedisOptions } from "ioredis";
import type { Kysely } from "kysely";
import { breakerStatesReader, type BreakerStatesReader } from "./breaker-gauge";
import { CloserStack } from "./closer-stack";
import { logScrubber } from "./log-scrubber";
import type { ProcessEnv } from "./process-env";
import { createProcessMetrics, type ProcessMetrics } from "./process-metrics";

export interface ProcessOptions {
  /** The app's name: its logger's and its metrics' `service.name`. */
  name: string;
  env: ProcessEnv;
  /** Default: a logger at LOG_LEVEL with the PII scrubber. */
  logger?: Logger;
  /** A database the caller owns (tests): used, never closed. Default: a pool on DATABASE_URL, when the env has one. */
  db?: Kysely<Database>;
  /** Most connections of the pool this process opens (default: createDb's). */
  dbPoolMax?: number;
  /** ioredis options of the main connection (the gateway's auto-pipelining). */
  redisOptions?: RedisOptions;
}

/**
 * A running app's plumbing, built once: logger, Redis (its errors logged) and the connections
 * duplicated from it, the keys and queues on it, Postgres, the metrics registry and server with
 * readiness. Whatever is opened through it, or deferred to it, closes in reverse order on `close()`.
 */
export class AppProcess {
  readonly name: string;
  readonly env: ProcessEnv;
  readonly logger: Logger;
  readonly redis: Redis;
  readonly keys: RedisKeys;
  readonly queues: QueueSet;
  readonly registry: MetricsRegistry;
  private readonly database: Kysely<Database> | undefined;
  private readonly closers = new CloserStack();

  constructor(opts: ProcessOptions) {
    const { env } = opts;
    this.name = opts.name;
    this.env = env;
    this.logger = opts.logger ?? createLogger({ name: opts.name, level: env.LOG_LEVEL, scrub: logScrubber });
    this.registry = createMetricsRegistry({ serviceName: opts.name });
    this.defer("metrics registry", () => this.registry.shutdown());
    try {
      this.redis = this.watch(createRedis(env.REDIS_URL, opts.redisOptions));
      this.defer("redis", () => this.redis.disconnect());
      this.keys = new RedisKeys(env.SWITCHYARD_PREFIX);
      this.queues = createQueueSet({ connection: this.redis, keys: this.keys });
      this.defer("queues", () => this.queues.close());
      this.database = opts.db ?? (env.DATABASE_URL ? this.openDb(env.DATABASE_URL, opts.dbPoolMax) : undefined);
    } catch (err) {
      // Nothing half-built stays open (a connection would keep the process alive).
      void this.closers.close().catch(() => undefined);
      throw err;
    }
  }

  /** The Postgres handle; a process whose env has no DATABASE_URL has none. */
  get db(): Kysely<Database> {
    if (!this.database) throw new Error(`${this.name} has no database (no DATABASE_URL)`);
    return this.database;
  }

  /** A Redis connection of its own (a blocking consumer, a subscriber), disconnected at close. */
  duplicate(): Redis {
    const c = this.watch(this.redis.duplicate());
    this.defer("redis connection", () => c.disconnect());
    return c;
  }

  /** Close `name` at shutdown, before everything opened earlier. */
  defer(name: string, close: () => unknown): void {
    this.closers.defer(name, close);
  }

  /**
   * The process metrics (DESIGN.md's set) in this process's registry. Per-model series for the
   * catalog's models (`catalog`, or the one MODEL_CATALOG_PATH names); breaker states read through
   * `breakerStates`, by default without a breaker of this process's own.
   */
  metrics(o: { catalog?: ModelCatalog; breakerStates?: BreakerStatesReader; budgetRatios?: () => Map<string, number> } = {}): ProcessMetrics {
    const catalog = o.catalog ?? loadCatalog(this.env.MODEL_CATALOG_PATH ?? DEFAULT_CATALOG_PATH);
    return createProcessMetrics(this.registry, {
      queues: this.queues,
      models: catalog.models.map((m) => m.id),
      breakerStates: o.breakerStates ?? breakerStatesReader(this.redis, this.env.SWITCHYARD_PREFIX),
      budgetRatios: o.budgetRatios,
      fair: new FairScheduler({ redis: this.redis, keys: this.keys }),
    });
  }

  /** A worker's metrics server: `/metrics`, `/health`, and `/health/ready` checking Redis (and Postgres, when the process has it). */
  async serveMetrics(o: { port: number; metrics: ProcessMetrics }): Promise<{ port: number }> {
    const db = this.database;
    const server = await startMetricsServer({
      port: o.port,
      registry: this.registry,
      metrics: o.metrics,
      routes: { "/health/ready": async () => readinessResponse(await readiness({ redis: this.redis, db })) },
    });
    this.defer("metrics server", () => server.close());
    return { port: server.port };
  }

  /** Close everything, last opened first; the same promise on every call. */
  close(): Promise<void> {
    return this.closers.close();
  }

  private openDb(connectionString: string, max: number | undefined): Kysely<Database> {
    const db = createDb({ connectionString, ...(max ? { max } : {}), onError: (err) => this.logger.warn({ err: err.message }, "postgres client error") });
    this.defer("postgres", () => db.destroy());
    return db;
  }

  private watch(c: Redis): Redis {
    c.on("error", (err: Error) => this.logger.warn({ err: err.message }, "redis error"));
    return c;
  }
}

/**
 * Build a process and start an app on it. If `start` throws, what it had opened is closed before
 * the error is passed on.
 */
export async function startProcess<T>(opts: ProcessOptions, start: (p: AppProcess) => Promise<T>): Promise<T> {
  const p = new AppProcess(opts);
  try {
    return await start(p);
  } catch (err) {
    await p.close().catch((closeErr: Error) => p.logger.warn({ err: closeErr.message }, "closing after a failed start"));
    throw err;
  }
}
