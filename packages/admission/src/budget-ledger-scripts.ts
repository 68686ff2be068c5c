/**
 * Lua scripts for budget reservations. Every decision is one script, so concurrent gateways and
 * workers see one order.
 *
 * Units: USD amounts are integer nano-dollars (1e-9 USD, the scale of Postgres' numeric(18,9)),
 * tokens are integers. HINCRBY keeps them exact in Redis; Lua compares them as doubles, exact up
 * to 2^53 nano-dollars (~9 million USD per budget period). Computed numbers are formatted with
 * `%d` before they are returned or written, never `tostring`, which writes 1e+15 for large values.
 *
 * Reservation records, the expiry set and budget hashes all live under one `{prefix}` hash tag
 * (their names: `RedisKeys` in @switchyard/contracts). Records name the budget and credit keys they
 * reserved in, so release and settle (and the orphan sweep) reach keys built from the record; a
 * record's own key is the reservation key prefix (`RedisKeys.budgetReservationPrefix`, an
 * argument) followed by the job id, as BullMQ's scripts do with their prefix: every one of them is
 * in the same slot.
 *
 * Spend is only ever added to a hash that exists. A missing hash (Redis restarted, or the period
 * long over) is rebuilt from Postgres at the next reservation, and Postgres holds that spend.
 *
 * A job's reservation covers its whole spend: a run settled before the job ends (a run that died,
 * or failed and will be retried) draws its cost from the reservation, so the job's footprint
 * (spent + reserved) stays what admission checked. Before the job runs again, `TOP_UP` reserves
 * what was drawn once more, within the limits admission checked (stored in the record), or
 * refuses: a re-run never spends beyond the budget.
 */

import { z } from "zod";

const HELPERS = `
local function num(v) return tonumber(v) or 0 end
local function fmt(n) return string.format("%d", n) end
local function now_ms()
  local t = redis.call("TIME")
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- A hash rebuilt from Postgres starts with nothing reserved; never let a late release push it below 0.
local function decr(key, field, amount)
  if amount == 0 then return end
  local v = redis.call("HINCRBY", key, field, fmt(-amount))
  if v < 0 then redis.call("HSET", key, field, 0) end
end
local function release_resv(resv_prefix, zset, job)
  local rk = resv_prefix .. job
  redis.call("ZREM", zset, job)
  local rec = redis.call("HMGET", rk, "keys", "usd", "tokens", "ckey", "cheld")
  if not rec[1] then return 0 end
  local usd, tokens = num(rec[2]), num(rec[3])
  for _, k in ipairs(cjson.decode(rec[1])) do
    if redis.call("EXISTS", k) == 1 then
      decr(k, "reserved_usd", usd)
      decr(k, "reserved_tokens", tokens)
    end
  end
  if rec[4] and rec[4] ~= "" and redis.call("EXISTS", rec[4]) == 1 then decr(rec[4], "reserved", num(rec[5])) end
  redis.call("DEL", rk)
  return 1
end
local function sweep(resv_prefix, zset, now, max)
  local ids = redis.call("ZRANGEBYSCORE", zset, "-inf", now, "LIMIT", 0, max)
  for _, id in ipairs(ids) do release_resv(resv_prefix, zset, id) end
  return #ids
end
`;

/**
 * Reserve an amount in every scope (and the credit balance) or in none.
 * KEYS: 1 reservation record, 2 expiry zset, 3..2+n budget hashes, [3+n] credits hash (prepaid only)
 * ARGV: 1 reservation key prefix `{p}:resv:`, 2 job id, 3 usd nano, 4 tokens, 5 ttl ms, 6 n, 7 budget keys json,
 *       8 orphans to sweep first, 9 credits balance to initialise with ("" = not loaded),
 *       then per scope: limit usd nano ("" none), limit tokens ("" none), expire-at ms,
 *       spent usd nano to initialise with ("" = not loaded), spent tokens to initialise with.
 * Returns {"ok", "new"|"replay"} | {"init", missing scope indexes or "c"...}
 *       | {"budget", index, unit, limit, spent, reserved} | {"credits", balance, reserved}.
 * The record: "keys" (budget hashes, json), "limits" (json, per key {usd nano, tokens}, "" none),
 * "usd"/"tokens"/"cheld" (held now), "ckey", "expires_at", and "used_usd"/"used_tokens"/
 * "used_cheld" (drawn by settles before the end, not yet topped up; absent = 0).
 */
export const RESERVE = `${HELPERS}
local now = now_ms()
sweep(ARGV[1], KEYS[2], now, tonumber(ARGV[8]))
if redis.call("EXISTS", KEYS[1]) == 1 then return {"ok", "replay"} end
local n = tonumber(ARGV[6])
local ckey = KEYS[3 + n]
local missing = {}
for i = 1, n do
  local k, b = KEYS[2 + i], 9 + (i - 1) * 5
  if redis.call("EXISTS", k) == 0 then
    if ARGV[b + 4] ~= "" then
      redis.call("HSET", k, "spent_usd", ARGV[b + 4], "spent_tokens", ARGV[b + 5], "reserved_usd", 0, "reserved_tokens", 0)
      redis.call("PEXPIREAT", k, ARGV[b + 3])
    else
      missing[#missing + 1] = tostring(i)
    end
  end
end
if ckey and redis.call("EXISTS", ckey) == 0 then
  if ARGV[9] ~= "" then redis.call("HSET", ckey, "balance", ARGV[9], "reserved", 0)
  else missing[#missing + 1] = "c" end
end
if #missing > 0 then return {"init", unpack(missing)} end
local usd, tokens = num(ARGV[3]), num(ARGV[4])
for i = 1, n do
  local k, b = KEYS[2 + i], 9 + (i - 1) * 5
  local h = redis.call("HMGET", k, "spent_usd", "reserved_usd", "spent_tokens", "reserved_tokens")
  if ARGV[b + 1] ~= "" and num(h[1]) + num(h[2]) + usd > num(ARGV[b + 1]) then
    return {"budget", i, "usd", ARGV[b + 1], fmt(num(h[1])), fmt(num(h[2]))}
  end
  if ARGV[b + 2] ~= "" and num(h[3]) + num(h[4]) + tokens > num(ARGV[b + 2]) then
    return {"budget", i, "tokens", ARGV[b + 2], fmt(num(h[3])), fmt(num(h[4]))}
  end
end
if ckey then
  local h = redis.call("HMGET", ckey, "balance", "reserved")
  if num(h[1]) - num(h[2]) < usd then return {"credits", fmt(num(h[1])), fmt(num(h[2]))} end
end
for i = 1, n do
  redis.call("HINCRBY", KEYS[2 + i], "reserved_usd", ARGV[3])
  redis.call("HINCRBY", KEYS[2 + i], "reserved_tokens", ARGV[4])
end
if ckey then redis.call("HINCRBY", ckey, "reserved", ARGV[3]) end
local exp = now + tonumber(ARGV[5])
-- Each scope's limits ({usd nano, tokens}, "" for none), in the order of "keys", for TOP_UP.
local limits = {}
for i = 1, n do
  local b = 9 + (i - 1) * 5
  limits[i] = {ARGV[b + 1], ARGV[b + 2]}
end
redis.call("HSET", KEYS[1], "keys", ARGV[7], "usd", ARGV[3], "tokens", ARGV[4], "ckey", ckey or "", "cheld", ckey and ARGV[3] or "0", "expires_at", fmt(exp), "limits", n > 0 and cjson.encode(limits) or "[]")
redis.call("ZADD", KEYS[2], exp, ARGV[2])
return {"ok", "new"}
`;

/**
 * Add one attempt's actual spend, once per (job, attempt); on `final`, release the reservation.
 * Not final (the job runs again, or ends later): the spend is drawn from the reservation (up to
 * what it holds) and noted as `used_*`, for `TOP_UP` to reserve again before the next run.
 * KEYS: 1 settle marker, 2 reservation record, 3 expiry zset, 4..3+n current budget hashes of the
 *       caller's scopes (used only when no record exists), [4+n] credits hash (likewise)
 * ARGV: 1 reservation key prefix `{p}:resv:`, 2 job id, 3 usd nano, 4 tokens, 5 final "1"/"0", 6 marker ttl ms, 7 n
 * Returns {applied 0/1, released 0/1, source "reservation"|"scopes"|"none", charged, skipped, credited 0/1}.
 */
export const SETTLE = `${HELPERS}
local applied, source, charged, skipped, credited = 0, "none", 0, 0, 0
if redis.call("SET", KEYS[1], "1", "NX", "PX", ARGV[6]) then
  applied = 1
  local n = tonumber(ARGV[7])
  local keys, ckey = {}, nil
  local rec = redis.call("HMGET", KEYS[2], "keys", "ckey")
  if rec[1] then
    source = "reservation"
    keys = cjson.decode(rec[1])
    if rec[2] and rec[2] ~= "" then ckey = rec[2] end
  else
    source = "scopes"
    for i = 1, n do keys[i] = KEYS[3 + i] end
    ckey = KEYS[4 + n]
  end
  for _, k in ipairs(keys) do
    if redis.call("EXISTS", k) == 1 then
      redis.call("HINCRBY", k, "spent_usd", ARGV[3])
      redis.call("HINCRBY", k, "spent_tokens", ARGV[4])
      charged = charged + 1
    else
      skipped = skipped + 1
    end
  end
  if ckey and redis.call("EXISTS", ckey) == 1 then
    redis.call("HINCRBY", ckey, "balance", fmt(-num(ARGV[3])))
    credited = 1
  end
  if source == "reservation" and ARGV[5] ~= "1" then
    local held = redis.call("HMGET", KEYS[2], "usd", "tokens", "cheld")
    local du = math.min(num(ARGV[3]), num(held[1]))
    local dt = math.min(num(ARGV[4]), num(held[2]))
    local dc = ckey and math.min(du, num(held[3])) or 0
    for _, k in ipairs(keys) do
      if redis.call("EXISTS", k) == 1 then
        decr(k, "reserved_usd", du)
        decr(k, "reserved_tokens", dt)
      end
    end
    if ckey and redis.call("EXISTS", ckey) == 1 then decr(ckey, "reserved", dc) end
    redis.call("HINCRBY", KEYS[2], "usd", fmt(-du))
    redis.call("HINCRBY", KEYS[2], "tokens", fmt(-dt))
    redis.call("HINCRBY", KEYS[2], "cheld", fmt(-dc))
    redis.call("HINCRBY", KEYS[2], "used_usd", fmt(du))
    redis.call("HINCRBY", KEYS[2], "used_tokens", fmt(dt))
    redis.call("HINCRBY", KEYS[2], "used_cheld", fmt(dc))
  end
end
local released = 0
if ARGV[5] == "1" then released = release_resv(ARGV[1], KEYS[3], ARGV[2]) end
return {applied, released, source, charged, skipped, credited}
`;

/**
 * Before a job runs again: reserve once more what settles drew from its reservation (`used_*`),
 * in every budget hash and the credit balance the record names or in none, refusing when
 * `spent + reserved + drawn > limit` (limits as admission checked them) or the balance cannot
 * hold it. A hash Redis no longer holds is skipped, as settle skips it.
 * KEYS: 1 reservation record.
 * Returns {"ok", "topped"|"none"|"missing", usd nano, tokens} (what was reserved again)
 *       | {"budget", index, unit, limit, spent, reserved, usd nano, tokens, budget key}
 *       | {"credits", balance, reserved, usd nano, tokens}.
 */
export const TOP_UP = `${HELPERS}
local rec = redis.call("HMGET", KEYS[1], "keys", "limits", "used_usd", "used_tokens", "ckey", "used_cheld")
if not rec[1] then return {"ok", "missing", "0", "0"} end
local usd, tokens, cheld = num(rec[3]), num(rec[4]), num(rec[6])
if usd == 0 and tokens == 0 and cheld == 0 then return {"ok", "none", "0", "0"} end
local keys = cjson.decode(rec[1])
local limits = rec[2] and cjson.decode(rec[2]) or {}
local ckey = rec[5] ~= "" and rec[5] or nil
for i, k in ipairs(keys) do
  if redis.call("EXISTS", k) == 1 then
    local h = redis.call("HMGET", k, "spent_usd", "reserved_usd", "spent_tokens", "reserved_tokens")
    local lim = limits[i] or {"", ""}
    if usd > 0 and lim[1] ~= "" and num(h[1]) + num(h[2]) + usd > num(lim[1]) then
      return {"budget", i, "usd", lim[1], fmt(num(h[1])), fmt(num(h[2])), fmt(usd), fmt(tokens), k}
    end
    if tokens > 0 and lim[2] ~= "" and num(h[3]) + num(h[4]) + tokens > num(lim[2]) then
      return {"budget", i, "tokens", lim[2], fmt(num(h[3])), fmt(num(h[4])), fmt(usd), fmt(tokens), k}
    end
  end
end
if ckey and cheld > 0 and redis.call("EXISTS", ckey) == 1 then
  local h = redis.call("HMGET", ckey, "balance", "reserved")
  if num(h[1]) - num(h[2]) < cheld then return {"credits", fmt(num(h[1])), fmt(num(h[2])), fmt(usd), fmt(tokens)} end
end
for _, k in ipairs(keys) do
  if redis.call("EXISTS", k) == 1 then
    redis.call("HINCRBY", k, "reserved_usd", fmt(usd))
    redis.call("HINCRBY", k, "reserved_tokens", fmt(tokens))
  end
end
if ckey and redis.call("EXISTS", ckey) == 1 then redis.call("HINCRBY", ckey, "reserved", fmt(cheld)) end
redis.call("HINCRBY", KEYS[1], "usd", fmt(usd))
redis.call("HINCRBY", KEYS[1], "tokens", fmt(tokens))
redis.call("HINCRBY", KEYS[1], "cheld", fmt(cheld))
redis.call("HSET", KEYS[1], "used_usd", 0, "used_tokens", 0, "used_cheld", 0)
return {"ok", "topped", fmt(usd), fmt(tokens)}
`;

/** KEYS: 1 reservation record, 2 expiry zset. ARGV: 1 reservation key prefix, 2 job id. Returns 1 if released. */
export const RELEASE = `${HELPERS}
return release_resv(ARGV[1], KEYS[2], ARGV[2])
`;

/** KEYS: 1 expiry zset. ARGV: 1 reservation key prefix, 2 max. Releases reservations past their expiry; returns the count. */
export const EXPIRE_ORPHANS = `${HELPERS}
return sweep(ARGV[1], KEYS[1], now_ms(), tonumber(ARGV[2]))
`;

/**
 * Initialise a budget hash only if it does not exist (concurrent initialisers never double count).
 * KEYS: 1 budget hash. ARGV: 1 spent usd nano, 2 spent tokens, 3 expire-at ms. Returns 1 if it initialised.
 */
export const INIT_BUDGET = `
if redis.call("EXISTS", KEYS[1]) == 1 then return 0 end
redis.call("HSET", KEYS[1], "spent_usd", ARGV[1], "spent_tokens", ARGV[2], "reserved_usd", 0, "reserved_tokens", 0)
redis.call("PEXPIREAT", KEYS[1], ARGV[3])
return 1
`;

/** KEYS: 1 credits hash. ARGV: 1 delta nano. Returns the new balance, or false when the hash is not loaded. */
export const ADJUST_CREDITS = `
if redis.call("EXISTS", KEYS[1]) == 0 then return false end
return redis.call("HINCRBY", KEYS[1], "balance", ARGV[1])
`;

/** Reply shapes of RESERVE, TOP_UP and SETTLE. */
export const ReserveReply = z.union([
  z.tuple([z.literal("ok"), z.enum(["new", "replay"])]),
  z.tuple([z.literal("init")], z.string()),
  z.tuple([z.literal("budget"), z.number(), z.enum(["usd", "tokens"]), z.string(), z.string(), z.string()]),
  z.tuple([z.literal("credits"), z.string(), z.string()]),
]);
export const TopUpReply = z.union([
  z.tuple([z.literal("ok"), z.enum(["topped", "none", "missing"]), z.string(), z.string()]),
  z.tuple([z.literal("budget"), z.number(), z.enum(["usd", "tokens"]), z.string(), z.string(), z.string(), z.string(), z.string(), z.string()]),
  z.tuple([z.literal("credits"), z.string(), z.string(), z.string(), z.string()]),
]);
export const SettleReply = z.tuple([z.number(), z.number(), z.enum(["reservation", "scopes", "none"]), z.number(), z.number(), z.number()]);

const NANO = 1e9;
/** USD → integer nano-dollars (nearest; float noise such as 0.02 × 1e9 must not round up). */
export const toNano = (usd: number, what: string): number => {
  if (!Number.isFinite(usd) || usd < 0) throw new RangeError(`${what} must be a non-negative number, got ${usd}`);
  return Math.round(usd * NANO);
};
export const toTokens = (tokens: number, what: string): number => {
  if (!Number.isFinite(tokens) || tokens < 0) throw new RangeError(`${what} must be a non-negative number, got ${tokens}`);
  return Math.ceil(tokens);
};
export const usdOf = (nano: number | string | null | undefined): number => Number(nano ?? 0) / NANO;

/** Balances and grants may be negative (a correction); budget amounts may not. */
export function toNanoSigned(usd: number): number {
  if (!Number.isFinite(usd)) throw new RangeError(`credit amount must be a finite number, got ${usd}`);
  return Math.round(usd * NANO);
}

/**
 * `RESERVE` as a Lua function `sy_reserve(KEYS, ARGV)`, taking the reservation's own keys and
 * arguments, for a script that reserves as one step of a larger decision (admission).
 */
export const RESERVE_FUNCTION = `
local function sy_reserve(KEYS, ARGV)
${RESERVE}
end
`;
