/**
 * Lua scripts for circuit breakers. Each decision is one script timed by Redis `TIME`, so every
 * worker sees one order and one clock. Per model there are two keys under the same hash tag
 * (`RedisKeys.breaker` / `.breakerWindow` in @switchyard/contracts):
 *   `{prefix}:cb:<model>`      hash: state ("open" | "half_open"; absent = closed), opened_at,
 *                               open_until, probe_until (lease of the probe in flight), all ms
 *   `{prefix}:cb:<model>:win`  hash: outcome counts per bucket, fields `s<bucket>` / `f<bucket>`
 */

const PRELUDE = `
local function now_ms()
  local t = redis.call("TIME")
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- Successes and failures in the buckets still inside the window; stale buckets are deleted when prune.
local function window_counts(win, now, window_ms, bucket_ms, prune)
  local oldest = math.floor(now / bucket_ms) - math.ceil(window_ms / bucket_ms) + 1
  local flat = redis.call("HGETALL", win)
  local s, f = 0, 0
  for i = 1, #flat, 2 do
    local k = flat[i]
    if tonumber(string.sub(k, 2)) < oldest then
      if prune then redis.call("HDEL", win, k) end
    elseif string.sub(k, 1, 1) == "f" then
      f = f + tonumber(flat[i + 1])
    else
      s = s + tonumber(flat[i + 1])
    end
  end
  return s, f
end
`;

/**
 * May a call go to this model now?
 * KEYS: 1 state. ARGV: 1 probe lease ms.
 * Returns {allowed 0|1, state, probe 0|1, retry_in_ms or -1}.
 * Open past open_until becomes half-open and hands out one probe; a half-open breaker hands out
 * another only when the last probe's lease has run out (its worker died without reporting).
 */
export const CB_ACQUIRE = `${PRELUDE}
local now = now_ms()
local st = redis.call("HGET", KEYS[1], "state")
if not st then return {1, "closed", 0, -1} end
local lease = tonumber(ARGV[1])
if st == "open" then
  local ou = tonumber(redis.call("HGET", KEYS[1], "open_until") or "0")
  if now < ou then return {0, "open", 0, ou - now} end
  redis.call("HSET", KEYS[1], "state", "half_open", "probe_until", now + lease)
  return {1, "half_open", 1, -1}
end
local pu = tonumber(redis.call("HGET", KEYS[1], "probe_until") or "0")
if now >= pu then
  redis.call("HSET", KEYS[1], "probe_until", now + lease)
  return {1, "half_open", 1, -1}
end
return {0, "half_open", 0, pu - now}
`;

/**
 * Record the outcome of a call.
 * KEYS: 1 state, 2 window.
 * ARGV: 1 "s"|"f", 2 retry-after ms (0 none), 3 probe "1"|"0", 4 window ms, 5 bucket ms,
 *       6 min volume, 7 error-rate threshold, 8 open ms
 * Returns {state after, changed 0|1, successes, failures} (counts of the window; 0 when not closed).
 */
export const CB_RECORD = `${PRELUDE}
local now = now_ms()
local failed = ARGV[1] == "f"
local ra = tonumber(ARGV[2])
local open_ms = tonumber(ARGV[8])
local st = redis.call("HGET", KEYS[1], "state") or "closed"
-- Open for at least ms from now; never shortens an open period already set.
local function open_for(ms)
  local ou = now + ms
  if st == "open" then
    local cur = tonumber(redis.call("HGET", KEYS[1], "open_until") or "0")
    if cur > ou then ou = cur end
    redis.call("HSET", KEYS[1], "open_until", ou)
  else
    redis.call("HSET", KEYS[1], "state", "open", "opened_at", now, "open_until", ou)
  end
  redis.call("HDEL", KEYS[1], "probe_until")
end
if ARGV[3] == "1" and st == "half_open" then
  if failed then
    open_for(math.max(open_ms, ra))
    return {"open", 1, 0, 0}
  end
  redis.call("DEL", KEYS[1], KEYS[2])
  return {"closed", 1, 0, 0}
end
if st == "open" then
  if failed and ra > 0 then open_for(ra) end
  return {"open", 0, 0, 0}
end
if st == "half_open" then
  -- Late outcomes of calls started before the breaker opened do not decide; a provider's
  -- explicit Retry-After does.
  if failed and ra > 0 then
    open_for(ra)
    return {"open", 1, 0, 0}
  end
  return {"half_open", 0, 0, 0}
end
local window_ms = tonumber(ARGV[4])
local bucket_ms = tonumber(ARGV[5])
local field = (failed and "f" or "s") .. math.floor(now / bucket_ms)
redis.call("HINCRBY", KEYS[2], field, 1)
redis.call("PEXPIRE", KEYS[2], window_ms + bucket_ms)
local s, f = window_counts(KEYS[2], now, window_ms, bucket_ms, true)
if failed and ra > 0 then
  open_for(ra)
  return {"open", 1, s, f}
end
local volume = s + f
if volume >= tonumber(ARGV[6]) and f / volume >= tonumber(ARGV[7]) then
  open_for(open_ms)
  return {"open", 1, s, f}
end
return {"closed", 0, s, f}
`;

/**
 * Read breakers without changing them.
 * KEYS: state and window of each model, in pairs. ARGV: 1 window ms, 2 bucket ms.
 * Returns, per model, {state, opened_at or "", open_until or "", successes, failures}. An open
 * breaker whose period has passed reads as half_open: the next acquire makes it one.
 */
export const CB_STATES = `${PRELUDE}
local now = now_ms()
local out = {}
for i = 1, #KEYS, 2 do
  local h = redis.call("HMGET", KEYS[i], "state", "opened_at", "open_until")
  local st = h[1] or "closed"
  if st == "open" and now >= tonumber(h[3] or "0") then st = "half_open" end
  local s, f = window_counts(KEYS[i + 1], now, tonumber(ARGV[1]), tonumber(ARGV[2]), false)
  table.insert(out, {st, h[2] or "", h[3] or "", s, f})
end
return out
`;

/**
 * Hold a breaker open for a while from now, whatever its state (operators' force-open).
 * KEYS: 1 state. ARGV: 1 duration ms. Returns open_until.
 */
export const CB_FORCE_OPEN = `${PRELUDE}
local now = now_ms()
local ou = now + tonumber(ARGV[1])
redis.call("HSET", KEYS[1], "state", "open", "opened_at", now, "open_until", ou)
redis.call("HDEL", KEYS[1], "probe_until")
return ou
`;
