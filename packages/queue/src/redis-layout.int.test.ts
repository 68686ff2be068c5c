import { queuedJobView } from "@switchyard/contracts";
import { cleanupPrefix, testPrefix } from "@switchyard/testkit";
import { JobStore } from "./job-store";
import { RedisKeys } from "./keys";
import { createRedis, type Redis } from "./redis";

// The job-store scripts name some keys themselves, from a base key they are given (index
// buckets, a comparison parent's stream): what they write must still be what RedisKeys spells.
const url = process.env.TEST_REDIS_URL ?? process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const keys = new RedisKeys(testPrefix("layout"));
let redis: Redis;

beforeAll(() => {
  redis = createRedis(url);
});
afterAll(async () => {
  redis.disconnect();
  await cleanupPrefix(keys.prefix, url);
});

async function keysInRedis(): Promise<string[]> {
  const found: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", `${keys.bullPrefix}*`, "COUNT", 1000);
    cursor = next;
    found.push(...batch);
  } while (cursor !== "0");
  return found.sort();
}

test("a job's life writes only keys RedisKeys spells, all under the prefix's hash tag", async () => {
  const store = new JobStore({ redis, keys, retentionSeconds: 60 });
  const parent = queuedJobView("job_layoutparent000000000000", "auto", new Date(), null);
  const child = queuedJobView("job_layoutchild0000000000000", "auto", new Date(), null);
  for (const v of [parent, child])
    expect(
      await store.create({
        view: v,
        tenantId: "ten_l",
        deploymentId: "dep_l",
        apiKeyId: null,
        idempotency: v === child ? { key: "idem-l", bodyHash: "h", ttlSeconds: 60 } : undefined,
      }),
    ).toEqual({ kind: "created" });
  await store.linkChildren(parent.id, [{ model: "m", job_id: child.id }]);
  // The child's event is copied to the parent's stream, which the script names from the child's.
  expect(await store.append(child.id, { type: "delta", data: { text: "hi" } })).not.toBeNull();

  expect(await keysInRedis()).toEqual(
    [
      keys.job(parent.id),
      keys.job(child.id),
      keys.events(parent.id),
      keys.events(child.id),
      keys.idempotency("ten_l", "idem-l"),
      keys.liveJobsBucket(1),
      keys.liveJobsOpenBucket(),
      keys.liveJobsBuckets(),
      keys.tenantJobsBucket("ten_l", 1),
      keys.tenantJobsOpenBucket("ten_l"),
      keys.eventNotices(),
    ].sort(),
  );
  expect(await redis.xlen(keys.events(parent.id))).toBe(1);
  expect(await redis.zrange(keys.liveJobsBucket(1), 0, -1)).toEqual(expect.arrayContaining([parent.id, child.id]));
  expect(await redis.zrange(keys.tenantJobsBucket("ten_l", 1), 0, -1)).toEqual(expect.arrayContaining([parent.id, child.id]));
});
