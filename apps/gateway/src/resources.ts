import type { GatewayFaultPoint } from "./env";
import type { ModelCatalog } from "@switchyard/contracts";
import type { Database, FileContentStore } from "@switchyard/db";
import type { JobStore, QueueSet, Redis, RedisKeys } from "@switchyard/queue";
import type { Logger, MetricsRegistry } from "@switchyard/telemetry";
import type { Kysely } from "kysely";
import type { CircuitBreakers } from "@switchyard/routing";
import type { ProcessMetrics } from "@switchyard/runtime";
import type { AlertFirer, BudgetLedger, BudgetUsedRatios, RateLimiter, TokenCountPool } from "@switchyard/admission";
import type { Embedder } from "@switchyard/rag";
import type { ProviderRegistry } from "@switchyard/providers";
import type { DeploymentCache } from "./services/deployment-cache";
import type { EventStreamHub } from "./services/event-stream-hub";
import type { SseConnections } from "./services/sse-connections";
import type { HeartbeatSweep } from "./services/sse-writer";
import type { Maintenance } from "./services/maintenance";

/** Everything the gateway's routes use, built once in main.ts (tests build their own). */
export interface GatewayResources {
  db: Kysely<Database>;
  redis: Redis;
  keys: RedisKeys;
  jobStore: JobStore;
  queues: QueueSet;
  catalog: ModelCatalog;
  deployments: DeploymentCache;
  breakers: CircuitBreakers;
  rateLimiter: RateLimiter;
  /** Embeds search queries; the same settings as the rag-worker's, so vectors compare. */
  embedder: Embedder;
  budgets: BudgetLedger;
  /** Providers the gateway calls itself: embedding models for `POST /v1/embeddings` (chat runs on the router-worker). */
  providers: ProviderRegistry;
  /** Budget threshold alerts, and each deployment's used ratio as admission last read it (the `budget_used_ratio` gauge). */
  alerts: { firer: AlertFirer; usedRatios: BudgetUsedRatios };
  logger: Logger;
  registry: MetricsRegistry;
  metrics: ProcessMetrics;
  /** Job event streams followed by SSE clients, all read over one shared blocking connection. */
  events: EventStreamHub;
  /** Open SSE streams of this process: `ai_sse_connections`, and the warning/critical log lines. */
  sse: SseConnections;
  /** One timer's heartbeats for the job-event streams of this process (`SSE_HEARTBEAT_MS`). */
  sseHeartbeats: HeartbeatSweep;
  /** Exact input-token counts at admission; large texts are counted on worker threads. */
  tokenCounter: TokenCountPool;
  /** Maintenance mode: new work refused with 503 while on (`POST /admin/v1/maintenance`). */
  maintenance: Maintenance;
  /** Where `/v1/files` bytes live (FILE_STORE: Postgres `file_chunks` or an S3-compatible bucket); absent: Postgres. */
  fileStore?: FileContentStore;
  /** Crash tests' fault hook (SWITCHYARD_FAULT_POINTS); a no-op unless points are configured. */
  fault: (point: GatewayFaultPoint) => void;
  config: {
    idempotencyTtlSeconds: number;
    sseHeartbeatMs: number;
    /** SSE_MAX_BUFFERED_BYTES: what a slow job-events client may leave waiting before its stream is cut. */
    sseMaxBufferedBytes: number;
    bodyLimit: string;
    trustProxy: boolean;
    /** Bound on one embeddings call to a provider. */
    embeddingsTimeoutMs: number;
  };
}
