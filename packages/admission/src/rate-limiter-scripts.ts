/**
 * The rate-limit decision as one Lua script: every limit is read, judged and (only when all pass)
 * recorded in one atomic step timed by Redis `TIME`, so concurrent gateways share one order and
 * one clock. Times are integer microseconds; they are formatted with "%.0f" because Lua's default
 * number-to-string ("%.14g") would round 16-digit timestamps.
 *
 * Keys of a deployment (`RedisKeys.rateLimit` in @switchyard/contracts, `{prefix}:rl:<deployment>`
 * and these suffixes), all under the caller's `{prefix}` hash tag:
 *   `…:log`          sorted set, the sliding log of admitted requests (score = admission µs, member =
 *                    `id:tokens`, a random id per decision and the tokens it was admitted for). One
 *                    log serves every request window (a window of w counts the entries newer than
 *                    now - w) and the 24 h token sum. Kept for the longest window (at least 24 h).
 *   `…:tokday`       hash: `sum`, the tokens of the log's entries of the last 24 h, and `upto`, the
 *                    time (µs) up to which entries have been taken out of it as they aged past 24 h
 *   `…:u:<user>`     sorted set, the sliding 24 h log of one end user's admitted messages (optional)
 *   `…:um:<user>:<YYYY-MM>` counter of one end user's admitted messages in a calendar month (UTC;
 *                    optional, with the end-user log), expiring after the month
 * One entry per admitted request (not one per limit) keeps the limits' memory per request small.
 * A window (now - w, now] excludes an entry exactly w old.
 */

/**
 * KEYS: 1 request log, 2 token sum, [3 end-user log, 4 end-user month counter].
 * ARGV: 1 member id, 2 tokens, 3 tokens_per_request, 4 tokens_per_day, 5 end-user daily limit
 *       (0 when KEYS[3] is absent), 6 number of request windows n, then n pairs (limit, window µs),
 *       then (with KEYS[4]) the monthly limit, the µs until the month ends and the counter's TTL s.
 * Returns {allowed 0|1, over_tokens_per_request 0|1, token_day, end_user, windows, end_user_month} where
 *   token_day = {used before, retry µs | -1 fits | -2 never fits}
 *   end_user  = {} or {count before, reset µs, retry µs | -1}
 *   windows   = per window {count before, reset µs, retry µs | -1}
 *   end_user_month = {} or {count before, retry µs | -1}
 * "reset" is how long until the oldest entry counted (this request included, when admitted)
 * leaves the window; "retry" is how long until the window has room for one more request.
 */
export const RATE_LIMIT_CHECK = `
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local DAY = 86400000000
local function fmt(x) return string.format("%.0f", x) end

local id = ARGV[1]
local tokens = tonumber(ARGV[2])
local allowed = true

-- One window over a sliding log (entries already trimmed to the log's longest window).
local function judge(key, limit, w)
  local lo = "(" .. fmt(now - w)
  local count = redis.call("ZCOUNT", key, lo, "+inf")
  local retry = -1
  if count + 1 > limit then
    allowed = false
    -- Room comes back when the (count - limit + 1)-th oldest entry in the window leaves it.
    local e = redis.call("ZRANGEBYSCORE", key, lo, "+inf", "WITHSCORES", "LIMIT", count - limit, 1)
    retry = tonumber(e[2]) + w - now
  end
  local reset = 0
  local first = redis.call("ZRANGEBYSCORE", key, lo, "+inf", "WITHSCORES", "LIMIT", 0, 1)
  if first[2] then reset = tonumber(first[2]) + w - now end
  return {count, reset, retry}
end

local over_tpr = 0
if tokens > tonumber(ARGV[3]) then
  over_tpr = 1
  allowed = false
end

local n = tonumber(ARGV[6])
local longest = DAY
for i = 1, n do
  local w = tonumber(ARGV[6 + 2 * i])
  if w > longest then longest = w end
end

-- Tokens of the last 24 h: take the amounts of entries that aged past 24 h since the last call
-- out of the running sum, then trim the log to its longest window. A sum without its log is stale
-- (expiry apart); a log without its sum is re-summed.
local function amount(m) return tonumber(string.match(m, ":(%d+)$")) end
local day_lo = now - DAY
if redis.call("EXISTS", KEYS[1]) == 0 then redis.call("DEL", KEYS[2]) end
local st = redis.call("HMGET", KEYS[2], "sum", "upto")
local used = 0
if st[1] then
  used = tonumber(st[1])
  local upto = tonumber(st[2]) or 0
  if day_lo > upto then
    local freed = 0
    for _, m in ipairs(redis.call("ZRANGEBYSCORE", KEYS[1], "(" .. fmt(upto), fmt(day_lo))) do freed = freed + amount(m) end
    used = used - freed
    redis.call("HSET", KEYS[2], "sum", fmt(used), "upto", fmt(day_lo))
  end
else
  for _, m in ipairs(redis.call("ZRANGEBYSCORE", KEYS[1], "(" .. fmt(day_lo), "+inf")) do used = used + amount(m) end
  redis.call("HSET", KEYS[2], "sum", fmt(used), "upto", fmt(day_lo))
  redis.call("PEXPIRE", KEYS[2], DAY / 1000)
end
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", fmt(now - longest))

local windows = {}
for i = 1, n do
  windows[i] = judge(KEYS[1], tonumber(ARGV[5 + 2 * i]), tonumber(ARGV[6 + 2 * i]))
end

local end_user = {}
local user_limit = tonumber(ARGV[5])
if #KEYS >= 3 then
  redis.call("ZREMRANGEBYSCORE", KEYS[3], "-inf", fmt(now - DAY))
  end_user = judge(KEYS[3], user_limit, DAY)
end

local end_user_month = {}
if #KEYS >= 4 then
  local m = 7 + 2 * n
  local used_month = tonumber(redis.call("GET", KEYS[4]) or "0")
  local month_retry = -1
  if used_month + 1 > tonumber(ARGV[m]) then
    allowed = false
    month_retry = tonumber(ARGV[m + 1])
  end
  end_user_month = {used_month, month_retry}
end

local tpd = tonumber(ARGV[4])
local tok_retry = -1
if used + tokens > tpd then
  allowed = false
  if tokens > tpd then
    tok_retry = -2
  else
    -- Walk the oldest amounts of the last 24 h until enough have left for this request to fit.
    local need = used + tokens - tpd
    local entries = redis.call("ZRANGEBYSCORE", KEYS[1], "(" .. fmt(day_lo), "+inf", "WITHSCORES")
    for i = 1, #entries, 2 do
      need = need - amount(entries[i])
      if need <= 0 then
        tok_retry = tonumber(entries[i + 1]) + DAY - now
        break
      end
    end
    if tok_retry < 0 then tok_retry = DAY end
  end
end

if allowed then
  local score = fmt(now)
  redis.call("ZADD", KEYS[1], score, id .. ":" .. fmt(tokens))
  redis.call("PEXPIRE", KEYS[1], math.ceil(longest / 1000))
  for i = 1, n do
    if windows[i][1] == 0 then windows[i][2] = tonumber(ARGV[6 + 2 * i]) end
  end
  if #KEYS >= 3 then
    redis.call("ZADD", KEYS[3], score, id)
    redis.call("PEXPIRE", KEYS[3], DAY / 1000)
    if end_user[1] == 0 then end_user[2] = DAY end
  end
  if #KEYS >= 4 then
    redis.call("INCR", KEYS[4])
    redis.call("EXPIRE", KEYS[4], tonumber(ARGV[9 + 2 * n]))
  end
  if tokens > 0 then redis.call("HINCRBY", KEYS[2], "sum", tokens) end
  redis.call("PEXPIRE", KEYS[2], math.ceil(longest / 1000))
end

return {allowed and 1 or 0, over_tpr, {used, tok_retry}, end_user, windows, end_user_month}
`;

/**
 * `RATE_LIMIT_CHECK` as a Lua function `sy_rate_limit(KEYS, ARGV)`, for a script that decides a
 * request's rate limits as one step of a larger decision (admission), and `sy_rate_limit_undo`,
 * which takes back what an admitted check recorded when a later step of the same script refuses
 * the request. Both take the check's own keys and arguments (see {@link RATE_LIMIT_CHECK}).
 */
export const RATE_LIMIT_FUNCTIONS = `
local function sy_rate_limit(KEYS, ARGV)
${RATE_LIMIT_CHECK}
end
local function sy_rate_limit_undo(KEYS, ARGV)
  local tokens = tonumber(ARGV[2])
  redis.call("ZREM", KEYS[1], ARGV[1] .. ":" .. string.format("%.0f", tokens))
  if KEYS[3] then redis.call("ZREM", KEYS[3], ARGV[1]) end
  if KEYS[4] and tonumber(redis.call("GET", KEYS[4]) or "0") > 0 then redis.call("DECR", KEYS[4]) end
  if tokens > 0 then redis.call("HINCRBY", KEYS[2], "sum", -tokens) end
end
`;
