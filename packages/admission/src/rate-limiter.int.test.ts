import { RedisKeys, type ResolvedRateLimits } from "@switchyard/contracts";
import { RATE_LIMIT_FUNCTIONS } from "./rate-limiter-scripts";
import { cleanupPrefix, testPrefix, TEST_REDIS_URL } from "@switchyard/testkit";
import { Redis } from "ioredis";
import { setTimeout as sleep } from "node:timers/promises";
import { RateLimiter, type RateLimitCheck, type RateLimitDecision } from "./rate-limiter";

const prefix = testPrefix("rl");
const redisKeys = new RedisKeys(prefix);
const connections: Redis[] = [];
let deployments = 0;

function connect(): Redis {
  const redis = new Redis(TEST_REDIS_URL);
  connections.push(redis);
  return redis;
}

function limiter(): RateLimiter {
  return new RateLimiter({ redis: connect(), prefix });
}

/** Limits far above anything a test reaches, so only the ones a test sets can bite. */
function limits(set: Partial<ResolvedRateLimits> = {}): ResolvedRateLimits {
  return {
    requests_per_minute: 100_000,
    requests_per_hour: 100_000,
    requests_per_day: 100_000,
    tokens_per_request: 100_000,
    tokens_per_day: 100_000_000,
    windows: [],
    ...set,
  };
}

function deployment(): string {
  return `dep-${++deployments}`;
}

function burst(rl: RateLimiter | RateLimiter[], n: number, c: RateLimitCheck): Promise<RateLimitDecision[]> {
  const all = Array.isArray(rl) ? rl : [rl];
  return Promise.all(Array.from({ length: n }, (_, i) => all[i % all.length]!.check(c)));
}

const admitted = (ds: readonly RateLimitDecision[]): number => ds.filter((d) => d.allowed).length;

function refused(d: RateLimitDecision): Extract<RateLimitDecision, { allowed: false }> {
  if (d.allowed) throw new Error(`expected a refusal, got ${JSON.stringify(d)}`);
  return d;
}

/** Redis server time in ms: the clock the limiter judges by. */
async function serverMs(redis: Redis): Promise<number> {
  const [s, us] = await redis.time();
  return Number(s) * 1000 + Number(us) / 1000;
}

async function sleepUntil(redis: Redis, ms: number): Promise<void> {
  const wait = ms - (await serverMs(redis));
  if (wait > 0) await sleep(wait);
  while ((await serverMs(redis)) < ms) await sleep(2);
}

afterAll(async () => {
  for (const r of connections) r.disconnect();
  await cleanupPrefix(prefix);
});

describe("RateLimiter (real Redis)", () => {
  it("admits exactly the window's limit out of 400 concurrent checks from two gateways", async () => {
    const gateways = [limiter(), limiter()];
    const c: RateLimitCheck = { deploymentId: deployment(), limits: limits({ windows: [{ requests: 50, seconds: 10 }] }), tokens: 10 };
    const decisions = await burst(gateways, 400, c);
    expect(admitted(decisions)).toBe(50);
    const refusals = decisions.filter((d) => !d.allowed).map(refused);
    expect(refusals).toHaveLength(350);
    for (const r of refusals) {
      expect(r.reason).toBe("requests_per_window");
      expect(r.retryAfterSeconds).toBeGreaterThanOrEqual(1);
      expect(r.retryAfterSeconds).toBeLessThanOrEqual(10);
      expect(r.headers["Retry-After"]).toBe(String(r.retryAfterSeconds));
      expect(r.headers["RateLimit"]).toMatch(/^limit=50, remaining=0, reset=(10|[1-9])$/);
      expect(r.message).toContain("50 requests per 10 s");
    }
    // Every admitted request saw a different count: the decisions were serialised, none raced.
    const remaining = decisions.filter((d) => d.allowed).map((d) => Number(/remaining=(\d+)/.exec(d.headers["RateLimit"] ?? "")?.[1]));
    expect(remaining.sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(decisions[0]?.headers["RateLimit-Policy"]).toBe("100000;w=60, 100000;w=3600, 100000;w=86400, 50;w=10");
  });

  it("is a sliding window: bursts either side of a second boundary never exceed the limit in any 1 s", async () => {
    const rl = limiter();
    const clock = connect();
    const c: RateLimitCheck = { deploymentId: deployment(), limits: limits({ windows: [{ requests: 10, seconds: 1 }] }), tokens: 1 };
    // Start mid-second, so the 0.9 s burst lands in the next calendar second: a fixed window would admit it.
    const start = await serverMs(clock);
    await sleepUntil(clock, Math.floor(start / 1000) * 1000 + (start % 1000 < 400 ? 500 : 1500));
    const admittedAt: { lo: number; hi: number }[] = [];
    const timedBurst = async (): Promise<RateLimitDecision[]> => {
      const lo = await serverMs(clock);
      const ds = await burst(rl, 25, c);
      const hi = await serverMs(clock);
      for (const d of ds) if (d.allowed) admittedAt.push({ lo, hi });
      return ds;
    };

    const a = await timedBurst();
    const aEnd = admittedAt[0]!.hi;
    expect(admitted(a)).toBe(10);
    await sleepUntil(clock, admittedAt[0]!.lo + 850);
    const bStart = await serverMs(clock);
    const b = await timedBurst();
    // Precondition, not the property: the whole burst ran while every A admission was < 1 s old.
    expect((await serverMs(clock)) - bStart).toBeLessThan(140);
    expect(admitted(b)).toBe(0);
    for (const d of b) expect(refused(d)).toMatchObject({ reason: "requests_per_window", retryAfterSeconds: 1, headers: { "Retry-After": "1" } });
    await sleepUntil(clock, aEnd + 1100);
    const cBurst = await timedBurst();
    expect(admitted(cBurst)).toBe(10);

    // Each admission happened somewhere in its burst's [lo, hi]. Counting every admission that
    // could share a 1 s span with each one over-estimates, and still must not pass the limit.
    const worst = Math.max(...admittedAt.map((i) => admittedAt.filter((j) => j.lo < i.hi + 1000 && j.hi >= i.lo).length));
    expect(admittedAt).toHaveLength(20);
    expect(worst).toBe(10);

    // Once the window has passed, full capacity is back.
    await sleepUntil(clock, admittedAt[admittedAt.length - 1]!.hi + 1050);
    expect(admitted(await burst(rl, 25, c))).toBe(10);
  });

  it("reports the most constrained of minute, hour and day, and refuses with the one that lasts longest", async () => {
    const rl = limiter();
    const hourly: RateLimitCheck = {
      deploymentId: deployment(),
      limits: limits({ requests_per_minute: 5, requests_per_hour: 3, requests_per_day: 100 }),
      tokens: 1,
    };
    const first = await rl.check(hourly);
    expect(first).toEqual({ allowed: true, headers: { "RateLimit-Policy": "5;w=60, 3;w=3600, 100;w=86400", RateLimit: "limit=3, remaining=2, reset=3600" } });
    expect((await rl.check(hourly)).headers["RateLimit"]).toMatch(/^limit=3, remaining=1, reset=(3600|3599)$/);
    expect((await rl.check(hourly)).headers["RateLimit"]).toMatch(/^limit=3, remaining=0, reset=(3600|3599)$/);
    const overHour = refused(await rl.check(hourly));
    expect(overHour.reason).toBe("requests_per_hour");
    expect(overHour.retryAfterSeconds).toBeGreaterThanOrEqual(3599);
    expect(overHour.retryAfterSeconds).toBeLessThanOrEqual(3600);
    expect(overHour.message).toContain("3 requests per hour");

    const minutely: RateLimitCheck = {
      deploymentId: deployment(),
      limits: limits({ requests_per_minute: 2, requests_per_hour: 10, requests_per_day: 3 }),
      tokens: 1,
    };
    expect((await rl.check(minutely)).headers["RateLimit"]).toBe("limit=2, remaining=1, reset=60");
    expect((await rl.check(minutely)).allowed).toBe(true);
    const overMinute = refused(await rl.check(minutely));
    expect(overMinute.reason).toBe("requests_per_minute");
    expect(overMinute.retryAfterSeconds).toBeGreaterThanOrEqual(59);
    expect(overMinute.retryAfterSeconds).toBeLessThanOrEqual(60);
    expect(overMinute.headers["RateLimit"]).toMatch(/^limit=2, remaining=0, reset=(60|59)$/);

    // Minute and day both full: waiting out the minute would not help, so the day is the reason.
    const both: RateLimitCheck = {
      deploymentId: deployment(),
      limits: limits({ requests_per_minute: 2, requests_per_hour: 10, requests_per_day: 2 }),
      tokens: 1,
    };
    await burst(rl, 2, both);
    const overDay = refused(await rl.check(both));
    expect(overDay.reason).toBe("requests_per_day");
    expect(overDay.retryAfterSeconds).toBeGreaterThanOrEqual(86_399);
    expect(overDay.headers["Retry-After"]).toBe(String(overDay.retryAfterSeconds));
    expect(overDay.headers["RateLimit"]).toMatch(/^limit=2, remaining=0, reset=(86400|86399)$/);
  });

  it("refuses a request over tokens_per_request without consuming anything", async () => {
    const rl = limiter();
    const l = limits({ requests_per_minute: 10, tokens_per_request: 4000, tokens_per_day: 5000 });
    const dep = deployment();
    const tooBig = refused(await rl.check({ deploymentId: dep, limits: l, tokens: 4001 }));
    expect(tooBig.reason).toBe("tokens_per_request");
    expect(tooBig.retryAfterSeconds).toBe(0);
    expect(tooBig.headers["Retry-After"]).toBeUndefined();
    expect(tooBig.headers["RateLimit"]).toBe("limit=10, remaining=10, reset=0");
    expect(tooBig.message).toMatch(/4001 tokens.*4000 tokens per request.*lower max_tokens or shorten the input/i);
    // Neither the request windows nor the 5000 daily tokens were charged for the refusal.
    const ok = await rl.check({ deploymentId: dep, limits: l, tokens: 4000 });
    expect(ok).toEqual({
      allowed: true,
      headers: { "RateLimit-Policy": "10;w=60, 100000;w=3600, 100000;w=86400", RateLimit: "limit=10, remaining=9, reset=60" },
    });
  });

  it("accumulates tokens_per_day across calls and gateways, admitting up to the limit exactly", async () => {
    const [g1, g2] = [limiter(), limiter()];
    const dep = deployment();
    const c = (tokens: number): RateLimitCheck => ({ deploymentId: dep, limits: limits({ tokens_per_request: 1000, tokens_per_day: 1000 }), tokens });
    expect((await g1.check(c(400))).allowed).toBe(true);
    expect((await g2.check(c(400))).allowed).toBe(true);
    const over = refused(await g1.check(c(300)));
    expect(over.reason).toBe("tokens_per_day");
    expect(over.message).toContain("800 of 1000 tokens");
    expect(over.retryAfterSeconds).toBeGreaterThanOrEqual(86_399);
    expect(over.retryAfterSeconds).toBeLessThanOrEqual(86_400);
    expect((await g2.check(c(200))).allowed).toBe(true); // 1000 exactly
    expect(refused(await g1.check(c(1))).reason).toBe("tokens_per_day");
    expect((await g2.check(c(0))).allowed).toBe(true);

    // 30 concurrent 100-token requests against a fresh 1000-token day: exactly 10 fit.
    const fresh: RateLimitCheck = { deploymentId: deployment(), limits: limits({ tokens_per_day: 1000 }), tokens: 100 };
    const ds = await burst([g1, g2], 30, fresh);
    expect(admitted(ds)).toBe(10);
    expect(ds.filter((d) => !d.allowed).every((d) => refused(d).reason === "tokens_per_day")).toBe(true);

    // A request larger than the whole day can never fit: no point retrying.
    const never = refused(await g1.check({ deploymentId: deployment(), limits: limits({ tokens_per_day: 1000 }), tokens: 1500 }));
    expect(never).toMatchObject({ reason: "tokens_per_day", retryAfterSeconds: 0 });
    expect(never.headers["Retry-After"]).toBeUndefined();
  });

  it("gives end users their tier's messages per day, per deployment, and refusals consume nothing", async () => {
    const rl = limiter();
    const dep = deployment();
    const l = limits({ requests_per_day: 552 });
    const free = await burst(rl, 60, { deploymentId: dep, limits: l, tokens: 1, endUser: { id: "alice", tier: "free" } });
    expect(admitted(free)).toBe(50);
    const freeRefusal = refused(free.find((d) => !d.allowed)!);
    // The free tier allows 50 a day and 50 a calendar month: both refuse the 51st, and the one that
    // lasts longer is given (the month's, unless less than a day of it is left).
    const monthLeftS = (Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth() + 1, 1) - Date.now()) / 1000;
    if (monthLeftS > 86_400 + 60) {
      expect(freeRefusal.reason).toBe("end_user_monthly");
      expect(freeRefusal.retryAfterSeconds).toBeGreaterThanOrEqual(Math.floor(monthLeftS) - 5);
      expect(freeRefusal.message).toContain("free tier allows 50 messages per calendar month");
    } else if (monthLeftS < 86_400 - 60) {
      expect(freeRefusal.reason).toBe("end_user_daily");
      expect(freeRefusal.message).toContain("free tier allows 50 messages per day");
    }
    expect(await rl.endUserMessagesThisMonth(dep, "alice")).toMatchObject({ used: 50, month: new Date().toISOString().slice(0, 7) });
    expect(freeRefusal.headers["RateLimit-Policy"]).toBe("100000;w=60, 100000;w=3600, 552;w=86400, 50;w=86400");
    expect(freeRefusal.headers["RateLimit"]).toMatch(/^limit=50, remaining=0, reset=(86400|86399)$/);

    const paid = await burst(rl, 520, { deploymentId: dep, limits: l, tokens: 1, endUser: { id: "bob", tier: "paid" } });
    expect(admitted(paid)).toBe(500);
    expect(paid.filter((d) => !d.allowed).every((d) => ["end_user_daily", "end_user_monthly"].includes(refused(d).reason))).toBe(true);
    expect((await rl.endUserMessagesThisMonth(dep, "bob")).used).toBe(500);

    // The same user id on another deployment has its own allowance.
    expect((await rl.check({ deploymentId: deployment(), limits: l, tokens: 1, endUser: { id: "alice", tier: "free" } })).allowed).toBe(true);
    // Upgrading raises the limit over the same 24 h log.
    expect((await rl.check({ deploymentId: dep, limits: l, tokens: 1, endUser: { id: "alice", tier: "paid" } })).allowed).toBe(true);
    // 551 admitted so far; the 30 refusals took none of the deployment's 552 a day.
    const last = await rl.check({ deploymentId: dep, limits: l, tokens: 1 });
    expect(last.headers["RateLimit"]).toMatch(/^limit=552, remaining=0, reset=(86400|86399|86398)$/);
    expect(refused(await rl.check({ deploymentId: dep, limits: l, tokens: 1 })).reason).toBe("requests_per_day");
  });

  it("counts an end user's messages per calendar month: the counter expires after the month, and an undone admission gives its message back", async () => {
    const rl = limiter();
    const redis = connect();
    const dep = deployment();
    const l = limits({});
    const call = rl.prepare({ deploymentId: dep, limits: l, tokens: 1, endUser: { id: "dora", tier: "free" } });
    expect(call.keys).toHaveLength(4);
    expect(call.keys[3]).toMatch(new RegExp(`:um:dora:${new Date().toISOString().slice(0, 7)}$`));
    expect((await rl.check({ deploymentId: dep, limits: l, tokens: 1, endUser: { id: "dora", tier: "free" } })).allowed).toBe(true);
    const ttl = await redis.ttl(call.keys[3]!);
    const monthLeftS = (Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth() + 1, 1) - Date.now()) / 1000;
    expect(ttl).toBeGreaterThan(monthLeftS);
    expect(ttl).toBeLessThanOrEqual(monthLeftS + 86_400 + 5);
    // The admission script takes a check back when a later step refuses: the month's count too.
    const undo = `${RATE_LIMIT_FUNCTIONS}\nsy_rate_limit(KEYS, ARGV)\nsy_rate_limit_undo(KEYS, ARGV)\nreturn redis.call("GET", KEYS[4])`;
    expect(await redis.eval(undo, call.keys.length, ...call.keys, ...call.argv)).toBe("1");
    expect((await rl.endUserMessagesThisMonth(dep, "dora")).used).toBe(1);
  });

  it("records nothing for a refused request: a full custom window does not drain the minute", async () => {
    const rl = limiter();
    const c: RateLimitCheck = {
      deploymentId: deployment(),
      limits: limits({ requests_per_minute: 5, tokens_per_day: 600, windows: [{ requests: 2, seconds: 1 }] }),
      tokens: 100,
    };
    const first = await burst(rl, 5, c);
    expect(admitted(first)).toBe(2);
    expect(first.filter((d) => !d.allowed).map((d) => refused(d).reason)).toEqual(["requests_per_window", "requests_per_window", "requests_per_window"]);
    await sleep(1050);
    expect(admitted(await burst(rl, 2, c))).toBe(2); // 4 of 5 per minute, 400 of 600 tokens (the refusals took neither)
    await sleep(1050);
    const third = await burst(rl, 2, c);
    expect(admitted(third)).toBe(1);
    const r = refused(third.find((d) => !d.allowed)!);
    expect(r.reason).toBe("requests_per_minute");
    expect(r.retryAfterSeconds).toBeGreaterThanOrEqual(57);
  });

  it("counts tokens_per_day over exactly the last 24 h of one shared log: amounts leave the sum as their entries age past a day, and a lost sum is rebuilt from the day's entries only", async () => {
    const rl = limiter();
    const redis = connect();
    const DAY_US = 86_400_000_000;
    const [sec, usec] = await redis.time();
    const now = Number(sec) * 1_000_000 + Number(usec);
    const check = (dep: string, tokens: number) =>
      rl.check({ deploymentId: dep, limits: limits({ tokens_per_day: 200, windows: [{ requests: 1000, seconds: 7 * 86_400 }] }), tokens });
    const seed = async (dep: string, sum: { sum: number; upto: number } | null) => {
      const k = redisKeys.rateLimit(dep);
      // 100 tokens admitted a day and 10 s ago (out of the token window, still in the 7-day request window), 50 a minute short of a day ago.
      await redis.zadd(k.log, String(now - DAY_US - 10_000_000), "old:100", String(now - DAY_US + 60_000_000), "young:50");
      if (sum) await redis.hset(k.tokday, "sum", String(sum.sum), "upto", String(sum.upto));
    };
    // Aging: the sum still holds both amounts, last trimmed before the old entry's time.
    const aging = deployment();
    await seed(aging, { sum: 150, upto: now - DAY_US - 20_000_000 });
    expect((await check(aging, 150)).allowed).toBe(true); // 50 + 150 fits 200 only once the old 100 has left
    expect(refused(await check(aging, 1)).reason).toBe("tokens_per_day");
    expect(await redis.hget(redisKeys.rateLimit(aging).tokday, "sum")).toBe("200");
    // Rebuilt: no sum at all; only the entry of the last 24 h counts.
    const rebuilt = deployment();
    await seed(rebuilt, null);
    expect((await check(rebuilt, 150)).allowed).toBe(true);
    expect(refused(await check(rebuilt, 1)).reason).toBe("tokens_per_day");
    // The 7-day request window still holds the old entry: the log keeps both earlier entries and this one.
    expect(await redis.zcard(redisKeys.rateLimit(rebuilt).log)).toBe(3);
  });

  it("expires every key it writes within the longest window (the month counter after its month)", async () => {
    const rl = limiter();
    const dep = deployment();
    await rl.check({ deploymentId: dep, limits: limits({ windows: [{ requests: 5, seconds: 10 }] }), tokens: 5, endUser: { id: "carol:x", tier: "free" } });
    const redis = connect();
    const keys = await redis.keys(`{${prefix}}:rl:${dep}:*`);
    // The log (requests and their tokens), the token sum, the end user's log, and their month's count.
    expect(keys).toHaveLength(4);
    const month = keys.find((k) => k.includes(":um:"))!;
    const monthLeftMs = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth() + 1, 1) - Date.now();
    expect(await redis.pttl(month)).toBeGreaterThan(monthLeftMs);
    expect(await redis.pttl(month)).toBeLessThanOrEqual(monthLeftMs + 86_400_000 + 5000);
    for (const k of keys.filter((x) => x !== month)) {
      const ttl = await redis.pttl(k);
      expect(ttl).toBeGreaterThan(86_300_000);
      expect(ttl).toBeLessThanOrEqual(86_400_000);
    }
  });
});
