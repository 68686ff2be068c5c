import type { ModelCatalog } from "@switchyard/contracts";
import { createRedis, RedisKeys, type Redis } from "@switchyard/queue";
import { apiClient, startStack, writeTestCatalog, type Stack } from "@switchyard/testkit";

// Admission is one Redis script (idempotency claim, rate limits, budget reservation, job record
// and the fair gate's decision) and the enqueue one more (the BullMQ add, or the push onto a fair
// list): these tests pin both the round trips and what a refusal consumes.
type Json = Record<string, any>;
const entry = (id: string, price: number) => ({
  id,
  provider: "simulated" as const,
  upstream_model: id,
  tier: "flash" as const,
  capabilities: { vision: false, long_context: false },
  context_window: 32000,
  max_output_tokens: 1000,
  pricing: { input: price, output: price, cached_input: 0 },
  simulated: { ttft_ms: 5, tokens_per_second: 1000, failure_rate: 0 },
});
const CATALOG: ModelCatalog = { default_model: "sim-a", models: [entry("sim-a", 1), entry("sim-b", 2)] };

let s: Stack;
let admin: ReturnType<typeof apiClient>;
let redis: Redis;

async function tenantWithKey(name: string, deploymentPatch: Json, tenantPatch: Json = {}) {
  const t = (await admin.post<Json>("/admin/v1/tenants", { name })).body;
  if (Object.keys(tenantPatch).length) expect((await admin.call<Json>("PATCH", `/admin/v1/tenants/${t.id}`, { body: tenantPatch })).status).toBe(200);
  expect((await admin.call<Json>("PATCH", `/admin/v1/deployments/${t.default_deployment_id}`, { body: deploymentPatch })).status).toBe(200);
  const k = (await admin.post<Json>(`/admin/v1/tenants/${t.id}/api-keys`, { name: "k", scopes: ["jobs:write", "jobs:read", "usage:read"] })).body;
  return { deployment: t.default_deployment_id as string, client: apiClient(s.url, k.key) };
}

/** Top-level commands (not run inside a script) Redis received while `run` ran, as argument lists. */
async function topLevelCommands(run: () => Promise<void>): Promise<string[][]> {
  const mon = await (redis as Extract<Redis, { monitor: unknown }>).monitor();
  mon.on("error", () => undefined);
  const seen: string[][] = [];
  mon.on("monitor", (_t: string, args: string[], source: string) => {
    if (source !== "lua") seen.push(args.map(String));
  });
  try {
    await new Promise((r) => setTimeout(r, 50));
    await run();
    await new Promise((r) => setTimeout(r, 100));
  } finally {
    mon.disconnect();
  }
  return seen;
}

beforeAll(async () => {
  // Gateway only: nothing consumes the jobs, so every command seen is admission's. BullMQ's
  // dispatch target is set high, as with busy workers: a job goes straight to BullMQ unless its
  // deployment is at its max_concurrent_jobs (then it waits in its fair list).
  s = await startStack({ apps: ["gateway"], env: { MODEL_CATALOG_PATH: writeTestCatalog(CATALOG), FAIR_DISPATCH_AHEAD: "1000000" } });
  admin = apiClient(s.url, s.key);
  redis = createRedis(s.env.REDIS_URL!);
}, 60_000);
afterAll(async () => {
  redis?.disconnect();
  await s?.stop();
});

test.each([
  ["no budget", {}, {}],
  ["a deployment budget and a tenant budget", { budget: { period: "day", limit_usd: 100 } }, { budget: { period: "month", limit_usd: 1000 } }],
])("with %s, a submission costs two Redis round trips: the admission script and the BullMQ add", async (name, deploymentPatch, tenantPatch) => {
  const { client, deployment } = await tenantWithKey(`trips ${name}`, deploymentPatch, tenantPatch);
  const tag = name.replaceAll(" ", "-");
  await new Promise((r) => setTimeout(r, 1100));
  const body = (i: number) => ({ model: "auto", messages: [{ role: "user", content: `round trips ${i}` }], max_tokens: 8 });
  // Warm: budget periods are loaded from Postgres once, scripts are loaded into Redis.
  for (let i = 0; i < 3; i++) expect((await client.post<Json>("/v1/jobs", body(i), { "Idempotency-Key": `${tag}-warm-${i}` })).status).toBe(202);
  const jobs: { id: string; key: string }[] = [];
  const commands = await topLevelCommands(async () => {
    for (let i = 0; i < 5; i++) {
      const key = `${tag}-measured-${i}`;
      const res = await client.post<Json>("/v1/jobs", body(100 + i), { "Idempotency-Key": key });
      expect(res.status).toBe(202);
      jobs.push({ id: res.body.id, key });
    }
  });
  // Every command about these requests (naming the deployment, a job or an idempotency key) …
  const ours = commands.filter((args) => args.some((a) => a.includes(deployment) || jobs.some((j) => a.includes(j.id) || a.includes(j.key))));
  expect(ours.map((args) => `${args[0]!.toLowerCase()} ${args.slice(1, 4).join(" ").slice(0, 160)}`)).toHaveLength(10);
  expect(ours.map((args) => args[0]!.toLowerCase())).toEqual(Array.from({ length: 10 }, () => "evalsha"));
  // … is one job's admission (its id and idempotency key) or its enqueue (its id).
  for (const j of jobs) {
    const mine = ours.filter((args) => args.some((a) => a.includes(j.id)));
    expect(mine).toHaveLength(2);
    expect(mine[0]!.some((a) => a.includes(j.key))).toBe(true);
  }
  // All of them in BullMQ: the admission script's decision was "direct" every time.
  const bull = new RedisKeys(s.prefix).bullQueue("ai-route", "prioritized");
  for (const j of jobs) expect(await redis.zscore(bull, j.id)).not.toBeNull();
});

test("a job that must wait (its deployment at max_concurrent_jobs) costs two round trips too: the admission script, which decides, and the push onto its fair list", async () => {
  const { client, deployment } = await tenantWithKey("trips capped", { max_concurrent_jobs: 1 });
  await new Promise((r) => setTimeout(r, 1100));
  const body = (i: number) => ({ model: "auto", messages: [{ role: "user", content: `capped ${i}` }], max_tokens: 8 });
  // The first takes the deployment's one slot (straight to BullMQ); the next ones wait.
  for (let i = 0; i < 2; i++) expect((await client.post<Json>("/v1/jobs", body(i), { "Idempotency-Key": `capped-warm-${i}` })).status).toBe(202);
  const jobs: { id: string; key: string }[] = [];
  const commands = await topLevelCommands(async () => {
    for (let i = 0; i < 3; i++) {
      const key = `capped-measured-${i}`;
      const res = await client.post<Json>("/v1/jobs", body(100 + i), { "Idempotency-Key": key });
      expect(res.status).toBe(202);
      jobs.push({ id: res.body.id, key });
    }
  });
  const ours = commands.filter((args) => args.some((a) => a.includes(deployment) || jobs.some((j) => a.includes(j.id) || a.includes(j.key))));
  expect(ours.map((args) => args[0]!.toLowerCase())).toEqual(Array.from({ length: 6 }, () => "evalsha"));
  for (const j of jobs) {
    const mine = ours.filter((args) => args.some((a) => a.includes(j.id)));
    expect(mine).toHaveLength(2);
    expect(mine[0]!.some((a) => a.includes(j.key))).toBe(true);
  }
  // They wait in the fair list, in order, and not in BullMQ.
  const keys = new RedisKeys(s.prefix);
  const waiting = await redis.lrange(keys.fairList(deployment, "normal"), 0, -1);
  expect(waiting.map((e) => e.slice(0, e.indexOf("|"))).slice(-3)).toEqual(jobs.map((j) => j.id));
  for (const j of jobs) expect(await redis.zscore(keys.bullQueue("ai-route", "prioritized"), j.id)).toBeNull();
});

test("a request the budget refuses consumes none of the rate limit", async () => {
  const { client, deployment } = await tenantWithKey("refused", {
    budget: { period: "day", limit_usd: 0.000001 },
    rate_limits: { windows: [{ requests: 3, seconds: 600 }] },
  });
  await new Promise((r) => setTimeout(r, 1100));
  const body = { model: "sim-b", messages: [{ role: "user", content: "hello" }], max_tokens: 50 };
  for (let i = 0; i < 5; i++) {
    const res = await client.post<Json>("/v1/jobs", body);
    expect(res.status).toBe(402);
    expect(res.body.error.code).toBe("budget_exhausted");
  }
  // Lift the budget: all three requests of the window are still there.
  expect((await admin.call<Json>("PATCH", `/admin/v1/deployments/${deployment}`, { body: { budget: { period: "day", limit_usd: 100 } } })).status).toBe(200);
  await new Promise((r) => setTimeout(r, 1100));
  for (let i = 0; i < 3; i++) expect((await client.post<Json>("/v1/jobs", body)).status).toBe(202);
  const fourth = await client.post<Json>("/v1/jobs", body);
  expect(fourth.status).toBe(429);
  expect(fourth.body.error.code).toBe("rate_limited");
});

test("a request over tokens_per_request is a 400 naming the limit, on every admitting route, and consumes nothing", async () => {
  const { client, deployment } = await tenantWithKey("too large", {
    budget: { period: "day", limit_usd: 100 },
    rate_limits: { tokens_per_request: 200, windows: [{ requests: 3, seconds: 600 }] },
  });
  await new Promise((r) => setTimeout(r, 1100));
  // About 70 tokens of input plus 150 of output: over 200 by the exact count, not by bytes alone.
  const text = "hello ".repeat(60);
  const messages = [{ role: "user", content: text }];
  const sends: Array<[string, Json]> = [
    ["/v1/jobs", { model: "sim-b", messages, max_tokens: 150 }],
    ["/v1/chat/completions", { model: "sim-b", messages, max_tokens: 150 }],
    ["/v1/chat/completions", { model: "sim-b", messages, max_tokens: 150, stream: true }],
    ["/v1/responses", { model: "sim-b", input: text, max_output_tokens: 150 }],
  ];
  // Warm the deployment's budget periods first, so that a refusal that reached Redis would show.
  expect((await client.get<Json>("/v1/budgets")).status).toBe(200);
  const answers: Array<{ status: number; body: Json; headers: Headers; path: string }> = [];
  const commands = await topLevelCommands(async () => {
    for (let i = 0; i < 3; i++) for (const [path, body] of sends) answers.push({ ...(await client.post<Json>(path, body)), path });
  });
  for (const a of answers) {
    expect(a.status).toBe(400);
    // Each API names its own field: the Responses API's request carried `input`, the others `messages`.
    expect(a.body.error).toMatchObject({ type: "invalid_request_error", code: "request_too_large", param: a.path === "/v1/responses" ? "input" : "messages" });
    // The limit and the request's own count (input plus the 150 output tokens).
    expect(a.body.error.message).toMatch(/limit of 200 tokens per request \(tokens_per_request\)/);
    const needs = Number(/needs (\d+) tokens/.exec(a.body.error.message)?.[1]);
    expect(needs).toBeGreaterThan(200);
    expect(needs).toBeLessThan(240);
    expect(a.headers.get("retry-after")).toBeNull();
  }
  // Refused before the admission script: no Redis command names the deployment.
  expect(commands.filter((args) => args.some((a) => a.includes(deployment)))).toEqual([]);
  const budget = ((await client.get<Json>("/v1/budgets")).body.data as Json[]).find((b) => b.scope === "deployment" && b.id === deployment);
  expect(budget).toMatchObject({ reserved_usd: 0, reserved_tokens: 0, spent_usd: 0 });
  // Over by its bytes alone (checked before any tokenizer runs): the same 400, naming the message.
  const huge = await client.post<Json>("/v1/jobs", { model: "sim-b", messages: [{ role: "user", content: "x".repeat(200 * 128) }], max_tokens: 10 });
  expect(huge.status).toBe(400);
  expect(huge.body.error).toMatchObject({ type: "invalid_request_error", code: "request_too_large", param: "messages[0]" });
  expect(huge.body.error.message).toMatch(/limit of 200 tokens per request/);
  // All three requests of the window are still there.
  const fits = { model: "sim-b", messages, max_tokens: 50 };
  for (let i = 0; i < 3; i++) expect((await client.post<Json>("/v1/jobs", fits)).status).toBe(202);
  const fourth = await client.post<Json>("/v1/jobs", fits);
  expect(fourth.status).toBe(429);
  expect(fourth.body.error.code).toBe("rate_limited");
  expect(Number(fourth.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
});
