import type { ModelCatalog } from "@switchyard/contracts";
import { runStatuses } from "./run-statuses";
import { RedisKeys, createRedis } from "@switchyard/queue";
import {
  apiClient,
  readSse,
  startFakeOpenAI,
  startStack,
  startTcpProxy,
  writeTestCatalog,
  type FakeOpenAI,
  type Stack,
  type TcpProxy,
} from "@switchyard/testkit";

type Json = Record<string, any>;
const up = (id: string, tier: "lite" | "flash") => ({
  id,
  provider: "openai" as const,
  upstream_model: id,
  tier,
  capabilities: { vision: false, long_context: false },
  context_window: 128000,
  max_output_tokens: 4096,
  pricing: { input: 1, output: 1, cached_input: 0 },
});
// Only upstream models: while the upstream is down nothing can answer, so jobs must wait for it.
const CATALOG: ModelCatalog = { default_model: "up-a", models: [up("up-a", "flash"), up("up-b", "lite")] };
const JOBS = 500;
const BOUND = 3;

let fake: FakeOpenAI;
let proxy: TcpProxy;
let s: Stack;

beforeAll(async () => {
  fake = await startFakeOpenAI({ reply: "alpha beta gamma delta epsilon zeta eta theta iota kappa", chunkDelayMs: 15 });
  proxy = await startTcpProxy({ host: "127.0.0.1", port: Number(new URL(fake.url).port) });
  s = await startStack({
    env: {
      MODEL_CATALOG_PATH: writeTestCatalog(CATALOG),
      OPENAI_BASE_URL: `http://127.0.0.1:${proxy.port}/v1`,
      OPENAI_API_KEY: "sk-test",
      MAX_STARTED_ATTEMPTS: String(BOUND),
      BREAKER_MIN_VOLUME: "5",
      BREAKER_WINDOW_MS: "5000",
      BREAKER_OPEN_MS: "1000",
      PROVIDER_TIMEOUT_MS: "2000",
      STREAM_STALL_MS: "1000",
      LOG_LEVEL: "error",
    },
  });
}, 60_000);
afterAll(async () => {
  await s?.stop();
  await proxy?.close();
  await fake?.close();
});

test(`the upstream goes down for 5 s in the middle of a ${JOBS}-job run: every job completes, none runs more than ${BOUND} times`, async () => {
  const a = apiClient(s.url, s.key);
  const ids: string[] = [];
  for (let i = 0; i < JOBS; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, JOBS - i) }, (_, k) =>
        a.post<Json>("/v1/jobs", { model: "up-a", messages: [{ role: "user", content: `job ${i + k}` }] }),
      ),
    );
    for (const r of batch) {
      expect(r.status).toBe(202);
      ids.push(r.body.id);
    }
  }
  // Let part of the run finish, then take the upstream away for 5 s.
  const keys = new RedisKeys(s.prefix);
  const redis = createRedis(s.env.REDIS_URL!);
  const succeeded = async () => (await Promise.all(ids.map((id) => redis.hget(keys.job(id), "status")))).filter((x) => x === "succeeded").length;
  const t0 = Date.now();
  while ((await succeeded()) < JOBS / 5 && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 50));
  const doneBeforeOutage = await succeeded();
  expect(doneBeforeOutage).toBeLessThan(JOBS);
  await proxy.cut();
  let sawOpen = false;
  const outageEnds = Date.now() + 5000;
  while (Date.now() < outageEnds) {
    const h = (await a.get<Json>("/health/ai")).body;
    if (h.open?.length) sawOpen = true;
    await new Promise((r) => setTimeout(r, 250));
  }
  await proxy.restore();

  // Every job completes after recovery.
  const deadline = Date.now() + 90_000;
  let statuses: (string | null)[] = [];
  while (Date.now() < deadline) {
    statuses = await Promise.all(ids.map((id) => redis.hget(keys.job(id), "status")));
    if (statuses.every((x) => x === "succeeded" || x === "failed" || x === "incomplete" || x === "canceled")) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const counts = statuses.reduce<Record<string, number>>((m, x) => ({ ...m, [String(x)]: (m[String(x)] ?? 0) + 1 }), {});
  expect(counts).toEqual({ succeeded: JOBS });
  expect(sawOpen).toBe(true);
  // No job was paid for more often than the bound; the outage made many run more than once.
  const paid = (await Promise.all(ids.map((id) => redis.hget(keys.job(id), "paid_attempts")))).map(Number);
  expect(Math.max(...paid)).toBeLessThanOrEqual(BOUND);
  const counters = (await Promise.all(ids.map((id) => redis.hmget(keys.job(id), "runs", "waits")))).map(([r, w]) => ({ runs: Number(r), waits: Number(w) }));
  expect(counters.filter((c) => c.runs > 1).length).toBeGreaterThan(10);
  // Wake-ups that found every breaker open are waits, not attempts: a job that waited out the
  // outage and then ran once reports attempt 1 (runs: 1, waits: N), in its view and its events.
  const waited = ids.map((id, i) => ({ id, ...counters[i]! })).filter((c) => c.runs === 1 && c.waits >= 2);
  expect(waited.length).toBeGreaterThan(0);
  for (const c of waited.slice(0, 10)) {
    const job = (await a.get<Json>(`/v1/jobs/${c.id}`)).body;
    expect(job.attempts).toEqual({ runs: 1, waits: c.waits });
    const events = (await readSse(`${s.url}/v1/jobs/${c.id}/events`, { headers: { authorization: `Bearer ${s.key}` }, timeoutMs: 10_000 })).events;
    const statuses = runStatuses(events);
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.every((d) => d.attempt === 1 && d.waits === c.waits)).toBe(true);
  }
  redis.disconnect();
}, 180_000);
