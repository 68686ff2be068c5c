import { compareChildId, JobEvent, queuedJobView, type JobView } from "@switchyard/contracts";
import { createRedis, JobStore, RedisKeys, type Redis } from "@switchyard/queue";
import { createLogger } from "@switchyard/telemetry";
import { cleanupPrefix, testPrefix } from "@switchyard/testkit";
import { processCompareJob } from "./compare-job";

const url = process.env.TEST_REDIS_URL ?? process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const prefix = testPrefix("compare-job");
const keys = new RedisKeys(prefix);
let redis: Redis;
let store: JobStore;
const logger = createLogger({ name: "compare-job-test", level: "silent" });

beforeAll(() => {
  redis = createRedis(url);
  store = new JobStore({ redis, keys, retentionSeconds: 60 });
});
afterAll(async () => {
  redis.disconnect();
  await cleanupPrefix(prefix, url);
});

let seq = 0;
/** A comparison of `models` as admission leaves it: the parent and its children, linked. */
async function comparison(models: string[]) {
  const parentId = `job_cmpjob${String(++seq).padStart(16, "0")}`;
  const children = models.map((model, i) => ({ model, job_id: compareChildId(parentId, i) }));
  const own = { tenantId: "ten_a", deploymentId: "dep_a", apiKeyId: null };
  await store.create({ view: queuedJobView(parentId, "compare", new Date(), null), ...own });
  for (const c of children) await store.create({ view: queuedJobView(c.job_id, c.model, new Date(), null), ...own });
  await store.linkChildren(parentId, children);
  const payload = { job_id: parentId, tenant_id: "ten_a", deployment_id: "dep_a", api_key_id: null, children, created_at: new Date().toISOString(), trace: {} };
  return { parentId, children, payload };
}
const end = async (id: string, model: string, status: "succeeded" | "failed") => {
  const v: JobView = {
    ...queuedJobView(id, model, new Date(), null),
    status,
    started_at: new Date(Date.now() - 40).toISOString(),
    completed_at: new Date().toISOString(),
    ...(status === "succeeded"
      ? {
          output: { text: `answer of ${model}`, citations: [], finish_reason: "stop" },
          usage: { input_tokens: 2, output_tokens: 3, cost_usd: 0.001, provenance: "reported" as const },
        }
      : { error: { code: "provider_error", message: `${model} broke`, reason: "provider_error" } }),
  };
  await store.finish(
    v,
    status === "succeeded"
      ? { type: "done", data: { job: v } }
      : { type: "error", data: { code: "provider_error", message: `${model} broke`, reason: "provider_error" } },
  );
};
const parentEvents = async (id: string) => (await redis.xrange(keys.events(id), "-", "+")).map(([, f]) => JobEvent.parse(JSON.parse(f[1]!)));

test("ends the comparison with every model's answer and error, after the children's events, with one done", async () => {
  const c = await comparison(["a", "b"]);
  await end(c.children[0]!.job_id, "a", "succeeded");
  await end(c.children[1]!.job_id, "b", "failed");
  expect(await processCompareJob({ jobStore: store, logger }, c.payload, { attemptsMade: 0, opts: { attempts: 5 } })).toBe("succeeded");
  const parent = (await store.get(c.parentId))!;
  expect(parent.status).toBe("succeeded");
  expect(parent.view.comparison!.map((e) => [e.model, e.status, e.output?.text ?? null, e.error?.message ?? null])).toEqual([
    ["a", "succeeded", "answer of a", null],
    ["b", "failed", null, "b broke"],
  ]);
  expect(parent.view.comparison![0]!.latency_ms).toBeGreaterThanOrEqual(40);
  const evs = await parentEvents(c.parentId);
  expect(evs.map((e) => e.type)).toEqual(["status", "status", "done"]);
  // A redelivery changes nothing.
  expect(await processCompareJob({ jobStore: store, logger }, c.payload, { attemptsMade: 1, opts: { attempts: 5 } })).toBe("succeeded");
  expect(await parentEvents(c.parentId)).toHaveLength(3);
});

test("a child not yet ended is waited for through retries; the last try ends the comparison with it as it stands", async () => {
  const c = await comparison(["a", "b"]);
  await end(c.children[0]!.job_id, "a", "failed");
  await expect(processCompareJob({ jobStore: store, logger }, c.payload, { attemptsMade: 0, opts: { attempts: 3 } })).rejects.toThrow(/not ended yet/);
  expect((await store.get(c.parentId))!.status).toBe("queued");
  expect(await processCompareJob({ jobStore: store, logger }, c.payload, { attemptsMade: 2, opts: { attempts: 3 } })).toBe("failed");
  const parent = (await store.get(c.parentId))!;
  expect(parent.view.error).toMatchObject({ code: "compare_failed" });
  expect(parent.view.comparison!.map((e) => e.status)).toEqual(["failed", "queued"]);
  expect((await parentEvents(c.parentId)).at(-1)).toMatchObject({ type: "error", data: { code: "compare_failed", reason: "provider_error" } });
});

test("a comparison already ended (canceled) or gone is left as it is", async () => {
  const c = await comparison(["a", "b"]);
  const canceled: JobView = { ...(await store.get(c.parentId))!.view, status: "canceled", completed_at: new Date().toISOString() };
  await store.finish(canceled, { type: "error", data: { code: "canceled", message: "canceled", reason: "canceled" } });
  expect(await processCompareJob({ jobStore: store, logger }, c.payload, { attemptsMade: 0, opts: { attempts: 5 } })).toBe("canceled");
  expect(await processCompareJob({ jobStore: store, logger }, { ...c.payload, job_id: "job_gone0000000000" }, { attemptsMade: 0, opts: { attempts: 5 } })).toBe(
    "missing",
  );
});
