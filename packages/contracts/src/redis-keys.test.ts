import { RedisKeys } from "./redis-keys";

// Keys are data at rest (a release reads what the one before wrote) and the Lua scripts rely on
// every key sharing one hash tag: each format is pinned byte for byte.
const k = new RedisKeys("sy");

/** Every key the module can produce, with the exact string it must be. */
const EVERY_KEY: Array<[what: string, key: string, expected: string]> = [
  ["job", k.job("job_1"), "{sy}:job:job_1"],
  ["events", k.events("job_1"), "{sy}:events:job_1"],
  ["eventsPrefix", k.eventsPrefix() + "job_1", "{sy}:events:job_1"],
  ["idempotency", k.idempotency("ten_1", "abc"), "{sy}:idem:ten_1:abc"],
  ["liveJobs", k.liveJobs(), "{sy}:live-jobs"],
  ["liveJobsBucket", k.liveJobsBucket(7), "{sy}:live-jobs:7"],
  ["liveJobsOpenBucket", k.liveJobsOpenBucket(), "{sy}:live-jobs:open"],
  ["liveJobsBuckets", k.liveJobsBuckets(), "{sy}:live-jobs:buckets"],
  ["tenantJobs", k.tenantJobs("ten_1"), "{sy}:tenant-jobs:ten_1"],
  ["tenantJobsBucket", k.tenantJobsBucket("ten_1", 3), "{sy}:tenant-jobs:ten_1:3"],
  ["tenantJobsOpenBucket", k.tenantJobsOpenBucket("ten_1"), "{sy}:tenant-jobs:ten_1:open"],
  ["eventNotices", k.eventNotices(), "{sy}:event-notices"],
  ["maintenance", k.maintenance(), "{sy}:maintenance"],
  ["cancelChannel", k.cancelChannel(), "{sy}:cancel"],
  ["bullJob", k.bullJob("ai-route", "job_1"), "{sy}:ai-route:job_1"],
  ["bullQueue", k.bullQueue("ai-route", "failed"), "{sy}:ai-route:failed"],
  ["rateLimit.log", k.rateLimit("dep_1").log, "{sy}:rl:dep_1:log"],
  ["rateLimit.tokday", k.rateLimit("dep_1").tokday, "{sy}:rl:dep_1:tokday"],
  ["rateLimit.endUser", k.rateLimit("dep_1").endUser("alice"), "{sy}:rl:dep_1:u:alice"],
  ["rateLimit.endUserMonth", k.rateLimit("dep_1").endUserMonth("alice", "2026-12"), "{sy}:rl:dep_1:um:alice:2026-12"],
  ["budgetPeriod (day)", k.budgetPeriod("tenant", "ten_1", "d:2026-12-07"), "{sy}:budget:tenant:ten_1:d:2026-12-07"],
  ["budgetPeriod (month)", k.budgetPeriod("deployment", "dep_1", "m:2026-12"), "{sy}:budget:deployment:dep_1:m:2026-12"],
  ["budgetReservation", k.budgetReservation("job_1"), "{sy}:resv:job_1"],
  ["budgetReservationPrefix", k.budgetReservationPrefix(), "{sy}:resv:"],
  ["budgetReservationExpiry", k.budgetReservationExpiry(), "{sy}:resv-expiry"],
  ["budgetSettled", k.budgetSettled("job_1", 2), "{sy}:settled:job_1:2"],
  ["credits", k.credits("ten_1"), "{sy}:credits:ten_1"],
  ["alert", k.alert("budget_threshold", "deployment:dep_1", "d:2026-12-07", 90), "{sy}:alert:budget_threshold:deployment:dep_1:d:2026-12-07:90"],
  ["breaker", k.breaker("gpt-4o-mini"), "{sy}:cb:gpt-4o-mini"],
  ["breakerWindow", k.breakerWindow("gpt-4o-mini"), "{sy}:cb:gpt-4o-mini:win"],
  ["fairPrefix", k.fairPrefix(), "{sy}:fair:"],
  ["fairList", k.fairList("dep_1", "high"), "{sy}:fair:q:dep_1:high"],
  ["fairList (encoded)", k.fairList("dep:1", "low"), "{sy}:fair:q:dep%3A1:low"],
  ["fairDeployment", k.fairDeployment("dep_1"), "{sy}:fair:dep:dep_1"],
  ["fairInflight", k.fairInflight("dep_1"), "{sy}:fair:inflight:dep_1"],
  ["fairRing", k.fairRing(), "{sy}:fair:tring"],
  ["fairTenantRing", k.fairTenantRing("t 1"), "{sy}:fair:dring:t%201"],
  ["fairCapped", k.fairCapped(), "{sy}:fair:capped"],
  ["fairActive", k.fairActive(), "{sy}:fair:active"],
  ["fairDeadlines", k.fairDeadlines(), "{sy}:fair:deadlines"],
  ["fairDispatching", k.fairDispatching(), "{sy}:fair:dispatching"],
  ["fairNotify", k.fairNotify(), "{sy}:fair:notify"],
  ["fairWorkers", k.fairWorkers(), "{sy}:fair:workers"],
];

test.each(EVERY_KEY)("%s is spelt exactly as stored", (_what, key, expected) => {
  expect(key).toBe(expected);
});

test("the list above covers every key method", () => {
  const methods = Object.getOwnPropertyNames(RedisKeys.prototype).filter((m) => m !== "constructor" && m !== "budgetScopeOf");
  const covered = new Set(EVERY_KEY.map(([what]) => what.split(/[ .]/)[0]));
  expect(methods.filter((m) => !covered.has(m))).toEqual([]);
});

test("every key starts with the one hash tag, which is BullMQ's prefix", () => {
  const other = new RedisKeys("sytest-a1");
  expect(other.bullPrefix).toBe("{sytest-a1}");
  for (const [, key] of EVERY_KEY) expect(key.startsWith("{sy}:")).toBe(true);
  // Redis Cluster hashes only what is inside the first {...}: the tag, whatever follows.
  const hashTag = (key: string) => /^\{([^}]*)\}/.exec(key)?.[1];
  expect(new Set(EVERY_KEY.map(([, key]) => hashTag(key)))).toEqual(new Set(["sy"]));
});

test("rate-limit ids are URI-encoded, so a ':' cannot make two deployments or users share a key", () => {
  expect(k.rateLimit("a:b").log).toBe("{sy}:rl:a%3Ab:log");
  expect(k.rateLimit("a").endUser("b:u:c")).toBe("{sy}:rl:a:u:b%3Au%3Ac");
  expect(k.rateLimit("a").endUserMonth("x y", "2026-01")).toBe("{sy}:rl:a:um:x%20y:2026-01");
  expect(k.rateLimit("a:b").log).not.toBe(k.rateLimit("a").endUser("b"));
});

test("budgetScopeOf reads a period key back, and nothing else", () => {
  expect(k.budgetScopeOf(k.budgetPeriod("tenant", "ten_1", "d:2026-12-07"))).toEqual({ scope: "tenant", id: "ten_1" });
  expect(k.budgetScopeOf(k.budgetPeriod("deployment", "dep:odd", "m:2026-12"))).toEqual({ scope: "deployment", id: "dep:odd" });
  expect(k.budgetScopeOf(k.credits("ten_1"))).toBeNull();
  expect(k.budgetScopeOf(new RedisKeys("other").budgetPeriod("tenant", "ten_1", "d:2026-12-07"))).toBeNull();
});
