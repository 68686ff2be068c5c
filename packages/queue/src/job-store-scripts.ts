/**
 * Lua scripts for job state. Each decision is one script so concurrent gateways and workers see
 * one order: a job has exactly one terminal transition and exactly one terminal event.
 */

/**
 * Create a job, claiming its idempotency key in the same step.
 * KEYS: 1 job hash, 2 idempotency key (the job hash again when none: every key must be in the
 * prefix's hash slot, which "" is not), 3 index of live jobs (sorted by creation)
 * ARGV: 1 job id, 2 body hash, 3 idem ttl s, 4 tenant, 5 deployment, 6 api key id, 7 view json, 8 payload json, 9 created ms
 * Returns {"created"} or {"exists", job_id, body_hash}.
 */
export const CREATE_JOB = `
if KEYS[2] ~= KEYS[1] then
  local cur = redis.call("GET", KEYS[2])
  if cur then
    local sep = string.find(cur, "|", 1, true)
    return {"exists", string.sub(cur, 1, sep - 1), string.sub(cur, sep + 1)}
  end
  redis.call("SET", KEYS[2], ARGV[1] .. "|" .. ARGV[2], "EX", tonumber(ARGV[3]))
end
redis.call("HSET", KEYS[1], "status", "queued", "tenant_id", ARGV[4], "deployment_id", ARGV[5], "api_key_id", ARGV[6], "view", ARGV[7], "payload", ARGV[8], "attempts_started", 0, "deltas", 0)
redis.call("ZADD", KEYS[3], tonumber(ARGV[9]), ARGV[1])
return {"created"}
`;

/**
 * Move a live job to a non-terminal status and append a `status` event.
 * KEYS: 1 job hash, 2 events stream. ARGV: 1 status, 2 view json, 3 event json, 4 stream maxlen
 * Returns the event id, or false when the job is missing or already terminal.
 */
export const TRANSITION = `
local st = redis.call("HGET", KEYS[1], "status")
if not st or st == "succeeded" or st == "failed" or st == "canceled" or st == "incomplete" then return false end
redis.call("HSET", KEYS[1], "status", ARGV[1], "view", ARGV[2])
return redis.call("XADD", KEYS[2], "MAXLEN", "~", ARGV[4], "*", "e", ARGV[3])
`;

/**
 * Append a non-terminal event (delta, restart, usage, citations) while the job is live.
 * KEYS: 1 job hash, 2 events stream. ARGV: 1 event json, 2 is delta ("1"/"0"), 3 stream maxlen
 */
export const APPEND = `
local st = redis.call("HGET", KEYS[1], "status")
if not st or st == "succeeded" or st == "failed" or st == "canceled" or st == "incomplete" then return false end
if ARGV[2] == "1" then redis.call("HINCRBY", KEYS[1], "deltas", 1) end
return redis.call("XADD", KEYS[2], "MAXLEN", "~", ARGV[3], "*", "e", ARGV[1])
`;

/**
 * The one terminal transition: sets the final view, appends the terminal event, starts retention.
 * KEYS: 1 job hash, 2 events stream, 3 index of live jobs.
 * ARGV: 1 status, 2 view json, 3 event json, 4 retention s, 5 maxlen, 6 usage event json to hand on ("" none), 7 job id
 * The usage event is parked in the hash until `usageHandedOn` clears it, so a worker that dies
 * between finishing and enqueueing it leaves it for the next attempt to send.
 * Returns the event id, or {"terminal", status} when the job had already ended, or false if missing.
 */
export const FINISH = `
local st = redis.call("HGET", KEYS[1], "status")
if not st then return false end
if st == "succeeded" or st == "failed" or st == "canceled" or st == "incomplete" then return {"terminal", st} end
redis.call("HSET", KEYS[1], "status", ARGV[1], "view", ARGV[2])
if ARGV[6] ~= "" then redis.call("HSET", KEYS[1], "pending_usage", ARGV[6]) end
redis.call("ZREM", KEYS[3], ARGV[7])
local id = redis.call("XADD", KEYS[2], "MAXLEN", "~", ARGV[5], "*", "e", ARGV[3])
redis.call("EXPIRE", KEYS[1], tonumber(ARGV[4]))
redis.call("EXPIRE", KEYS[2], tonumber(ARGV[4]))
return id
`;

/**
 * Count a started attempt; says whether earlier attempts streamed output (so a `restart` is due).
 * KEYS: 1 job hash. Returns {attempts_started, deltas_so_far, status, pending usage json or ""}
 * or false if missing. A job that already ended is not counted.
 */
export const START_ATTEMPT = `
local st = redis.call("HGET", KEYS[1], "status")
if not st then return false end
local pending = redis.call("HGET", KEYS[1], "pending_usage") or ""
if st == "succeeded" or st == "failed" or st == "canceled" or st == "incomplete" then
  return {tonumber(redis.call("HGET", KEYS[1], "attempts_started") or "0"), 0, st, pending}
end
local n = redis.call("HINCRBY", KEYS[1], "attempts_started", 1)
local d = redis.call("HGET", KEYS[1], "deltas")
redis.call("HSET", KEYS[1], "deltas", 0)
return {n, tonumber(d or "0"), st, pending}
`;
