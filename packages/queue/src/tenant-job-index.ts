import type { RedisKeys } from "./keys";
import type { Redis } from "./redis";

/**
 * A tenant's jobs, live and recently ended, newest first, for `GET /v1/jobs` (issue 16).
 *
 * Kept like the live index (see `LIVE_BUCKET_SIZE` in job-store-scripts.ts): in buckets of at most
 * {@link TENANT_JOB_BUCKET_SIZE} job ids scored by creation ms, sorted sets `<index>:<n>` small enough
 * to stay listpack-encoded (about 45 bytes a job; one sorted set per tenant turned skiplist past 128
 * entries and cost about 140, which took a waiting job past P7's 2 KB). `<index>:open` holds the
 * number of the bucket being filled (kept for good: a few bytes per tenant, and bucket numbers
 * never repeat; both spelt as `RedisKeys.tenantJobsBucket` / `.tenantJobsOpenBucket` do). `CREATE_JOB` adds the job (`sy_tenant_job_add`, in the same script, so no extra
 * round trip) and gives the bucket a TTL of the job retention plus an hour from that add: the
 * index is trimmed a whole bucket at a time, when its newest job is past that, and older buckets
 * (filled earlier) expire first, so the buckets alive are always consecutive numbers up to `open`.
 * No entry is removed one by one (a ZREMRANGEBYSCORE per create cost more than the rest of the
 * add): a bucket holds at most 120, so a slow tenant's open bucket keeps at most that many old ones.
 *
 * Entries are never removed when a job ends: a reader reads the job's hash and skips ids whose
 * hash is gone (ended jobs past retention are in Postgres).
 */
export const TENANT_JOB_BUCKET_SIZE = 120;

/** Lua: `sy_tenant_job_add(index, job id, created ms, keep ms)`. */
export const TENANT_JOB_INDEX_ADD = `
local function sy_tenant_job_add(idx, id, ms, keep)
  local open = idx .. ":open"
  local n = redis.call("GET", open)
  if not n or redis.call("ZCARD", idx .. ":" .. n) >= ${TENANT_JOB_BUCKET_SIZE} then n = redis.call("INCR", open) end
  local b = idx .. ":" .. n
  redis.call("ZADD", b, ms, id)
  redis.call("PEXPIRE", b, keep)
end
`;

/**
 * Read entries in a score range, newest bucket first, starting at bucket ARGV[2] ("" or past the
 * open one: the open one), until at least ARGV[4] entries were read and then one bucket more (the lookahead: gateways'
 * clocks differ, so a bucket can hold a job a little newer than the newest of the bucket after
 * it), or the oldest bucket was read, or a bucket older than the range's start.
 * KEYS: none (the bucket keys are named after ARGV[1], in its hash slot). ARGV: 1 index, 2 start
 * bucket, 3 max score (inclusive, "+inf" for none), 4 entries wanted, 5 min score (inclusive, "-inf").
 * Returns {next bucket to read (the lookahead, read again; 0 when none is left), {bucket, {id, score, id, score…}}…}.
 */
const READ = `
local idx, want = ARGV[1], tonumber(ARGV[4])
local n = tonumber(redis.call("GET", idx .. ":open") or "0")
if ARGV[2] ~= "" and tonumber(ARGV[2]) < n then n = tonumber(ARGV[2]) end
local out = {}
local read, extra = 0, false
while n >= 1 do
  local b = idx .. ":" .. n
  local newest = redis.call("ZREVRANGE", b, 0, 0, "WITHSCORES")
  if #newest == 0 then n = 0 break end
  local r = redis.call("ZREVRANGEBYSCORE", b, ARGV[3], ARGV[5], "WITHSCORES")
  if #r > 0 then out[#out + 1] = {n, r} end
  read = read + #r / 2
  if ARGV[5] ~= "-inf" and tonumber(newest[2]) < tonumber(ARGV[5]) then n = 0 break end
  if extra then break end
  n = n - 1
  if read >= want then extra = true end
end
return {n, out}
`;

/** One entry of a tenant's index, and the bucket it was read from. */
export interface TenantJobEntry {
  id: string;
  createdMs: number;
  bucket: number;
}

type Scripted = Redis & { syTenantJobsRead(...argv: string[]): Promise<[number, [number, string[]][]]> };

/** Reads a tenant's job index (see the module comment). */
export class TenantJobIndex {
  /** Define its script on the connection; a gateway does it at start (a command defined while an auto-pipeline is open is missing from that pipeline). */
  static define(redis: Redis): void {
    if (!("syTenantJobsRead" in redis)) redis.defineCommand("syTenantJobsRead", { numberOfKeys: 0, lua: READ });
  }

  private readonly redis: Scripted;
  constructor(
    redis: Redis,
    private readonly keys: RedisKeys,
  ) {
    TenantJobIndex.define(redis);
    this.redis = redis as Scripted;
  }

  /**
   * Entries created in [minMs, maxMs] from bucket `fromBucket` (null: the newest) down, at least
   * `want` of them when there are that many and then the next bucket's, in bucket order (sort them
   * if order matters). `next` is the bucket to continue from, the last one read (its entries come
   * again); null when no bucket is left that could hold entries in the range.
   */
  async read(
    tenantId: string,
    opts: { fromBucket: number | null; maxMs: number | null; minMs: number | null; want: number },
  ): Promise<{ entries: TenantJobEntry[]; next: number | null }> {
    const [next, buckets] = await this.redis.syTenantJobsRead(
      this.keys.tenantJobs(tenantId),
      opts.fromBucket === null ? "" : String(opts.fromBucket),
      opts.maxMs === null ? "+inf" : String(opts.maxMs),
      String(opts.want),
      opts.minMs === null ? "-inf" : String(opts.minMs),
    );
    const entries: TenantJobEntry[] = [];
    for (const [bucket, flat] of buckets) for (let i = 0; i + 1 < flat.length; i += 2) entries.push({ id: flat[i]!, createdMs: Number(flat[i + 1]), bucket });
    return { entries, next: Number(next) >= 1 ? Number(next) : null };
  }
}
