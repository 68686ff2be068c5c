import type { ModelCatalog } from "@switchyard/contracts";
import type { Database } from "@switchyard/db";
import type { JobStore, QueueSet, Redis, RedisKeys } from "@switchyard/queue";
import type { Logger, MetricsRegistry } from "@switchyard/telemetry";
import type { Kysely } from "kysely";
import type { CircuitBreakers } from "@switchyard/routing";
import type { BudgetLedger, RateLimiter } from "@switchyard/admission";
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
  budgets: BudgetLedger;
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
