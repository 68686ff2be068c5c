import type { ResolvedRateLimits } from "@switchyard/contracts";
import { cleanupPrefix, testPrefix, TEST_REDIS_URL } from "@switchyard/testkit";
import { Redis } from "ioredis";
import { RateLimiter } from "./rate-limiter";

const prefix = testPrefix("rlread");
const redis = new Redis(TEST_REDIS_URL);
const rl = new RateLimiter({ redis, prefix });
const limits: ResolvedRateLimits = {
  requests_per_minute: 100_000,
  requests_per_hour: 100_000,
  requests_per_day: 100_000,
  tokens_per_request: 100_000,
  tokens_per_day: 100_000_000,
  windows: [],
};

afterAll(async () => {
  await cleanupPrefix(prefix);
  redis.disconnect();
});

describe("RateLimiter.endUserMessagesLastDay", () => {
  it("counts what check() admitted for the user, not what it refused, per deployment and user", async () => {
    const user = { id: "u 1/é", tier: "free" as const };
    expect(await rl.endUserMessagesLastDay("dep-a", user.id)).toBe(0);
    const decisions = [];
    for (let i = 0; i < 52; i++) decisions.push(await rl.check({ deploymentId: "dep-a", limits, tokens: 1, endUser: user }));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(50);
    expect(await rl.endUserMessagesLastDay("dep-a", user.id)).toBe(50);
    await rl.check({ deploymentId: "dep-a", limits, tokens: 1 });
    await rl.check({ deploymentId: "dep-b", limits, tokens: 1, endUser: user });
    expect(await rl.endUserMessagesLastDay("dep-a", user.id)).toBe(50);
    expect(await rl.endUserMessagesLastDay("dep-b", user.id)).toBe(1);
    expect(await rl.endUserMessagesLastDay("dep-a", "someone else")).toBe(0);
  });

  it("reads the key the check writes, and only entries of the last 24 h", async () => {
    await rl.check({ deploymentId: "dep-c", limits, tokens: 1, endUser: { id: "v", tier: "paid" } });
    const prepared = rl.prepare({ deploymentId: "dep-c", limits, tokens: 1, endUser: { id: "v", tier: "paid" } });
    const key = prepared.keys[2]!;
    expect(await redis.zcard(key)).toBe(1);
    const [sec, us] = await redis.time();
    const now = Number(sec) * 1_000_000 + Number(us);
    const day = 86_400_000_000;
    await redis.zadd(key, now - day - 1_000_000, "aged:1", now - day + 30_000_000, "inside:1");
    expect(await rl.endUserMessagesLastDay("dep-c", "v")).toBe(2);
  });
});
