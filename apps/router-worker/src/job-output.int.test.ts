import type { JobView } from "@switchyard/contracts";
import { createRedis, JobStore, RedisKeys, type Redis } from "@switchyard/queue";
import { cleanupPrefix, testPrefix, TEST_REDIS_URL } from "@switchyard/testkit";
import { JobOutput } from "./job-output";

const prefix = testPrefix("jobout");
let redis: Redis;
let store: JobStore;

const view = (id: string): JobView => ({
  id,
  object: "job",
  status: "queued",
  model: "auto",
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

async function running(id: string): Promise<void> {
  await store.create({ view: view(id), tenantId: "ten_1", deploymentId: "dep_1", apiKeyId: null });
  await store.startAttempt(id);
  await store.beginRun(id, "m", 3);
}

beforeAll(() => {
  redis = createRedis(TEST_REDIS_URL);
  store = new JobStore({ redis, keys: new RedisKeys(prefix) });
});
afterAll(async () => {
  redis.disconnect();
  await cleanupPrefix(prefix);
});

test("tool-call fragments go to the event stream after the text, add to the run's tally, and a restart drops them", async () => {
  await running("job_t1");
  const out = new JobOutput(store, "job_t1");
  await out.delta("Let me check. ");
  await out.toolCall({ index: 0, id: "call_1", name: "get_weather", arguments: "" });
  await out.toolCall({ index: 0, arguments: '{"city":' });
  await out.toolCall({ index: 1, id: "call_2", name: "get_time", arguments: "{}" });
  await out.toolCall({ index: 0, arguments: '"Paris"}' });
  expect(out.toolCalls()).toEqual([
    { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
    { id: "call_2", type: "function", function: { name: "get_time", arguments: "{}" } },
  ]);
  const events = (await redis.xrange(new RedisKeys(prefix).events("job_t1"), "-", "+")).map(
    ([, f]) => JSON.parse(f[1]!) as { type: string; data: Record<string, unknown> },
  );
  expect(events.map((e) => e.type)).toEqual(["delta", "tool_call", "tool_call", "tool_call", "tool_call"]);
  expect(events[1]!.data).toEqual({ index: 0, id: "call_1", name: "get_weather", arguments: "" });
  expect(events[2]!.data).toEqual({ index: 0, arguments: '{"city":' });
  // The run's tally counts the text and every fragment's id, name and arguments (partial billing).
  const chars = "Let me check. ".length + "call_1get_weather".length + '{"city":'.length + "call_2get_time{}".length + '"Paris"}'.length;
  expect(await store.unbilledRun("job_t1")).toMatchObject({ chars });
  expect(out.billableText.length).toBe("Let me check. ".length + "get_weather".length + '{"city":"Paris"}'.length + "get_time{}".length);
  await out.restart("stream_retry");
  expect(out.toolCalls()).toEqual([]);
  expect(out.text).toBe("");
});

test("a run whose only output was tool calls still counts as begun: the next delivery announces a restart", async () => {
  await running("job_t2");
  const out = new JobOutput(store, "job_t2");
  await out.toolCall({ index: 0, id: "call_1", name: "f", arguments: "{}" });
  expect(out.begun).toBe(true);
  expect(await store.paidAttempts("job_t2")).toBe(1);
  const again = await store.startAttempt("job_t2");
  expect(again?.restarted).toBe(true);
});

test("a call whose fragments never named its function is malformed", async () => {
  await running("job_t3");
  const out = new JobOutput(store, "job_t3");
  await out.toolCall({ index: 0, arguments: "{}" });
  expect(out.toolCalls()).toBeNull();
});

test("held output is written only once its gate opens, in order; a gate that closes writes nothing and ends the output", async () => {
  await running("job_t4");
  const keys = new RedisKeys(prefix);
  const out = new JobOutput(store, "job_t4");
  let open!: (ok: boolean) => void;
  out.holdUntil(new Promise<boolean>((r) => (open = r)));
  const first = out.delta("one ");
  const second = out.delta("two");
  await new Promise((r) => setTimeout(r, 50));
  expect(await redis.xlen(keys.events("job_t4"))).toBe(0);
  open(true);
  expect(await Promise.all([first, second])).toEqual([true, true]);
  const texts = (await redis.xrange(keys.events("job_t4"), "-", "+")).map(([, f]) => (JSON.parse(f[1]!) as { data: { text: string } }).data.text);
  expect(texts).toEqual(["one ", "two"]);

  await running("job_t5");
  const shut = new JobOutput(store, "job_t5");
  shut.holdUntil(Promise.resolve(false));
  expect(await shut.delta("never")).toBe(false);
  expect(await shut.toolCall({ index: 0, id: "c", name: "f", arguments: "{}" })).toBe(false);
  expect(shut.live).toBe(false);
  expect(await redis.xlen(keys.events("job_t5"))).toBe(0);
  expect(await store.unbilledRun("job_t5")).toMatchObject({ chars: 0 });
});
