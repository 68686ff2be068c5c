import {
  END_USER_MONTHLY_TIERS,
  END_USER_TIERS,
  pooledRandomBytes,
  type EndUserTier,
  RateLimitReason,
  RedisKeys,
  type ResolvedRateLimits,
} from "@switchyard/contracts";
import type { Cluster, Redis as SingleRedis } from "ioredis";

/** One server or a Redis Cluster (the keys are all in one hash slot). */
type Redis = SingleRedis | Cluster;
import { z } from "zod";
import { rateLimitHeaders, type RateLimitWindowState } from "./rate-limit-headers";
import { RATE_LIMIT_CHECK } from "./rate-limiter-scripts";

export { RateLimitReason };

/** The outcome of one admission check. `headers` go on the HTTP response either way. */
export type RateLimitDecision =
  | { allowed: true; headers: Record<string, string> }
  | {
      allowed: false;
      reason: RateLimitReason;
      /** Seconds until the refusing limit has room again (≥ 1); 0 when waiting cannot help (the request alone is over a limit). */
      retryAfterSeconds: number;
      headers: Record<string, string>;
      /** For the client: which limit, and what to do. */
      message: string;
    };

/** What to check: one request of a deployment, costing `tokens`. */
export interface RateLimitCheck {
  deploymentId: string;
  limits: ResolvedRateLimits;
  /** Tokens the request may spend: counted input plus the output it may produce. A non-negative integer. */
  tokens: number;
  /** The request's end user (`user` field) and their tier; omitted when the request names none. */
  endUser?: { id: string; tier: EndUserTier };
}

export interface RateLimiterOptions {
  redis: Redis;
  /** Key prefix without braces; keys are `RedisKeys.rateLimit` (`{prefix}:rl:<deployment>:…`), all in one hash slot. */
  prefix: string;
}

type Scripted = Redis & { syRateLimitCheck(numberOfKeys: number, ...keysThenArgv: string[]): Promise<unknown> };

const Triple = z.tuple([z.number(), z.number(), z.number()]);
const CheckReply = z.tuple([
  z.number(),
  z.number(),
  z.tuple([z.number(), z.number()]),
  z.union([z.tuple([]), Triple]),
  z.array(Triple),
  z.union([z.tuple([]), z.tuple([z.number(), z.number()])]).optional(),
]);

/** The UTC calendar month of `ms` (`YYYY-MM`) and the ms left in it. */
function calendarMonth(ms: number): { name: string; remainingMs: number } {
  const d = new Date(ms);
  const next = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  return { name: d.toISOString().slice(0, 7), remainingMs: next - ms };
}

const DAY_SECONDS = 86_400;
const US = 1_000_000;

interface RequestWindow {
  reason: RateLimitReason;
  limit: number;
  seconds: number;
}

interface Refusal {
  reason: RateLimitReason;
  retryAfterSeconds: number;
  message: string;
}

/**
 * Per-deployment rate limits, decided by one Lua script per request on the Redis clock:
 * - request windows (per minute, hour, day and each custom `limits.windows` entry) are exact
 *   sliding logs, never fixed windows: a request is admitted only if every window of the last
 *   w seconds holds fewer than its limit;
 * - `tokens_per_request` is a static ceiling on the request's `tokens`;
 * - `tokens_per_day` is an exact sliding 24 h sum of admitted tokens;
 * - an end user gets `END_USER_TIERS[tier]` messages per sliding 24 h within a deployment, and
 *   `END_USER_MONTHLY_TIERS[tier]` per calendar month (UTC).
 * Every limit is judged before anything is recorded: a refused request consumes nothing. When
 * several limits refuse, the reason given is the one that keeps refusing longest, so a client
 * that honours `Retry-After` is not turned away by another limit that was already full.
 */
export class RateLimiter {
  private readonly redis: Scripted;
  private readonly keys: RedisKeys;

  constructor(opts: RateLimiterOptions) {
    this.redis = opts.redis as Scripted;
    this.keys = new RedisKeys(opts.prefix);
    const r = opts.redis;
    // No numberOfKeys: the end-user key is optional, so the key count is passed at call time.
    if (!("syRateLimitCheck" in r)) r.defineCommand("syRateLimitCheck", { lua: RATE_LIMIT_CHECK });
  }

  /** Decide one request: admit it (recording it against every limit) or refuse it (recording nothing). */
  async check(c: RateLimitCheck): Promise<RateLimitDecision> {
    const call = this.prepare(c);
    return call.decide(await this.redis.syRateLimitCheck(call.keys.length, ...call.keys, ...call.argv));
  }

  /**
   * The script's keys and arguments for one request, and how to read its reply: for a caller that
   * runs the rate-limit script inside a larger one (admission's single step, `RATE_LIMIT_CHECK`
   * wrapped as a function). `member` is the id the script records the request under.
   */
  prepare(c: RateLimitCheck): PreparedRateLimitCheck {
    if (!Number.isInteger(c.tokens) || c.tokens < 0) throw new RangeError(`tokens must be a non-negative integer, got ${c.tokens}`);
    const windows = requestWindows(c.limits);
    const k = this.keys.rateLimit(c.deploymentId);
    const keys = [k.log, k.tokday];
    // Only an end user's limits need the calendar month (formatting a date costs ~1 % of a submit's CPU).
    const month = c.endUser ? calendarMonth(Date.now()) : null;
    if (c.endUser && month) keys.push(k.endUser(c.endUser.id), k.endUserMonth(c.endUser.id, month.name));
    const userLimit = c.endUser ? END_USER_TIERS[c.endUser.tier] : 0;
    const member = pooledRandomBytes(12).toString("hex");
    const argv = [member, String(c.tokens), String(c.limits.tokens_per_request), String(c.limits.tokens_per_day), String(userLimit), String(windows.length)];
    for (const w of windows) argv.push(String(w.limit), String(w.seconds * US));
    // The month's counter outlives the month by a day, so a clock a little behind Redis's still finds it.
    if (c.endUser && month)
      argv.push(String(END_USER_MONTHLY_TIERS[c.endUser.tier]), String(month.remainingMs * 1000), String(Math.ceil(month.remainingMs / 1000) + DAY_SECONDS));
    return { keys, argv, decide: (reply) => decide(c, windows, userLimit, reply) };
  }

  /**
   * The messages an end user of a deployment had admitted in the sliding 24 h that the per-user
   * tier limit judges (now - 24 h, now], on the Redis clock like {@link check}. Reads only.
   */
  async endUserMessagesLastDay(deploymentId: string, userId: string): Promise<number> {
    const [seconds, micros] = await this.redis.time();
    const nowUs = Number(seconds) * US + Number(micros);
    return this.redis.zcount(this.keys.rateLimit(deploymentId).endUser(userId), `(${nowUs - DAY_SECONDS * US}`, "+inf");
  }

  /** The messages an end user of a deployment had admitted this calendar month (UTC), as the monthly tier limit counts them. */
  async endUserMessagesThisMonth(deploymentId: string, userId: string): Promise<{ used: number; month: string; resetsAt: string }> {
    const now = Date.now();
    const month = calendarMonth(now);
    const used = Number((await this.redis.get(this.keys.rateLimit(deploymentId).endUserMonth(userId, month.name))) ?? 0);
    return { used, month: month.name, resetsAt: new Date(now + month.remainingMs).toISOString() };
  }
}

/** One rate-limit check ready to run: see {@link RateLimiter.prepare}. */
export interface PreparedRateLimitCheck {
  keys: string[];
  argv: string[];
  decide(reply: unknown): RateLimitDecision;
}

function decide(c: RateLimitCheck, windows: RequestWindow[], userLimit: number, reply: unknown): RateLimitDecision {
  const [allowed, overPerRequest, [tokensUsed, tokenRetryUs], user, counts, month] = CheckReply.parse(reply);

  const states: RateLimitWindowState[] = [];
  const refusals: Refusal[] = [];
  if (overPerRequest === 1) {
    refusals.push({
      reason: "tokens_per_request",
      retryAfterSeconds: 0,
      message: `This request needs ${c.tokens} tokens (input plus max_tokens), over this deployment's limit of ${c.limits.tokens_per_request} tokens per request. Lower max_tokens or shorten the input.`,
    });
  }
  const judged = (w: RequestWindow, [count, resetUs, retryUs]: [number, number, number], what: string): void => {
    states.push({ limit: w.limit, windowSeconds: w.seconds, remaining: Math.max(0, w.limit - count - allowed), resetSeconds: Math.ceil(resetUs / US) });
    if (retryUs >= 0) {
      const retry = atLeastOne(retryUs);
      refusals.push({ reason: w.reason, retryAfterSeconds: retry, message: `Rate limit reached: ${what}. Retry in ${retry} s.` });
    }
  };
  windows.forEach((w, i) => judged(w, counts[i] ?? [0, 0, -1], `${w.limit} requests per ${per(w.seconds)} for this deployment`));
  if (c.endUser && user.length === 3) {
    judged(
      { reason: "end_user_daily", limit: userLimit, seconds: DAY_SECONDS },
      user,
      `this end user's ${c.endUser.tier} tier allows ${userLimit} messages per day`,
    );
  }
  if (c.endUser && month && month.length === 2 && month[1] >= 0) {
    const retry = atLeastOne(month[1]);
    const limit = END_USER_MONTHLY_TIERS[c.endUser.tier];
    refusals.push({
      reason: "end_user_monthly",
      retryAfterSeconds: retry,
      message: `Rate limit reached: this end user's ${c.endUser.tier} tier allows ${limit} messages per calendar month (UTC), and ${month[0]} were used. Retry when the month ends, in ${retry} s.`,
    });
  }
  if (tokenRetryUs >= 0) {
    const retry = atLeastOne(tokenRetryUs);
    refusals.push({
      reason: "tokens_per_day",
      retryAfterSeconds: retry,
      message: `Daily token limit reached: ${tokensUsed} of ${c.limits.tokens_per_day} tokens used in the last 24 h and this request needs ${c.tokens}. Retry in ${retry} s, or lower max_tokens.`,
    });
  } else if (tokenRetryUs === -2) {
    refusals.push({
      reason: "tokens_per_day",
      retryAfterSeconds: 0,
      message: `This request needs ${c.tokens} tokens, more than this deployment's daily limit of ${c.limits.tokens_per_day}. Lower max_tokens or shorten the input.`,
    });
  }
  if (allowed === 1) return { allowed: true, headers: rateLimitHeaders(states) };
  const refusal = bindingRefusal(refusals);
  return { allowed: false, ...refusal, headers: rateLimitHeaders(states, refusal.retryAfterSeconds) };
}

/** The request windows of a deployment, in header order: minute, hour, day, then the custom ones. */
function requestWindows(limits: ResolvedRateLimits): RequestWindow[] {
  return [
    { reason: "requests_per_minute", limit: limits.requests_per_minute, seconds: 60 },
    { reason: "requests_per_hour", limit: limits.requests_per_hour, seconds: 3600 },
    { reason: "requests_per_day", limit: limits.requests_per_day, seconds: DAY_SECONDS },
    ...limits.windows.map((w): RequestWindow => ({ reason: "requests_per_window", limit: w.requests, seconds: w.seconds })),
  ];
}

/**
 * A refusal that waiting cannot cure (retry 0) wins, tokens_per_request first: retrying is
 * pointless. Otherwise the one that lasts longest; ties keep the first found (windows in header
 * order, end user, tokens).
 */
function bindingRefusal(refusals: readonly Refusal[]): Refusal {
  const permanent = refusals.find((r) => r.retryAfterSeconds === 0);
  if (permanent) return permanent;
  let best = refusals[0];
  if (!best) throw new Error("rate-limit script refused a request without naming a limit");
  for (const r of refusals) if (r.retryAfterSeconds > best.retryAfterSeconds) best = r;
  return best;
}

function atLeastOne(us: number): number {
  return Math.max(1, Math.ceil(us / US));
}

function per(seconds: number): string {
  if (seconds === 60) return "minute";
  if (seconds === 3600) return "hour";
  if (seconds === DAY_SECONDS) return "day";
  return `${seconds} s`;
}
