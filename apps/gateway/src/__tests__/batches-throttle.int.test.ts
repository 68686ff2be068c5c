import { createRedis, RedisKeys, ROUTE_PRIORITY, type Redis } from "@switchyard/queue";
import { createMetricsRegistry, type MetricsRegistry } from "@switchyard/telemetry";
import { startFakeOpenAI, startStack, oneOpenAIModelCatalog, writeTestCatalog, type FakeOpenAI, type Stack } from "@switchyard/testkit";
import OpenAI from "openai";
import { BatchThrottle } from "../services/batch-throttle";

/**
 * The batch runner's throttle (issue 18): batch work yields to interactive traffic.
 *   - BATCH_MAX_IN_FLIGHT caps the batch lines unfinished at once across all batches: two batches
 *     on a stack with BATCH_MAX_IN_FLIGHT=3 never have more than 3 lines submitted and not yet
 *     collected between them (sampled from Postgres while they run; a submitted line is an
 *     admitted job not yet seen ended, so unfinished jobs are at most that), and do reach 3;
 *   - the AIMD allowance halves while interactive jobs wait in `ai-route` (a job above `low`
 *     priority in BullMQ's prioritized set, or in a fair list), never below the floor, and grows
 *     by one per step when nothing waits, never above the ceiling; `ai_batch_admit_limit` shows it.
 */
const LINES = 12;
const CATALOG = oneOpenAIModelCatalog("up-a");

let fake: FakeOpenAI;
let s: Stack;
let redis: Redis;
let registry: MetricsRegistry;
beforeAll(async () => {
  // A few chunks 30 ms apart: a line takes ~150 ms, so lines overlap when the runner lets them.
  fake = await startFakeOpenAI({ reply: "one two three four five", chunkDelayMs: 30 });
  s = await startStack({
    env: {
      MODEL_CATALOG_PATH: writeTestCatalog(CATALOG),
      OPENAI_BASE_URL: fake.url,
      OPENAI_API_KEY: "sk-test",
      BATCH_POLL_MS: "50",
      BATCH_MAX_IN_FLIGHT: "3",
      BATCH_ADAPTIVE: "false",
      ROUTER_CONCURRENCY: "16",
      LOG_LEVEL: "error",
    },
  });
  redis = createRedis(s.env.REDIS_URL!);
  registry = createMetricsRegistry({ serviceName: "batches-throttle-test" });
}, 90_000);
afterAll(async () => {
  await registry?.shutdown();
  redis?.disconnect();
  await s?.stop();
  await fake?.close();
});

const submittedNow = async () =>
  Number(
    (
      await s.database.db
        .selectFrom("batch_lines")
        .select((e) => e.fn.countAll<string>().as("n"))
        .where("state", "=", "submitted")
        .executeTakeFirstOrThrow()
    ).n,
  );

test("BATCH_MAX_IN_FLIGHT=3: two batches never have more than 3 lines unfinished at once between them", async () => {
  const client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: s.key, maxRetries: 2 });
  const create = async (tag: string) => {
    const text =
      Array.from({ length: LINES }, (_, i) =>
        JSON.stringify({
          custom_id: `${tag}-${i}`,
          method: "POST",
          url: "/v1/chat/completions",
          body: { model: "up-a", messages: [{ role: "user", content: `${tag} ${i}` }], max_tokens: 8 },
        }),
      ).join("\n") + "\n";
    const file = await client.files.create({ file: new File([text], `${tag}.jsonl`), purpose: "batch" });
    return client.batches.create({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h" });
  };
  const [a, b] = await Promise.all([create("a"), create("b")]);
  let most = 0;
  let samples = 0;
  const ended = async (id: string) => ["completed", "failed", "expired", "cancelled"].includes((await client.batches.retrieve(id)).status);
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    most = Math.max(most, await submittedNow());
    samples++;
    if ((await ended(a.id)) && (await ended(b.id))) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  for (const id of [a.id, b.id]) {
    const done = await client.batches.retrieve(id);
    expect(done.status).toBe("completed");
    expect(done.request_counts).toMatchObject({ total: LINES, completed: LINES, failed: 0 });
  }
  expect(fake.requests.filter((r) => r.path.endsWith("/chat/completions"))).toHaveLength(2 * LINES);
  expect(samples).toBeGreaterThan(10);
  expect(most).toBeLessThanOrEqual(3);
  expect(most).toBe(3);
  const metrics = await (await fetch(`${s.url}/metrics`)).text();
  expect(metrics).toMatch(/^ai_batch_admit_limit 3$/m);
}, 90_000);

test("AIMD: the allowance halves while interactive jobs wait, to the floor, and grows by one per step when idle, to the ceiling", async () => {
  const keys = new RedisKeys(s.prefix);
  const t = new BatchThrottle({ db: s.database.db, redis, keys, registry }, { maxInFlight: 8, minInFlight: 2, adaptMs: 10, lagMs: 10_000 });
  try {
    expect(t.limit).toBe(2); // starts at the floor
    const step = async () => {
      await new Promise((r) => setTimeout(r, 15));
      await t.adapt();
    };
    for (let i = 0; i < 10; i++) await step();
    expect(t.limit).toBe(8); // +1 per idle step, capped at the ceiling
    // An interactive (normal priority) job waits in BullMQ's prioritized set; a batch (low) one does not count.
    const prioritized = keys.bullQueue("ai-route", "prioritized");
    await redis.zadd(prioritized, ROUTE_PRIORITY.low * 0x100000000 + 1, "batch-job");
    await step();
    expect(t.last.waiting).toBe(0);
    expect(t.limit).toBe(8);
    await redis.zadd(prioritized, ROUTE_PRIORITY.normal * 0x100000000 + 2, "interactive-job");
    await step();
    expect(t.last.waiting).toBe(1);
    expect(t.limit).toBe(4);
    await step();
    await step();
    expect(t.limit).toBe(2); // never below the floor
    await redis.zrem(prioritized, "interactive-job");
    // A job waiting in a deployment's high fair list is pressure too.
    await redis.sadd(keys.fairActive(), "dep-x");
    await redis.rpush(keys.fairList("dep-x", "high"), "entry");
    await step();
    expect(t.last.waiting).toBe(1);
    await redis.del(keys.fairList("dep-x", "high"), keys.fairActive(), prioritized);
    await step();
    expect(t.limit).toBe(3);
    // Interactive requests in flight on this gateway are pressure as well.
    t.noteInteractive(1);
    await step();
    expect(t.last.local).toBe(1);
    expect(t.limit).toBe(2);
    let metric = "";
    const res = { statusCode: 0, setHeader: () => undefined, end: (body: string) => void (metric = body) };
    await new Promise<void>((resolve) => {
      res.end = (body: string) => {
        metric = body;
        resolve();
      };
      registry.handler({ url: "/metrics", headers: {} } as never, res as never);
    });
    expect(metric).toMatch(/^ai_batch_admit_limit 2$/m);
  } finally {
    t.close();
  }
}, 30_000);
