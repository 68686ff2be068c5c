import type { JobView } from "@switchyard/contracts";
import { cleanupPrefix, testPrefix } from "@switchyard/testkit";
import { JobStore } from "./job-store";
import { RedisKeys } from "./keys";
import { createRedis, type Redis } from "./redis";
import { TENANT_JOB_BUCKET_SIZE, TenantJobIndex } from "./tenant-job-index";

const url = process.env.TEST_REDIS_URL ?? process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const prefix = testPrefix("tenantjobs");
const keys = new RedisKeys(prefix);
let redis: Redis;
let store: JobStore;
let index: TenantJobIndex;

beforeAll(() => {
  redis = createRedis(url);
  store = new JobStore({ redis, keys, retentionSeconds: 60 });
  index = new TenantJobIndex(redis, keys);
});
afterAll(async () => {
  redis.disconnect();
  await cleanupPrefix(prefix, url);
});

let seq = 0;
const create = async (tenantId: string, createdAt: number): Promise<string> => {
  const id = `job_ti${String(++seq).padStart(24, "0")}`;
  const view = {
    id,
    object: "job",
    status: "queued",
    model: "auto",
    served_model: null,
    created_at: new Date(createdAt).toISOString(),
    started_at: null,
    completed_at: null,
    output: null,
    usage: null,
    routing: { decision: null, fallbacks: [] },
    error: null,
    metadata: null,
  } as JobView;
  expect(await store.create({ view, tenantId, deploymentId: "dep", apiKeyId: null })).toEqual({ kind: "created" });
  return id;
};
const readAll = async (tenantId: string, maxMs: number | null = null, minMs: number | null = null) =>
  (await index.read(tenantId, { fromBucket: null, maxMs, minMs, want: 1_000_000 })).entries;

describe("tenant job index (CREATE_JOB adds each job to its tenant's index)", () => {
  it("holds each tenant's own jobs, in listpack buckets with a TTL, readable newest bucket first within a time range", async () => {
    const t0 = Date.now();
    const a: string[] = [];
    for (let i = 0; i < TENANT_JOB_BUCKET_SIZE + 5; i++) a.push(await create("ten_x", t0 + i));
    const b = await create("ten_y", t0);

    const all = await readAll("ten_x");
    expect(all.map((e) => e.id).sort()).toEqual([...a].sort());
    expect(all[0]).toEqual({ id: a.at(-1), createdMs: t0 + TENANT_JOB_BUCKET_SIZE + 4, bucket: 2 }); // newest bucket first
    expect((await readAll("ten_y")).map((e) => e.id)).toEqual([b]);

    const base = keys.tenantJobs("ten_x");
    expect(await redis.get(`${base}:open`)).toBe("2");
    expect(await redis.zcard(`${base}:1`)).toBe(TENANT_JOB_BUCKET_SIZE);
    expect(await redis.object("ENCODING", `${base}:1`)).toBe("listpack");
    // Kept for the job retention (60 s here) plus an hour, from the last add.
    const ttl = await redis.pttl(`${base}:2`);
    expect(ttl).toBeGreaterThan(3_600_000);
    expect(ttl).toBeLessThanOrEqual(3_660_000);

    const range = await readAll("ten_x", t0 + 10, t0 + 5);
    expect(range.map((e) => e.createdMs).sort((p, q) => p - q)).toEqual([5, 6, 7, 8, 9, 10].map((d) => t0 + d));
  });

  it("reads at least `want` entries and one bucket more, and goes on from that bucket (read again)", async () => {
    const t0 = Date.now();
    for (let i = 0; i < 3 * TENANT_JOB_BUCKET_SIZE; i++) await create("ten_w", t0 + i);
    const first = await index.read("ten_w", { fromBucket: null, maxMs: null, minMs: null, want: 10 });
    expect(first.entries).toHaveLength(2 * TENANT_JOB_BUCKET_SIZE);
    expect(new Set(first.entries.map((e) => e.bucket))).toEqual(new Set([3, 2]));
    expect(first.next).toBe(2);
    const second = await index.read("ten_w", { fromBucket: first.next, maxMs: null, minMs: null, want: 10 });
    expect(second.next).toBe(1);
    const last = await index.read("ten_w", { fromBucket: second.next, maxMs: null, minMs: null, want: 10 });
    expect(last.entries).toHaveLength(TENANT_JOB_BUCKET_SIZE);
    expect(Math.max(...last.entries.map((e) => e.createdMs))).toBe(t0 + TENANT_JOB_BUCKET_SIZE - 1);
    expect(last.next).toBeNull();
    // A bucket past the open one starts at the open one; a range's start ends the walk at the first bucket older than it.
    expect((await index.read("ten_w", { fromBucket: 99, maxMs: null, minMs: null, want: 1 })).next).toBe(2);
    const recent = await index.read("ten_w", { fromBucket: null, maxMs: null, minMs: t0 + 2 * TENANT_JOB_BUCKET_SIZE + 100, want: 1000 });
    expect(recent.entries).toHaveLength(TENANT_JOB_BUCKET_SIZE - 100);
    expect(recent.next).toBeNull();
  });

  it("is trimmed a bucket at a time: the walk ends at the first bucket gone (expired), the counter stays", async () => {
    const t0 = Date.now();
    const ids: string[] = [];
    for (let i = 0; i < 2 * TENANT_JOB_BUCKET_SIZE + 1; i++) ids.push(await create("ten_z", t0 + i));
    const base = keys.tenantJobs("ten_z");
    expect(await redis.pttl(`${base}:open`)).toBe(-1); // no TTL: bucket numbers never repeat
    await redis.del(`${base}:1`); // what its TTL does, keep after its last add
    const left = (await readAll("ten_z")).map((e) => e.id).sort();
    expect(left).toEqual(ids.slice(TENANT_JOB_BUCKET_SIZE).sort());
  });

  it("an unknown tenant has an empty index", async () => {
    expect(await index.read("ten_none", { fromBucket: null, maxMs: null, minMs: null, want: 5 })).toEqual({ entries: [], next: null });
  });
});
