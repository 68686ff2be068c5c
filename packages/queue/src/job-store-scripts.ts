import { TENANT_JOB_INDEX_ADD } from "./tenant-job-index";

/**
 * Lua scripts for job state. Each decision is one script so concurrent gateways and workers see
 * one order: a job has exactly one terminal transition and exactly one terminal event.
 */

/**
 * The index of live jobs (created, not yet ended; the stuck-job sweeper reads it) is kept in
 * buckets of at most {@link LIVE_BUCKET_SIZE} jobs: sorted sets `<live>:<n>` (job id scored by its
 * creation ms), small enough to stay listpack-encoded (Redis' `zset-max-listpack-entries`, 128 by
 * default), about 45 bytes a job where one sorted set of every live job (a skiplist past 128) took
 * about 130. New jobs go to the open bucket (`<live>:open` holds its number) until it is full;
 * `<live>:buckets` scores each bucket by its oldest job's creation ms (at least as old: a job's end leaves it). The job hash records its
 * bucket (`b`), so its end removes it from there. `<live>` itself (one sorted set) is where jobs
 * created before the buckets are still indexed; it is read and cleaned, never added to. The
 * scripts name the bucket keys from `<live>` as `RedisKeys.liveJobsBucket`, `.liveJobsOpenBucket`
 * and `.liveJobsBuckets` spell them (redis-layout.int.test.ts holds them to it).
 */
export const LIVE_BUCKET_SIZE = 120;
const LIVE_INDEX = `
local function sy_live_add(live, id, ms)
  local open = live .. ":open"
  local n = redis.call("GET", open)
  if not n or redis.call("ZCARD", live .. ":" .. n) >= ${LIVE_BUCKET_SIZE} then n = tostring(redis.call("INCR", open)) end
  redis.call("ZADD", live .. ":" .. n, ms, id)
  redis.call("ZADD", live .. ":buckets", "LT", ms, n)
  return n
end
-- Drop job id from bucket n (from the unbucketed index when n is nil); an emptied bucket leaves the index.
local function sy_live_remove(live, id, n)
  if not n then
    redis.call("ZREM", live, id)
    return
  end
  redis.call("ZREM", live .. ":" .. n, id)
  if redis.call("EXISTS", live .. ":" .. n) == 0 then redis.call("ZREM", live .. ":buckets", n) end
end
`;

/**
 * Create a job, claiming its idempotency key in the same step. The route payload is not stored
 * here: the BullMQ job holds it (one copy per job; `JobStore.payload` reads it there).
 * KEYS: 1 job hash, 2 idempotency key (the job hash again when none: every key must be in the
 * prefix's hash slot, which "" is not), 3 index of live jobs (the bucket keys are named after it)
 * ARGV: 1 job id, 2 body hash, 3 idem ttl s, 4 tenant, 5 deployment, 6 api key id, 7 view json, 8 created ms,
 * 9 the tenant's job index (`RedisKeys.tenantJobs`, in the prefix's hash slot; its bucket keys are named after it;
 * "" none), 10 how long the index keeps the job (ms): see tenant-job-index.ts. They are arguments, not keys, so that
 * admission's script, which passes create's arguments through, needs no change.
 * The hash names its owner in one-letter fields (`o` tenant, `d` deployment, `k` api key; jobs
 * created earlier have `tenant_id`, `deployment_id`, `api_key_id`) and leaves the counters
 * (`runs`, `waits`, `deltas`) unwritten: a missing one reads as 0 (every script that reads one
 * defaults it; HINCRBY starts from 0). Together 61 bytes of a waiting job's hash.
 * Returns {"created"} or {"exists", job_id, body_hash}. As Lua functions (`CREATE_JOB_FUNCTION`,
 * same keys and arguments) for admission's single script: `sy_create_job(KEYS, ARGV)` and
 * `sy_job_claimed(KEYS)`, the idempotency check alone.
 */
export const CREATE_JOB_FUNCTION = `${LIVE_INDEX}${TENANT_JOB_INDEX_ADD}
-- The job holding this call's idempotency key, as create's "exists" reply; nil when unclaimed (or no key).
local function sy_job_claimed(KEYS)
  if KEYS[2] == KEYS[1] then return nil end
  local cur = redis.call("GET", KEYS[2])
  if not cur then return nil end
  local sep = string.find(cur, "|", 1, true)
  return {"exists", string.sub(cur, 1, sep - 1), string.sub(cur, sep + 1)}
end
local function sy_create_job(KEYS, ARGV)
  local claimed = sy_job_claimed(KEYS)
  if claimed then return claimed end
  if KEYS[2] ~= KEYS[1] then redis.call("SET", KEYS[2], ARGV[1] .. "|" .. ARGV[2], "EX", tonumber(ARGV[3])) end
  local b = sy_live_add(KEYS[3], ARGV[1], tonumber(ARGV[8]))
  redis.call("HSET", KEYS[1], "status", "queued", "o", ARGV[4], "d", ARGV[5], "k", ARGV[6], "view", ARGV[7], "b", b)
  if ARGV[9] and ARGV[9] ~= "" then sy_tenant_job_add(ARGV[9], ARGV[1], ARGV[8], ARGV[10]) end
  return {"created"}
end
`;

export const CREATE_JOB = `${CREATE_JOB_FUNCTION}
return sy_create_job(KEYS, ARGV)
`;

/**
 * Every script that appends to a job's event stream also appends one notice naming the job to the
 * prefix's notice stream (`RedisKeys.eventNotices`), in the same step: each gateway tails that one
 * stream with a blocking read and reads only the streams of jobs that moved, so its cost follows
 * events, not followers. The notice holds the job id (the events key's last segment: job ids hold
 * no colon). The stream is capped at about {@link NOTICE_MAXLEN} entries; a gateway that falls
 * further behind than that notices the gap and re-reads every followed stream.
 */
export const NOTICE_MAXLEN = 50_000;
const NOTIFY = `
local function sy_notify(notices, events)
  redis.call("XADD", notices, "MAXLEN", "~", "${NOTICE_MAXLEN}", "*", "j", string.match(events, "[^:]*$"))
end
-- A comparison's child (its hash has \`p\`, the parent's id, and \`pt\`, its tag: the JSON members
-- "model":…,"job_id":… that \`JobStore.linkChildren\` wrote) has every event it writes copied to its
-- parent's stream, with the tag added to the event's data, and a notice naming the parent. Other
-- jobs have neither field: for them this costs the two fields' lookup in a read the script makes anyway.
local function sy_tagged(ev, tag)
  local _, e = string.find(ev, '"data":{', 1, true)
  if not e then return nil end
  if string.sub(ev, e + 1, e + 1) == "}" then return string.sub(ev, 1, e) .. tag .. string.sub(ev, e + 1) end
  return string.sub(ev, 1, e) .. tag .. "," .. string.sub(ev, e + 1)
end
-- The parent's stream is the child's with the parent's id after the last ":" (\`RedisKeys.eventsPrefix\`).
local function sy_forward(parent, events, notices, maxlen, ev)
  if not parent or not ev then return end
  local pev = string.match(events, "^(.*:)") .. parent
  redis.call("XADD", pev, "MAXLEN", "~", maxlen, "*", "e", ev)
  sy_notify(notices, pev)
end
`;

/**
 * Move a live job to a non-terminal status and append a `status` event.
 * KEYS: 1 job hash, 2 events stream, 3 event notices. ARGV: 1 status, 2 view json, 3 event json, 4 stream maxlen,
 * 5 model now serving the current run ("" unchanged: the run's tally prices its output with it),
 * 6 the run this status belongs to ("" any): refused unless that run is the one open (`run_unbilled`),
 * so a `running` sent right behind BEGIN_RUN, before its reply, is written only if BEGIN_RUN opened the run it names.
 * Returns the event id, or false when the job is missing or already terminal (or the run is not open).
 */
export const TRANSITION = `${NOTIFY}
local h = redis.call("HMGET", KEYS[1], "status", "p", "pt")
local st = h[1]
if not st or st == "succeeded" or st == "failed" or st == "canceled" or st == "incomplete" then return false end
if ARGV[6] and ARGV[6] ~= "" and redis.call("HGET", KEYS[1], "run_unbilled") ~= ARGV[6] then return false end
redis.call("HSET", KEYS[1], "status", ARGV[1], "view", ARGV[2])
if ARGV[5] and ARGV[5] ~= "" then redis.call("HSET", KEYS[1], "run_model", ARGV[5]) end
local id = redis.call("XADD", KEYS[2], "MAXLEN", "~", ARGV[4], "*", "e", ARGV[3])
sy_notify(KEYS[3], KEYS[2])
if h[2] then sy_forward(h[2], KEYS[2], KEYS[3], ARGV[4], sy_tagged(ARGV[3], h[3])) end
return id
`;

/*
 * The current run's tally lives in the job hash, so that whoever takes the job after a crash can
 * bill what the dead run streamed: `run_unbilled` (the run's number while its spend is not yet
 * accounted for, "" after), `run_chars` (characters of every delta the run streamed) and
 * `run_model` (the model serving it). `deltas` counts deltas since the last `restart` event.
 * Tool-call fragments are appended as kind "delta" (their id, name and arguments counted as characters).
 */

/**
 * Append a non-terminal event (delta, restart, usage, citations) while the job is live. A delta
 * also adds to the current run's tally and, when it is the run's first output, counts the run as
 * paid (`paid_attempts`) in the same step; a restart zeroes `deltas` (clients dropped them).
 * KEYS: 1 job hash, 2 events stream, 3 event notices. ARGV: 1 event json, 2 kind ("delta"|"restart"|"other"),
 * 3 stream maxlen, 4 characters of the delta
 */
export const APPEND = `${NOTIFY}
local h = redis.call("HMGET", KEYS[1], "status", "p", "pt")
local st = h[1]
if not st or st == "succeeded" or st == "failed" or st == "canceled" or st == "incomplete" then return false end
if ARGV[2] == "delta" then
  redis.call("HINCRBY", KEYS[1], "deltas", 1)
  local run = redis.call("HGET", KEYS[1], "run_unbilled")
  local n = tonumber(ARGV[4])
  if run and run ~= "" and n > 0 then
    if redis.call("HINCRBY", KEYS[1], "run_chars", n) == n then redis.call("HINCRBY", KEYS[1], "paid_attempts", 1) end
  end
elseif ARGV[2] == "restart" then
  redis.call("HSET", KEYS[1], "deltas", 0)
end
local id = redis.call("XADD", KEYS[2], "MAXLEN", "~", ARGV[3], "*", "e", ARGV[1])
sy_notify(KEYS[3], KEYS[2])
if h[2] then sy_forward(h[2], KEYS[2], KEYS[3], ARGV[3], sy_tagged(ARGV[1], h[3])) end
return id
`;

/**
 * The one terminal transition: sets the final view, appends the `usage` event (if any) and the
 * terminal event, starts retention.
 * KEYS: 1 job hash, 2 events stream, 3 index of live jobs (its bucket keys named after it), 4 event notices.
 * ARGV: 1 status, 2 view json, 3 event json, 4 retention s, 5 maxlen, 6 usage event json to hand on ("" none), 7 job id,
 * 8 `usage` stream event json ("" none)
 * The usage event is parked in the hash until `usageHandedOn` clears it, so a worker that dies
 * between finishing and enqueueing it leaves it for the next attempt to settle and send; parking
 * it accounts for the current run, so the run's tally is closed in the same step.
 * Returns the event id, or {"terminal", status} when the job had already ended, or false if missing.
 */
export const FINISH = `${NOTIFY}${LIVE_INDEX}
local h = redis.call("HMGET", KEYS[1], "status", "p", "pt")
local st = h[1]
if not st then return false end
if st == "succeeded" or st == "failed" or st == "canceled" or st == "incomplete" then return {"terminal", st} end
redis.call("HSET", KEYS[1], "status", ARGV[1], "view", ARGV[2])
if ARGV[6] ~= "" then redis.call("HSET", KEYS[1], "pending_usage", ARGV[6], "run_unbilled", "") end
sy_live_remove(KEYS[3], ARGV[7], redis.call("HGET", KEYS[1], "b") or nil)
if ARGV[8] and ARGV[8] ~= "" then redis.call("XADD", KEYS[2], "MAXLEN", "~", ARGV[5], "*", "e", ARGV[8]) end
local id = redis.call("XADD", KEYS[2], "MAXLEN", "~", ARGV[5], "*", "e", ARGV[3])
sy_notify(KEYS[4], KEYS[2])
if h[2] then
  -- In the parent's stream a child's end is not terminal (the parent ends when all have): a tagged
  -- status with the child's final status, and its error when the terminal event was one.
  if ARGV[8] and ARGV[8] ~= "" then sy_forward(h[2], KEYS[2], KEYS[4], ARGV[5], sy_tagged(ARGV[8], h[3])) end
  local err = ""
  -- pcall: an error text cjson cannot read (a lone surrogate escape) costs the tag its error, never the child its end.
  if string.sub(ARGV[3], 1, 15) == '{"type":"error"' then
    local ok, data = pcall(function() return cjson.encode(cjson.decode(ARGV[3]).data) end)
    if ok then err = ',"error":' .. data end
  end
  sy_forward(h[2], KEYS[2], KEYS[4], ARGV[5], '{"type":"status","data":{' .. h[3] .. ',"status":"' .. ARGV[1] .. '"' .. err .. '}}')
end
redis.call("EXPIRE", KEYS[1], tonumber(ARGV[4]))
redis.call("EXPIRE", KEYS[2], tonumber(ARGV[4]))
return id
`;

/**
 * Start of a delivery of the job (a first try, a redelivery after a crash, or a wake-up from a
 * wait). When earlier deltas are still on screen it appends the `restart` event and zeroes the
 * counter in the same step, so no crash can leave a new answer glued to an old one. Counts nothing:
 * runs are counted by BEGIN_RUN, waits by the caller when it parks.
 * KEYS: 1 job hash, 2 events stream, 3 event notices. ARGV: 1 restart event json, 2 stream maxlen
 * Returns {status, pending usage json or "", runs, waits, unbilled run or "", its chars, its model or "", restarted 0|1,
 * view json, paid runs} or false if missing. A job that already ended gets no restart but still reports its unbilled run. The view
 * comes with it so that a delivery reads everything it needs in one round trip.
 */
export const START_ATTEMPT = `${NOTIFY}
local st = redis.call("HGET", KEYS[1], "status")
if not st then return false end
local h = redis.call("HMGET", KEYS[1], "pending_usage", "runs", "waits", "run_unbilled", "run_chars", "run_model", "deltas", "view", "paid_attempts", "p", "pt")
local restarted = 0
local ended = st == "succeeded" or st == "failed" or st == "canceled" or st == "incomplete"
if not ended and tonumber(h[7] or "0") > 0 then
  redis.call("XADD", KEYS[2], "MAXLEN", "~", ARGV[2], "*", "e", ARGV[1])
  sy_notify(KEYS[3], KEYS[2])
  if h[10] then sy_forward(h[10], KEYS[2], KEYS[3], ARGV[2], sy_tagged(ARGV[1], h[11])) end
  redis.call("HSET", KEYS[1], "deltas", 0)
  restarted = 1
end
return {st, h[1] or "", tonumber(h[2] or "0"), tonumber(h[3] or "0"), h[4] or "", tonumber(h[5] or "0"), h[6] or "", restarted, h[8] or "", tonumber(h[9] or "0")}
`;

/**
 * Begin a run (a delivery that is about to call a provider): refuses when the job ended or its
 * paid runs reached the bound; else counts the run and opens its tally.
 * KEYS: 1 job hash. ARGV: 1 model, 2 max paid runs
 * Returns {"ok", run number, paid runs so far, waits} | {"max", paid runs} | {"ended", status or ""}.
 */
export const BEGIN_RUN = `
local st = redis.call("HGET", KEYS[1], "status")
if not st or st == "succeeded" or st == "failed" or st == "canceled" or st == "incomplete" then return {"ended", st or ""} end
local paid = tonumber(redis.call("HGET", KEYS[1], "paid_attempts") or "0")
if paid >= tonumber(ARGV[2]) then return {"max", paid} end
local n = redis.call("HINCRBY", KEYS[1], "runs", 1)
redis.call("HSET", KEYS[1], "run_unbilled", n, "run_chars", 0, "run_model", ARGV[1])
return {"ok", n, paid, tonumber(redis.call("HGET", KEYS[1], "waits") or "0")}
`;

/**
 * Park a usage event in the job hash (until `usageHandedOn`), closing the tally of the run it
 * accounts for in the same step. Refuses while a different event is still parked (the caller hands
 * that one on first), so none is ever overwritten.
 * KEYS: 1 job hash. ARGV: 1 usage event json, 2 its attempt, 3 run whose tally it closes ("" none)
 * Returns {1} when parked, {0, parked json} when another is waiting, {-1} when the job is gone.
 */
export const PARK_USAGE = `
if redis.call("EXISTS", KEYS[1]) == 0 then return {-1} end
local cur = redis.call("HGET", KEYS[1], "pending_usage")
if cur and cur ~= "" and cur ~= ARGV[1] and tostring(cjson.decode(cur).attempt) ~= ARGV[2] then return {0, cur} end
redis.call("HSET", KEYS[1], "pending_usage", ARGV[1])
if ARGV[3] ~= "" and redis.call("HGET", KEYS[1], "run_unbilled") == ARGV[3] then redis.call("HSET", KEYS[1], "run_unbilled", "") end
return {1}
`;

/**
 * Forget the parked usage event once it is enqueued, only if it is still the one handed on.
 * KEYS: 1 job hash. ARGV: 1 attempt of the event handed on. Returns 1 if cleared.
 */
export const USAGE_HANDED_ON = `
local cur = redis.call("HGET", KEYS[1], "pending_usage")
if not cur or cur == "" then return 0 end
if tostring(cjson.decode(cur).attempt) ~= ARGV[1] then return 0 end
redis.call("HDEL", KEYS[1], "pending_usage")
return 1
`;

/**
 * Undo a create whose enqueue failed: the job hash, its event stream and idempotency key go, and
 * the job leaves the live index.
 * KEYS: 1 job hash, 2 events stream, 3 index of live jobs, 4 idempotency key (the job hash again when none).
 * ARGV: 1 job id
 */
export const DISCARD = `${LIVE_INDEX}
local b = redis.call("HGET", KEYS[1], "b") or nil
redis.call("DEL", KEYS[1], KEYS[2], KEYS[4])
sy_live_remove(KEYS[3], ARGV[1], b)
return 1
`;

/**
 * Live jobs created before a time, oldest bucket first (jobs indexed before the buckets first of
 * all); an index entry whose bucket is gone is dropped on the way.
 * KEYS: 1 index of live jobs. ARGV: 1 created before (ms, inclusive), 2 limit
 */
export const LIVE_BEFORE = `
local live, before, limit = KEYS[1], ARGV[1], tonumber(ARGV[2])
local out = redis.call("ZRANGEBYSCORE", live, "-inf", before, "LIMIT", 0, limit)
if #out >= limit then return out end
for _, n in ipairs(redis.call("ZRANGEBYSCORE", live .. ":buckets", "-inf", before)) do
  if redis.call("EXISTS", live .. ":" .. n) == 0 then
    redis.call("ZREM", live .. ":buckets", n)
  else
    for _, id in ipairs(redis.call("ZRANGEBYSCORE", live .. ":" .. n, "-inf", before, "LIMIT", 0, limit - #out)) do out[#out + 1] = id end
    if #out >= limit then return out end
  end
end
return out
`;

/**
 * Drop a job from the live index wherever it is (its hash, which names its bucket, is gone): the
 * unbucketed index, then each bucket until one held it.
 * KEYS: 1 index of live jobs. ARGV: 1 job id
 */
export const FORGET_LIVE = `${LIVE_INDEX}
if redis.call("ZREM", KEYS[1], ARGV[1]) == 1 then return 1 end
for _, n in ipairs(redis.call("ZRANGE", KEYS[1] .. ":buckets", 0, -1)) do
  if redis.call("ZSCORE", KEYS[1] .. ":" .. n, ARGV[1]) then
    sy_live_remove(KEYS[1], ARGV[1], n)
    return 1
  end
end
return 0
`;
