/**
 * The Redis key layout lives in `@switchyard/contracts` (redis-keys.ts), where every package that
 * writes Redis can reach it; it is re-exported here so `import { RedisKeys } from "@switchyard/queue"`
 * keeps working.
 */
export { RedisKeys, type BudgetKeyScope, type RateLimitKeys } from "@switchyard/contracts";
