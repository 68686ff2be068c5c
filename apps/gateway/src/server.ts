import http from "node:http";
import { poolStats, type Database } from "@switchyard/db";
import { faultHook } from "@switchyard/contracts";
import { DEFAULT_CATALOG_PATH, loadCatalog } from "@switchyard/providers";
import { JobStore, TenantJobIndex } from "@switchyard/queue";
import { registerDbPoolMetrics, registerSseHubMetrics, type Logger } from "@switchyard/telemetry";
import { CircuitBreakers } from "@switchyard/routing";
import { startProcess } from "@switchyard/runtime";
import { AlertFirer, BudgetLedger, BudgetUsedRatios, RateLimiter, TokenCountPool } from "@switchyard/admission";
import { loadSpent } from "./services/load-spent";
import { selectEmbedder } from "@switchyard/rag";
import { createOpenAIProvider, createProviderRegistry } from "@switchyard/providers";
import type { Kysely } from "kysely";
import { createGatewayHandler } from "./app";
import { Authenticator } from "./middleware/authenticate";
import { RawFollowFront } from "./raw-follow-front";
import type { GatewayEnv } from "./env";
import type { GatewayResources } from "./resources";
import { DeploymentCache } from "./services/deployment-cache";
import { EventStreamHub } from "./services/event-stream-hub";
import { SseConnections } from "./services/sse-connections";
import { HeartbeatSweep } from "./services/sse-writer";
import { Maintenance } from "./services/maintenance";
import { startBatchRunner } from "./services/batch-runner";
import { defineAdmitJob } from "./services/admit-job";
import { BatchThrottle, isInteractiveRequest } from "./services/batch-throttle";
import { fileStoreFromEnv } from "./services/file-store-env";

export interface RunningGateway {
  port: number;
  resources: GatewayResources;
  /** The raw-socket front that serves SSE followers (counts of what it served, for tests). */
  rawFront: RawFollowFront;
  /** Stop accepting, let open requests finish (SSE streams are cut), close connections. */
  close(graceMs?: number): Promise<void>;
}

/** Build every resource from the env, start the HTTP server. Used by main.ts and by tests. */
export async function startGateway(env: GatewayEnv, opts: { logger?: Logger; db?: Kysely<Database> } = {}): Promise<RunningGateway> {
  // Auto-pipelining: commands issued in the same tick by concurrent requests share one socket
  // write (the profile had one write per command at ~20 % of gateway CPU). The SSE hub's blocking
  // reads use a connection of their own.
  return startProcess({ name: "gateway", env, ...opts, redisOptions: { enableAutoPipelining: true } }, async (p) => {
    const { db, redis, keys, queues, registry, logger } = p;
    // Every script the request path runs is defined before the first request (see defineAdmitJob).
    defineAdmitJob(redis);
    TenantJobIndex.define(redis);
    const catalog = loadCatalog(env.MODEL_CATALOG_PATH ?? DEFAULT_CATALOG_PATH);
    const breakers = new CircuitBreakers({ redis, prefix: env.SWITCHYARD_PREFIX });
    // Alerts: budget thresholds fired at admission; budget_used_ratio{deployment} from what admission read last.
    const usedRatios = new BudgetUsedRatios();
    const jobStore = new JobStore({ redis, keys, retentionSeconds: env.JOB_RETENTION_SECONDS });
    const metrics = p.metrics({ catalog, breakerStates: (models) => breakers.states(models), budgetRatios: () => usedRatios.current() });
    const sseHeartbeats = new HeartbeatSweep(env.SSE_HEARTBEAT_MS);
    registerDbPoolMetrics(registry.meter, () => poolStats(db));
    const hubMetrics = registerSseHubMetrics(registry.meter, () => ({ ...hub.stats(), slowCut: sseHeartbeats.slowCut }));
    const hub = new EventStreamHub({
      redis,
      jobStore,
      onError: (err, where) => logger.warn({ err: err.message, where }, "SSE event hub: a Redis read failed; retrying"),
      observeLag: (s) => hubMetrics.lag.record(s),
    });
    const resources: GatewayResources = {
      db,
      redis,
      keys,
      jobStore,
      queues,
      catalog,
      deployments: new DeploymentCache(db),
      breakers,
      rateLimiter: new RateLimiter({ redis, prefix: env.SWITCHYARD_PREFIX }),
      embedder: selectEmbedder({ provider: env.EMBEDDINGS_PROVIDER, model: env.EMBEDDINGS_MODEL, dimensions: env.EMBEDDINGS_DIMENSIONS }, () =>
        createOpenAIProvider({ baseUrl: env.OPENAI_BASE_URL, apiKey: env.OPENAI_API_KEY }),
      ),
      providers: createProviderRegistry({
        openai: { baseUrl: env.OPENAI_BASE_URL, apiKey: env.OPENAI_API_KEY, timeoutMs: env.EMBEDDINGS_TIMEOUT_MS },
        gemini: { baseUrl: env.GEMINI_BASE_URL, apiKey: env.GEMINI_API_KEY, timeoutMs: env.EMBEDDINGS_TIMEOUT_MS },
        // Never called from here: it tells real Anthropic entries from simulated ones (unsupported fields).
        anthropic: { baseUrl: env.ANTHROPIC_BASE_URL, apiKey: env.ANTHROPIC_API_KEY },
      }),
      budgets: new BudgetLedger({ redis, prefix: env.SWITCHYARD_PREFIX, loadSpent: (scope, start, end) => loadSpent(db, scope, start, end) }),
      alerts: { firer: new AlertFirer({ redis, prefix: env.SWITCHYARD_PREFIX, queues, onEnqueue: () => metrics.countEnqueue("ai-alerts") }), usedRatios },
      logger,
      registry,
      metrics,
      events: hub,
      tokenCounter: new TokenCountPool(),
      sseHeartbeats,
      sse: new SseConnections({ warn: env.SSE_WARN_CONNECTIONS, critical: env.SSE_CRITICAL_CONNECTIONS, logger, gauge: metrics.sse }),
      fault: faultHook(env.SWITCHYARD_FAULT_POINTS),
      maintenance: new Maintenance(redis, keys.maintenance()),
      fileStore: fileStoreFromEnv(env, db),
      config: {
        idempotencyTtlSeconds: env.IDEMPOTENCY_TTL_SECONDS,
        sseHeartbeatMs: env.SSE_HEARTBEAT_MS,
        sseMaxBufferedBytes: env.SSE_MAX_BUFFERED_BYTES,
        bodyLimit: env.BODY_LIMIT,
        trustProxy: env.TRUST_PROXY,
        embeddingsTimeoutMs: env.EMBEDDINGS_TIMEOUT_MS,
      },
    };
    p.defer("event stream hub", () => resources.events.close());
    p.defer("token counter", () => resources.tokenCounter.close());
    p.defer("providers", () => resources.providers.close());
    const server = http.createServer(createGatewayHandler(resources));
    server.keepAliveTimeout = 65_000;
    // SSE followers of GET /v1/jobs/{id}/events are served from the bare socket (a fraction of the
    // memory of node:http's request and response); every other request reaches node:http unchanged.
    // Its Authenticator records no failures: a follow that fails a check is answered by express.
    const front = new RawFollowFront(resources, server, new Authenticator(db, logger, resources.deployments), {
      keepAliveMs: server.keepAliveTimeout,
    }).install();
    // A request Node's HTTP parser refuses (raw non-ASCII in the path, a malformed header) still gets
    // the API's error shape, not a bare "400 Bad Request".
    server.on("clientError", (err: NodeJS.ErrnoException, socket) => {
      if (err.code === "ECONNRESET" || !socket.writable) return void socket.destroy();
      const tooLarge = err.code === "HPE_HEADER_OVERFLOW";
      const status = tooLarge ? 431 : 400;
      const body = JSON.stringify({
        error: {
          type: "invalid_request_error",
          code: "invalid_request",
          message: tooLarge ? "request headers are too large" : `malformed HTTP request: ${err.code ?? err.message}`,
          request_id: "none",
        },
      });
      socket.end(
        `HTTP/1.1 ${status} ${tooLarge ? "Request Header Fields Too Large" : "Bad Request"}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(env.PORT, env.HOST, () => resolve());
    });
    const addr = server.address();
    const port = typeof addr === "object" && addr ? addr.port : env.PORT;
    logger.info({ port }, "gateway listening");

    let graceMs = env.SHUTDOWN_GRACE_MS;
    p.defer("http server", async () => {
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      front.closeIdle();
      const closeAll = () => {
        server.closeAllConnections();
        front.closeAll();
      };
      const timer = setTimeout(closeAll, graceMs);
      // SSE streams never finish on their own: end them now; clients resume with Last-Event-ID.
      setTimeout(closeAll, Math.min(graceMs, 1000));
      await done;
      clearTimeout(timer);
    });
    // The Batch API: batches move through their states in the background of interactive traffic
    // (started last, so it stops first, before the server and the connections it uses).
    if (env.BATCH_RUNNER_ENABLED) {
      const throttle = new BatchThrottle(resources, {
        maxInFlight: env.BATCH_MAX_IN_FLIGHT,
        minInFlight: env.BATCH_MIN_IN_FLIGHT,
        adaptive: env.BATCH_ADAPTIVE,
        adaptMs: env.BATCH_ADAPT_MS,
        lagMs: env.BATCH_PRESSURE_LAG_MS,
      });
      // Interactive requests in flight on this gateway: one of the pressure signals the batch yields to.
      let interactive = 0;
      server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
        if (!isInteractiveRequest(req.method, req.url)) return;
        throttle.noteInteractive(++interactive);
        res.once("close", () => interactive--);
      });
      const batches = startBatchRunner(resources, { pollMs: env.BATCH_POLL_MS, throttle });
      p.defer("batch runner", async () => {
        await batches.close();
        throttle.close();
      });
    }
    const close = (grace?: number) => {
      graceMs = grace ?? graceMs;
      return p.close();
    };
    return { port, resources, rawFront: front, close };
  });
}
