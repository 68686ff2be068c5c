import { Redis, type RedisOptions } from "ioredis";

/**
 * A Redis connection. `maxRetriesPerRequest: null` because BullMQ's blocking connections need it;
 * commands wait for a reconnect instead of failing fast, so request paths that must answer
 * quickly (readiness) use their own timeout.
 */
export function createRedis(url: string, opts: RedisOptions = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, retryStrategy: (n) => Math.min(n * 200, 2000), ...opts });
}

export type { Redis };
