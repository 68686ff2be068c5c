/**
 * Lua of the fair scheduler (fair-scheduler.ts). Every key shares the `{prefix}` hash tag, so a
 * script may build the keys of whichever tenant and deployment come next from the fair prefix
 * (`<prefix>:fair:`), spelt as RedisKeys spells them: `q:<dep>:<priority>`, `dep:<dep>`,
 * `inflight:<dep>`, `dring:<tenant>` (the rings hold URI-encoded ids, as the keys do).
 *
 * Two rings, round robin at both levels: `tring` holds the tenants with jobs waiting (set
 * `tactive`), and each tenant's `dring:<tenant>` its deployments with jobs waiting (set `active`,
 * all tenants'). A turn is the head tenant's head deployment's: `weight` jobs (its deficit), then
 * both move to the tails of their rings. So a tenant gets one share however many deployments it
 * floods from, and a deployment's weight scales its tenant's turns when it is the one up.
 *
 * An entry is `<job id>|<created ms>|<deadline ms or 0>|<payload JSON>`: the scripts read its head
 * without decoding the payload.
 */

/** The dispatch target: FAIR_DISPATCH_AHEAD when set, else the registered workers' total concurrency. */
const TARGET = `
local function target(workersKey, ahead, now)
  if ahead > 0 then return ahead end
  local t = 0
  local all = redis.call("HGETALL", workersKey)
  for i = 2, #all, 2 do
    local c, exp = string.match(all[i], "^(%d+)|(%d+)$")
    if c and tonumber(exp) > now then t = t + tonumber(c) end
  end
  return t
end
`;

/** A job's entry in a list (the one whose head is `<job id>|`), looked for 1000 at a time; nil when absent. */
const FIND_ENTRY = `
local function findEntry(k, jid)
  local head = jid .. "|"
  local len = redis.call("LLEN", k)
  for i = 0, len - 1, 1000 do
    for _, e in ipairs(redis.call("LRANGE", k, i, i + 999)) do
      if string.sub(e, 1, #head) == head then return e end
    end
  end
  return nil
end
`;

/**
 * The decision half of a submit, a Lua function (`sy_fair_decide(K, A)`) for the fair scheduler's
 * own script and the gateway's admission script (which decides in the same step that creates the
 * job). It records the deployment's settings, then answers "direct" or "direct-behind" (nothing of
 * the deployment waits, BullMQ is below target and the deployment below its cap: the caller adds
 * the BullMQ job itself; a capped deployment's slot is taken now; "-behind": the deployment's
 * previous job still waits in BullMQ, see FAIR_DISPATCH), or "queue": the caller must
 * {@link FAIR_PUSH_FUNCTION push} the entry.
 * K: 1-3 the deployment's high/normal/low lists, 4 deployment hash, 5 inflight, 6 BullMQ wait,
 * 7 BullMQ prioritized, 8 workers, 9 capped.
 * A: 1 encoded deployment, 2 weight, 3 cap (0: none), 4 tenant, 5 class, 6 now, 7 ahead (0: from
 * the workers), 8 job id, 9 job-hash prefix, 10 priority.
 */
export const FAIR_DECIDE_FUNCTION = `${TARGET}
local function sy_fair_decide(K, A)
  local now = tonumber(A[6])
  local cap = tonumber(A[3])
  redis.call("HSET", K[4], "w", A[2], "cap", A[3], "t", A[4], "c", A[5])
  if cap > 0 then redis.call("SADD", K[9], A[1]) end
  local waiting = redis.call("LLEN", K[1]) + redis.call("LLEN", K[2]) + redis.call("LLEN", K[3])
  if waiting == 0 then
    local ready = redis.call("LLEN", K[6]) + redis.call("ZCARD", K[7])
    if ready < target(K[8], tonumber(A[7]), now) and (cap == 0 or redis.call("ZCARD", K[5]) < cap) then
      if cap > 0 then redis.call("ZADD", K[5], now, A[8]) end
      local last = redis.call("HGET", K[4], "last:" .. A[10])
      redis.call("HSET", K[4], "last:" .. A[10], A[8])
      if last and redis.call("HGET", A[9] .. last, "status") == "queued" then return "direct-behind" end
      return "direct"
    end
  end
  return "queue"
end
`;

/**
 * The queueing half of a submit (`sy_fair_push(K, A)`): the entry onto its list (and, with a
 * deadline, into `deadlines` as `<encoded dep>|<priority>|<job id>`, so a short bound behind a long
 * one still ends on time), the deployment and tenant into their rings, the dispatchers woken.
 * K: 1 own list, 2 tenant ring, 3 active, 4 notify.
 * A: 1 entry, 2 encoded deployment, 3 priority, 4 fair prefix, 5 encoded tenant, 6 deadline ms
 * (0: none), 7 job id.
 */
const FAIR_PUSH_FUNCTION = `
local function sy_fair_push(K, A)
  redis.call("RPUSH", K[1], A[1])
  if tonumber(A[6]) > 0 then redis.call("ZADD", A[4] .. "deadlines", A[6], A[2] .. "|" .. A[3] .. "|" .. A[7]) end
  -- A deployment (or tenant) that becomes busy joins its ring at the head, not the tail: its first
  -- job is next (start-time fair queuing's new flow, tagged with the current virtual time); from
  -- then on it takes its turns as every other.
  if redis.call("SADD", K[3], A[2]) == 1 then
    redis.call("LPUSH", A[4] .. "dring:" .. A[5], A[2])
    if redis.call("SADD", A[4] .. "tactive", A[5]) == 1 then redis.call("LPUSH", K[2], A[5]) end
  end
  redis.call("LPUSH", K[4], "1")
  redis.call("LTRIM", K[4], 0, 0)
  return "queued"
end
`;

/** Push an entry whose admission decided "queue" (KEYS and ARGV: {@link FAIR_PUSH_FUNCTION}'s). */
export const FAIR_PUSH = `${FAIR_PUSH_FUNCTION}
return sy_fair_push(KEYS, ARGV)
`;

/**
 * Submit: decide, and push when the answer is "queue", in one step. KEYS: the decision's 9, then
 * the push's 4; ARGV: the decision's 10, then the push's 7 (see the two functions above).
 * Answers "direct", "direct-behind" or "queued".
 */
export const FAIR_SUBMIT = `${FAIR_DECIDE_FUNCTION}
${FAIR_PUSH_FUNCTION}
local path = sy_fair_decide({unpack(KEYS, 1, 9)}, {unpack(ARGV, 1, 10)})
if path ~= "queue" then return path end
return sy_fair_push({unpack(KEYS, 10, 13)}, {unpack(ARGV, 11, 17)})
`;

/**
 * Dispatch entries by deficit round robin, as many as BullMQ has room for (at most ARGV[5]).
 * KEYS: 1 tenant ring, 2 active, 3 BullMQ wait, 4 BullMQ prioritized, 5 workers, 6 dispatching.
 * ARGV: 1 fair prefix, 2 job-hash prefix, 3 now, 4 ahead, 5 most entries.
 * The head tenant's head deployment gets `weight` entries per turn (its deficit), from its highest
 * non-empty priority; then it and its tenant move to their rings' tails. A capped deployment is
 * passed over (its tenant's turn with it); one with nothing left leaves its tenant's ring, and a
 * tenant with none left the tenant ring. A job that already ended (canceled while waiting) is
 * dropped at no cost. Each entry goes to `dispatching` (and a capped deployment's inflight set)
 * before the caller adds the BullMQ jobs.
 * Answers pairs {"entry", e, "behind", e, "expired", e, …} (expired: past its deadline, the caller
 * ends it), or one word when there are none: "full" (BullMQ at target), "capped" (only capped
 * deployments wait) or "empty".
 * "entry" vs "behind" is the start-time part of the fairness: BullMQ holds up to the target of
 * waiting jobs, and a deployment that just became busy must not queue behind a flooding one's
 * already-added jobs. A deployment's job is "behind" when its previous job of the same priority
 * sent to BullMQ (field `last:<priority>`) has not begun (its job hash still says `queued`: waiting
 * in BullMQ, or being added by a concurrent direct submit, which a look at BullMQ would miss); the
 * caller adds "behind" jobs one BullMQ priority lower than "entry" ones of the same class, so a
 * newly busy deployment's first job runs next. Each deployment has at most one job per class ahead
 * that way, and the round robin decides who gets BullMQ's room, so a flooding tenant still gets
 * its share.
 * A ring of deployments left by the one-level scheduler (`ring`) is moved into the two levels first.
 */
export const FAIR_DISPATCH = `${TARGET}
local P, J, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local max = tonumber(ARGV[5])
local function link(dep)
  local t = redis.call("HGET", P .. "dep:" .. dep, "t") or ""
  local et = string.gsub(t, "[^%w%-_%.!~%*'%(%)]", function(c) return string.format("%%%02X", string.byte(c)) end)
  redis.call("RPUSH", P .. "dring:" .. et, dep)
  if redis.call("SADD", P .. "tactive", et) == 1 then redis.call("RPUSH", KEYS[1], et) end
end
while redis.call("LLEN", P .. "ring") > 0 do link(redis.call("LPOP", P .. "ring")) end
local room = target(KEYS[5], tonumber(ARGV[4]), now) - (redis.call("LLEN", KEYS[3]) + redis.call("ZCARD", KEYS[4]))
if room <= 0 then return {"full"} end
local prios = {"high", "normal", "low"}
local terminal = {succeeded = true, failed = true, canceled = true, incomplete = true}
local visits = redis.call("SCARD", KEYS[2]) * 2 + redis.call("LLEN", KEYS[1]) + 64 + max * 2
local capped = false
local out = {}
local taken = 0
local seen = {}
for i = 1, visits do
  if taken >= room or #out >= max * 2 then break end
  local t = redis.call("LINDEX", KEYS[1], 0)
  if not t then break end
  local dr = P .. "dring:" .. t
  local dep = redis.call("LINDEX", dr, 0)
  if not dep then
    redis.call("LPOP", KEYS[1])
    redis.call("SREM", P .. "tactive", t)
  else
    local dh = P .. "dep:" .. dep
    local list, prio = nil, nil
    for _, pr in ipairs(prios) do
      local k = P .. "q:" .. dep .. ":" .. pr
      if redis.call("LLEN", k) > 0 then list, prio = k, pr break end
    end
    if not list then
      redis.call("LPOP", dr)
      redis.call("SREM", KEYS[2], dep)
      redis.call("HSET", dh, "def", 0)
    else
      local cap = tonumber(redis.call("HGET", dh, "cap") or "0") or 0
      local inflight = P .. "inflight:" .. dep
      if cap > 0 and redis.call("ZCARD", inflight) >= cap then
        capped = true
        redis.call("LMOVE", dr, dr, "LEFT", "RIGHT")
        redis.call("LMOVE", KEYS[1], KEYS[1], "LEFT", "RIGHT")
      else
        local e = redis.call("LPOP", list)
        local jid, deadline = string.match(e, "^([^|]*)|%d+|(%d+)|")
        if deadline ~= "0" then redis.call("ZREM", P .. "deadlines", dep .. "|" .. prio .. "|" .. jid) end
        local st = redis.call("HGET", J .. jid, "status")
        if st and not terminal[st] then
          redis.call("ZADD", KEYS[6], now, e)
          local dl = tonumber(deadline) or 0
          if dl > 0 and dl <= now then
            out[#out + 1] = "expired"
            out[#out + 1] = e
          else
            local def = tonumber(redis.call("HGET", dh, "def") or "0") or 0
            if def < 1 then def = def + (tonumber(redis.call("HGET", dh, "w") or "1") or 1) end
            def = def - 1
            redis.call("HSET", dh, "def", def)
            if def < 1 then
              redis.call("LMOVE", dr, dr, "LEFT", "RIGHT")
              redis.call("LMOVE", KEYS[1], KEYS[1], "LEFT", "RIGHT")
            end
            if cap > 0 then redis.call("ZADD", inflight, now, jid) end
            local last = redis.call("HGET", dh, "last:" .. prio)
            redis.call("HSET", dh, "last:" .. prio, jid)
            if seen[dep .. prio] or (last and redis.call("HGET", J .. last, "status") == "queued") then out[#out + 1] = "behind" else out[#out + 1] = "entry" end
            seen[dep .. prio] = true
            out[#out + 1] = e
            taken = taken + 1
          end
        end
      end
    end
  end
end
if #out > 0 then return out end
if capped then return {"capped"} end
return {"empty"}
`;

/**
 * Entries past their deadline, wherever they are in their lists (the `deadlines` index; each
 * looked for from its list's head, 1000 at a time). KEYS:
 * 1 deadlines, 2 dispatching. ARGV: 1 fair prefix, 2 now, 3 most to take. Each goes to
 * `dispatching` first.
 */
export const FAIR_EXPIRED = `${FIND_ENTRY}
local P, now, max = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local out = {}
for _, m in ipairs(redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", now, "LIMIT", 0, max)) do
  redis.call("ZREM", KEYS[1], m)
  local dep, pr, jid = string.match(m, "^([^|]*)|([^|]*)|(.*)$")
  if dep then
    local k = P .. "q:" .. dep .. ":" .. pr
    local found = findEntry(k, jid)
    if found then
      redis.call("LREM", k, 1, found)
      redis.call("ZADD", KEYS[2], now, found)
      out[#out + 1] = found
    end
  end
end
return out
`;

/**
 * Entries left in `dispatching` longer than ARGV[2] ms (their dispatcher died between the pop and
 * the BullMQ add): claimed again (score = now, so another replica does not take them at once).
 * KEYS: 1 dispatching. ARGV: 1 now, 2 age ms, 3 most to take.
 */
export const FAIR_RECOVER = `
local now = tonumber(ARGV[1])
local old = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", now - tonumber(ARGV[2]), "LIMIT", 0, tonumber(ARGV[3]))
for _, e in ipairs(old) do redis.call("ZADD", KEYS[1], now, e) end
return old
`;

/**
 * Free capped deployments' slots held by jobs that ended or vanished (their worker died before
 * freeing them). KEYS: 1 capped set. ARGV: 1 fair prefix, 2 job-hash prefix, 3 now, 4 age ms.
 */
export const FAIR_SWEEP_INFLIGHT = `
local P, J, now, age = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local terminal = {succeeded = true, failed = true, canceled = true, incomplete = true}
local freed = 0
for _, dep in ipairs(redis.call("SRANDMEMBER", KEYS[1], 200)) do
  local inflight = P .. "inflight:" .. dep
  for _, jid in ipairs(redis.call("ZRANGEBYSCORE", inflight, "-inf", now - age, "LIMIT", 0, 200)) do
    local st = redis.call("HGET", J .. jid, "status")
    if (not st) or terminal[st] then
      redis.call("ZREM", inflight, jid)
      freed = freed + 1
    end
  end
  if redis.call("ZCARD", inflight) == 0 and (tonumber(redis.call("HGET", P .. "dep:" .. dep, "cap") or "0") or 0) == 0 then
    redis.call("SREM", KEYS[1], dep)
  end
end
return freed
`;

/**
 * Find (and with ARGV[2] = "1", remove) a job's entry in its deployment's lists. KEYS: 1-3 the
 * high/normal/low lists, 4 deadlines. ARGV: 1 job id, 2 remove, 3 encoded deployment. Answers 1
 * when found.
 */
export const FAIR_FIND = `${FIND_ENTRY}
local prios = {"high", "normal", "low"}
for n = 1, 3 do
  local e = findEntry(KEYS[n], ARGV[1])
  if e then
    if ARGV[2] == "1" then
      redis.call("LREM", KEYS[n], 1, e)
      redis.call("ZREM", KEYS[4], ARGV[3] .. "|" .. prios[n] .. "|" .. ARGV[1])
    end
    return 1
  end
end
return 0
`;

/**
 * Who waits: per deployment with jobs in the lists (at most 1000), its tenant, class, how many
 * wait and the oldest's creation ms. KEYS: 1 active. ARGV: 1 fair prefix.
 * Answers a flat array: dep, tenant, class, count, oldest ms, …
 */
export const FAIR_DEPTH = `
local P = ARGV[1]
local out = {}
for _, dep in ipairs(redis.call("SRANDMEMBER", KEYS[1], 1000)) do
  local n, oldest = 0, 0
  for _, pr in ipairs({"high", "normal", "low"}) do
    local k = P .. "q:" .. dep .. ":" .. pr
    local len = redis.call("LLEN", k)
    if len > 0 then
      n = n + len
      local c = tonumber(string.match(redis.call("LINDEX", k, 0), "^[^|]*|(%d+)|")) or 0
      if oldest == 0 or c < oldest then oldest = c end
    end
  end
  local h = redis.call("HMGET", P .. "dep:" .. dep, "t", "c")
  out[#out + 1] = dep
  out[#out + 1] = h[1] or ""
  out[#out + 1] = h[2] or ""
  out[#out + 1] = n
  out[#out + 1] = oldest
end
return out
`;
