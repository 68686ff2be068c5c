import { createQueueSet, createRedis, RedisKeys, type QueueSet, type Redis } from "@switchyard/queue";
import { apiClient, startFakeOpenAI, startStack, waitFor, oneOpenAIModelCatalog, writeTestCatalog, type FakeOpenAI, type Stack } from "@switchyard/testkit";

type Json = Record<string, any>;
const CATALOG = oneOpenAIModelCatalog("up-a", { input: 1, output: 1, cached_input: 0 });

let fake: FakeOpenAI;
let s: Stack;
let redis: Redis;
let queues: QueueSet;

beforeAll(async () => {
  // Every answer is a 400: each job ends failed on its first run.
  fake = await startFakeOpenAI({ mode: { kind: "error", status: 400 } });
  s = await startStack({
    apps: ["gateway", "usage-aggregator"],
    env: {
      MODEL_CATALOG_PATH: writeTestCatalog(CATALOG),
      OPENAI_BASE_URL: fake.url,
      OPENAI_API_KEY: "sk-test",
      WORKER_LOCK_MS: "1000",
      ROUTER_CONCURRENCY: "1",
      LOG_LEVEL: "error",
    },
  });
  redis = createRedis(s.env.REDIS_URL!);
  queues = createQueueSet({ connection: redis, keys: new RedisKeys(s.prefix) });
}, 60_000);
afterAll(async () => {
  await queues?.close();
  redis?.disconnect();
  await s?.stop();
  await fake?.close();
});

test("a worker killed right after writing a failed job's end: the next delivery fails the BullMQ job, calls nothing and bills once", async () => {
  const doomed = await s.spawn("router-worker", { SWITCHYARD_FAULT_POINTS: "finish.written:1" }, "doomed");
  const a = apiClient(s.url, s.key);
  const id = (await a.post<Json>("/v1/jobs", { model: "up-a", messages: [{ role: "user", content: "fail and crash" }] })).body.id as string;
  await Promise.race([doomed.exited, new Promise((_, reject) => setTimeout(() => reject(new Error("the worker did not die at finish.written")), 20_000))]);
  expect((await a.get<Json>(`/v1/jobs/${id}`)).body.status).toBe("failed");
  const q = queues.queue("ai-route");
  expect(await (await q.getJob(id))!.getState()).toBe("active");
  const calls = fake.requests.length;

  await s.spawn("router-worker", {}, "healthy");
  const bull = await waitFor(
    async () => {
      const j = await q.getJob(id);
      return j && (await j.getState()) === "failed" ? j : undefined;
    },
    20_000,
    "the redelivered job to be failed in BullMQ",
  );
  expect(bull.failedReason).toMatch(/^provider_error: /);
  expect(fake.requests.length).toBe(calls);
  // The usage event parked by the dead delivery is handed on once (keyed by job and attempt).
  const rows = await waitFor(
    async () => {
      const r = await s.database.db.selectFrom("usage_events").select(["attempt", "status"]).where("job_id", "=", id).execute();
      return r.length ? r : undefined;
    },
    20_000,
    "the usage row",
  );
  await new Promise((r) => setTimeout(r, 1000));
  expect(await s.database.db.selectFrom("usage_events").select(["attempt", "status"]).where("job_id", "=", id).execute()).toEqual(rows);
  expect(rows).toEqual([{ attempt: 1, status: "failed" }]);
}, 90_000);
