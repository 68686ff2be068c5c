import type { ModelCatalog } from "@switchyard/contracts";
import { createRedis, RedisKeys } from "@switchyard/queue";
import { apiClient, startStack, writeTestCatalog, type SpawnedApp, type Stack } from "@switchyard/testkit";

type Json = Record<string, any>;
const CATALOG: ModelCatalog = {
  default_model: "sim",
  models: [
    {
      id: "sim",
      provider: "simulated",
      upstream_model: "sim",
      tier: "flash",
      capabilities: { vision: false, long_context: false },
      context_window: 32000,
      max_output_tokens: 1000,
      pricing: { input: 1, output: 1, cached_input: 0 },
      simulated: { ttft_ms: 20, tokens_per_second: 200, failure_rate: 0 },
    },
  ],
};
const JOBS = 300;

let s: Stack;
const workers: SpawnedApp[] = [];

beforeAll(async () => {
  s = await startStack({
    apps: ["gateway", "usage-aggregator"],
    env: { MODEL_CATALOG_PATH: writeTestCatalog(CATALOG), ROUTER_CONCURRENCY: "8", WORKER_LOCK_MS: "1500", LOG_LEVEL: "error" },
  });
  await s.spawn("gateway", {}, "gateway-2");
  for (const n of [1, 2, 3]) workers.push(await s.spawn("router-worker", {}, `worker-${n}`));
}, 90_000);
afterAll(async () => {
  await s?.stop();
});

const dequeued = async (w: SpawnedApp) =>
  Number(/ai_queue_dequeue_total\{queue="ai-route"\} (\d+)/.exec(await (await fetch(`http://127.0.0.1:${w.port}/metrics`)).text())?.[1] ?? 0);

test(`two gateways and three router-workers: ${JOBS} jobs spread over the workers, none lost when one is killed`, async () => {
  const gateways = [apiClient(s.url, s.key), apiClient(`http://127.0.0.1:${s.apps.get("gateway-2")!.port}`, s.key)];
  const ids: string[] = [];
  for (let i = 0; i < JOBS; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: 50 }, (_, k) =>
        gateways[(i + k) % 2]!.post<Json>("/v1/jobs", { messages: [{ role: "user", content: `scale ${i + k}` }], max_tokens: 10 }),
      ),
    );
    for (const r of batch) {
      expect(r.status).toBe(202);
      ids.push(r.body.id);
    }
  }
  // Kill one worker while the run is under way.
  await new Promise((r) => setTimeout(r, 500));
  const counts = await Promise.all(workers.map(dequeued));
  workers[0]!.kill("SIGKILL");
  await workers[0]!.exited;

  const redis = createRedis(s.env.REDIS_URL!);
  const keys = new RedisKeys(s.prefix);
  const deadline = Date.now() + 60_000;
  let statuses: (string | null)[] = [];
  while (Date.now() < deadline) {
    statuses = await Promise.all(ids.map((id) => redis.hget(keys.job(id), "status")));
    if (statuses.every((x) => x === "succeeded")) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  redis.disconnect();
  expect(statuses.filter((x) => x !== "succeeded")).toEqual([]);
  // Every worker took a share before the kill, and the survivors took the rest.
  expect(counts.every((n) => n > 0)).toBe(true);
  const survivors = await Promise.all(workers.slice(1).map(dequeued));
  expect(survivors.every((n) => n > 0)).toBe(true);
  expect(survivors.reduce((x, y) => x + y, 0) + counts[0]!).toBeGreaterThanOrEqual(JOBS);
}, 120_000);

test("a rate limit holds across both gateways", async () => {
  const admin = apiClient(s.url, s.key);
  const t = (await admin.post<Json>("/admin/v1/tenants", { name: "limited" })).body;
  await admin.call("PATCH", `/admin/v1/deployments/${t.default_deployment_id}`, { body: { rate_limits: { windows: [{ requests: 20, seconds: 30 }] } } });
  const key = (await admin.post<Json>(`/admin/v1/tenants/${t.id}/api-keys`, { name: "k", scopes: ["jobs:write"] })).body.key;
  await new Promise((r) => setTimeout(r, 1100));
  const gws = [apiClient(s.url, key), apiClient(`http://127.0.0.1:${s.apps.get("gateway-2")!.port}`, key)];
  const results = await Promise.all(
    Array.from({ length: 80 }, (_, i) => gws[i % 2]!.post<Json>("/v1/jobs", { messages: [{ role: "user", content: "x" }], max_tokens: 5 })),
  );
  expect(results.filter((r) => r.status === 202)).toHaveLength(20);
  expect(results.filter((r) => r.status === 429)).toHaveLength(60);
});
