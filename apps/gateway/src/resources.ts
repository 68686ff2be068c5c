import type { ModelCatalog } from "@switchyard/contracts";
import type { Database } from "@switchyard/db";
import type { JobStore, QueueSet, Redis, RedisKeys } from "@switchyard/queue";
import type { Logger, MetricsRegistry } from "@switchyard/telemetry";
import type { Kysely } from "kysely";
import type { CircuitBreakers } from "@switchyard/routing";
import type { AlertFirer, BudgetLedger, RateLimiter } from "@switchyard/admission";
import type { Embedder } from "@switchyard/rag";
import type { GatewayMetrics } from "./gateway-metrics";
import type { DeploymentCache } from "./services/deployment-cache";

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
  /** Budget threshold alerts, and the last used ratio admission saw per deployment (the `budget_used_ratio` gauge reads it). */
  alerts: { firer: AlertFirer; usedRatios: Map<string, number> };
  logger: Logger;
  registry: MetricsRegistry;
  metrics: GatewayMetrics;
  config: {
    idempotencyTtlSeconds: number;
    sseHeartbeatMs: number;
    bodyLimit: string;
    trustProxy: boolean;
  };
}
