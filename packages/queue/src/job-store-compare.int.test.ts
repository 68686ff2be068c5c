import { JobEvent, type JobView } from "@switchyard/contracts";
import { cleanupPrefix, testPrefix } from "@switchyard/testkit";
import { JobStore } from "./job-store";
import { RedisKeys } from "./keys";
import { createRedis, type Redis } from "./redis";

const url = process.env.TEST_REDIS_URL ?? process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const prefix = testPrefix("jobstore-compare");
const keys = new RedisKeys(prefix);
let redis: Redis;
let store: JobStore;

beforeAll(() => {
  redis = createRedis(url);
  store = new JobStore({ redis, keys, retentionSeconds: 60 });
});
afterAll(async () => {
  redis.disconnect();
  await cleanupPrefix(prefix, url);
});

let seq = 0;
const view = (id: string, model: string): JobView => ({
  id,
  object: "job",
  status: "queued",
  model,
  served_model: null,
  created_at: new Date().toISOString(),
  started_at: null,
  completed_at: null,
  output: null,
  usage: null,
  routing: { decision: null, fallbacks: [] },
  error: null,
  metadata: null,
});
const create = async (v: JobView) => expect(await store.create({ view: v, tenantId: "ten_a", deploymentId: "dep_a", apiKeyId: null })).toEqual({ kind: "created" });
const events = async (jobId: string) => (await redis.xrange(keys.events(jobId), "-", "+")).map(([, f]) => JobEvent.parse(JSON.parse(f[1]!)));
const noticesFor = async (jobId: string) => (await redis.xrange(keys.eventNotices(), "-", "+")).filter(([, f]) => f[1] === jobId).length;

test("a child's events are copied to its parent's stream with its model and id, in order; its end is a tagged status there", async () => {
  const parentId = `job_cmp${String(++seq).padStart(20, "0")}`;
  const a = view(`${parentId}c0`, "model-a");
  const b = view(`${parentId}c1`, "model-b");
  await create(view(parentId, "compare"));
  await create(a);
  await create(b);
  await store.linkChildren(parentId, [{ model: "model-a", job_id: a.id }, { model: "model-b", job_id: b.id }]);

  await store.transition({ ...a, status: "running" }, { type: "status", data: { status: "running", attempt: 1, served_model: "model-a" } });
  await store.append(a.id, { type: "delta", data: { text: "Hel" } });
  await store.append(b.id, { type: "delta", data: { text: "Bon" } });
  await store.append(a.id, { type: "restart", data: { reason: "stall_retry" } });
  await store.append(a.id, { type: "delta", data: { text: "Hello \"there\"" } });
  const usage = { input_tokens: 1, output_tokens: 2, cost_usd: 0.5, provenance: "reported" };
  const doneA: JobView = { ...a, status: "succeeded", completed_at: new Date().toISOString(), output: { text: "Hello", citations: [], finish_reason: "stop" } };
  expect((await store.finish(doneA, { type: "done", data: { job: doneA } }, undefined, { type: "usage", data: usage })).kind).toBe("finished");
  const failB: JobView = { ...b, status: "failed", completed_at: new Date().toISOString(), error: { code: "provider_error", message: "bad \"request\" / 400", reason: "provider_error" } };
  await store.finish(failB, { type: "error", data: { code: "provider_error", message: "bad \"request\" / 400", reason: "provider_error" } });

  // The children's own streams are untouched: no tags, their own terminal events.
  expect((await events(a.id)).map((e) => e.type)).toEqual(["status", "delta", "restart", "delta", "usage", "done"]);
  expect((await events(a.id))[1]!.data).toEqual({ text: "Hel" });
  const parent = await events(parentId);
  expect(parent.map((e) => [e.type, (e.data as { model?: string }).model])).toEqual([
    ["status", "model-a"],
    ["delta", "model-a"],
    ["delta", "model-b"],
    ["restart", "model-a"],
    ["delta", "model-a"],
    ["usage", "model-a"],
    ["status", "model-a"],
    ["status", "model-b"],
  ]);
  expect(parent[4]!.data).toEqual({ text: 'Hello "there"', model: "model-a", job_id: a.id });
  expect(parent[5]!.data).toEqual({ ...usage, model: "model-a", job_id: a.id });
  expect(parent[6]!.data).toEqual({ status: "succeeded", model: "model-a", job_id: a.id });
  expect(parent[7]!.data).toEqual({ status: "failed", model: "model-b", job_id: b.id, error: { code: "provider_error", message: 'bad "request" / 400', reason: "provider_error" } });
  // No child event is terminal in the parent's stream: the parent is still live, and followers were told of each copy.
  expect((await store.get(parentId))!.status).toBe("queued");
  expect(await noticesFor(parentId)).toBe(8);
});

test("a restart written when a child's delivery starts again reaches the parent tagged", async () => {
  const parentId = `job_cmp${String(++seq).padStart(20, "0")}`;
  const a = view(`${parentId}c0`, "model-a");
  await create(view(parentId, "compare"));
  await create(a);
  await store.linkChildren(parentId, [{ model: "model-a", job_id: a.id }]);
  await store.append(a.id, { type: "delta", data: { text: "partial" } });
  expect((await store.startAttempt(a.id))!.restarted).toBe(true);
  expect((await events(parentId)).map((e) => [e.type, e.data])).toEqual([
    ["delta", { text: "partial", model: "model-a", job_id: a.id }],
    ["restart", { reason: "retry", model: "model-a", job_id: a.id }],
  ]);
});

test("an ordinary job's hash gains no field and its events go nowhere else", async () => {
  const v = view(`job_plain${String(++seq).padStart(18, "0")}`, "model-a");
  await create(v);
  await store.append(v.id, { type: "delta", data: { text: "x" } });
  expect(await redis.hmget(keys.job(v.id), "p", "pt")).toEqual([null, null]);
  expect(await events(v.id)).toHaveLength(1);
});
