import { apiClient, readSse, startRedisCluster, startStack, TEST_CATALOG, waitFor, writeTestCatalog, type RedisCluster, type Stack } from "@switchyard/testkit";

/**
 * 20 s before its first token: while it waits no delta is written, so nothing but the cancel
 * message (Redis pub/sub) can tell the worker to stop.
 */
const GLACIAL = {
  ...TEST_CATALOG.models.find((m) => m.id === "sim-slow")!,
  id: "sim-glacial",
  upstream_model: "sim-glacial",
  simulated: { ttft_ms: 20_000, tokens_per_second: 2, failure_rate: 0 },
};

/**
 * The whole system on a real three-master Redis Cluster (REDIS_URL=redis-cluster://…): jobs,
 * idempotency, SSE, cancel over pub/sub, a RAG flow, rate limits and readiness, with every key in
 * the one hash slot of the `{prefix}` tag.
 */
type Json = Record<string, any>;
let cluster: RedisCluster;
let s: Stack;
let a: ReturnType<typeof apiClient>;

beforeAll(async () => {
  cluster = await startRedisCluster(3);
  s = await startStack({
    apps: ["gateway", "rag-worker", "router-worker", "usage-aggregator"],
    env: { REDIS_URL: cluster.url, MODEL_CATALOG_PATH: writeTestCatalog({ ...TEST_CATALOG, models: [...TEST_CATALOG.models, GLACIAL] }) },
  });
  a = apiClient(s.url, s.key);
}, 120_000);
afterAll(async () => {
  await s?.stop();
  await cluster?.close();
});

const finished = (id: string) =>
  waitFor(
    async () => {
      const r = await a.get<Json>(`/v1/jobs/${id}`);
      return ["succeeded", "failed", "canceled", "incomplete"].includes(r.body.status) ? r.body : undefined;
    },
    30_000,
    `job ${id} to finish`,
  );

test("every process is ready against the cluster", async () => {
  // `/health` answers before the cluster client has found every master (a loaded machine can
  // take a while): readiness must come, within a bound.
  const ready = await waitFor(
    async () => {
      const r = await a.get<Json>("/health/ready");
      return r.body.ready ? r.body : undefined;
    },
    15_000,
    "the gateway's /health/ready",
  );
  expect(ready).toMatchObject({ ready: true, checks: { redis: { ok: true } } });
  for (const app of ["rag-worker", "router-worker", "usage-aggregator"]) {
    const r = await fetch(`http://127.0.0.1:${s.apps.get(app)!.port}/health/ready`);
    expect({ app, status: r.status }).toEqual({ app, status: 200 });
  }
});

test("40 jobs (5 of them one idempotent request) run to the end once each, with their usage in Postgres", async () => {
  const plain = Array.from({ length: 35 }, (_, i) =>
    a.post<Json>("/v1/jobs", { model: "sim-fast", messages: [{ role: "user", content: `cluster job ${i}` }], max_tokens: 8 }),
  );
  const same = Array.from({ length: 5 }, () =>
    a.post<Json>("/v1/jobs", { model: "sim-fast", messages: [{ role: "user", content: "once" }], max_tokens: 8 }, { "Idempotency-Key": "cluster-once" }),
  );
  const all = await Promise.all([...plain, ...same]);
  for (const r of all) expect([200, 202]).toContain(r.status);
  const ids = new Set(all.map((r) => r.body.id as string));
  expect(ids.size).toBe(36);
  for (const id of ids) expect((await finished(id)).status).toBe("succeeded");
  const rows = await waitFor(
    async () => {
      const n = (
        await s.database.db
          .selectFrom("usage_events")
          .select("job_id")
          .where("job_id", "in", [...ids])
          .execute()
      ).length;
      return n >= 36 ? n : undefined;
    },
    30_000,
    "36 usage rows",
  );
  expect(rows).toBe(36);
});

test("SSE streams a job to its done event; a cancel reaches the worker over the cluster's pub/sub", async () => {
  const r = await a.post<Json>("/v1/jobs", { model: "sim-fast", messages: [{ role: "user", content: "stream over the cluster" }], max_tokens: 16 });
  const sse = await readSse(`${s.url}/v1/jobs/${r.body.id}/events`, { headers: { authorization: `Bearer ${s.key}` }, timeoutMs: 30_000 });
  expect(sse.status).toBe(200);
  expect(sse.events.map((e) => e.event)).toContain("delta");
  expect(sse.events.at(-1)?.event).toBe("done");

  const slow = await a.post<Json>("/v1/jobs", { model: "sim-glacial", messages: [{ role: "user", content: "a long answer please" }], max_tokens: 400 });
  await waitFor(async () => ((await a.get<Json>(`/v1/jobs/${slow.body.id}`)).body.status === "running" ? true : undefined), 15_000, "the slow job to run");
  const started = Date.now();
  expect((await a.post<Json>(`/v1/jobs/${slow.body.id}/cancel`)).status).toBe(200);
  expect((await finished(slow.body.id)).status).toBe("canceled");
  // The worker heard the cancel (pub/sub) and stopped the provider call: its usage row arrives long
  // before the first token would have, with no output.
  const usage = await waitFor(
    async () => s.database.db.selectFrom("usage_events").select(["status", "output_tokens"]).where("job_id", "=", slow.body.id).executeTakeFirst(),
    15_000,
    "the canceled job's usage row",
  );
  expect(Date.now() - started).toBeLessThan(5_000);
  expect(usage.status).toBe("canceled");
  expect(usage.output_tokens).toBe(0);
});

test("a RAG job runs as a flow (retrieval child, route parent) on the cluster and cites its source", async () => {
  expect(
    (
      await a.post<Json>("/v1/collections/docs/documents", {
        id: "c1",
        title: "Opening hours",
        text: "The Leeds shop opens at nine and closes at half past five.",
      })
    ).status,
  ).toBe(202);
  await waitFor(async () => ((await a.get<Json>("/v1/collections/docs/documents/c1")).body.status === "indexed" ? true : undefined), 30_000, "indexing");
  const r = await a.post<Json>("/v1/jobs", {
    model: "sim-fast",
    messages: [{ role: "user", content: "When does the Leeds shop open?" }],
    max_tokens: 8,
    rag: { collection: "docs" },
  });
  const job = await finished(r.body.id);
  expect(job.status).toBe("succeeded");
  expect(job.output.citations.map((c: Json) => c.document_id)).toContain("c1");
});

test("rate limits hold on the cluster, and every Switchyard and BullMQ key sits in the prefix's one slot", async () => {
  const dep = await s.database.db.selectFrom("deployments").select("id").executeTakeFirstOrThrow();
  await s.database.db
    .updateTable("deployments")
    .set({ rate_limits: JSON.stringify({ requests_per_minute: 3 }) })
    .where("id", "=", dep.id)
    .execute();
  await new Promise((r) => setTimeout(r, 1100)); // the gateway caches deployment settings for a second
  const codes = [];
  for (let i = 0; i < 6; i++)
    codes.push((await a.post<Json>("/v1/jobs", { model: "sim-fast", messages: [{ role: "user", content: `limited ${i}` }], max_tokens: 4 })).status);
  expect(codes.filter((c) => c === 202).length).toBeLessThanOrEqual(3);
  expect(codes.filter((c) => c === 429).length).toBeGreaterThanOrEqual(3);

  // The node that owns the prefix's slot holds every key; the other two hold none.
  const slot = Number((await cluster.cli("CLUSTER", "KEYSLOT", `{${s.prefix}}`)).trim());
  const sizes = await Promise.all(cluster.ports.map(async (p) => Number((await cluster.node(p, "DBSIZE")).trim())));
  const owner = sizes.findIndex((n) => n > 0);
  expect(sizes.filter((n) => n > 0)).toHaveLength(1);
  // (Jobs still settling add and expire keys, so counts are compared loosely.)
  expect(Number((await cluster.node(cluster.ports[owner]!, "CLUSTER", "COUNTKEYSINSLOT", String(slot))).trim())).toBeGreaterThan(50);
  const keys = (await cluster.node(cluster.ports[owner]!, "--scan")).trim().split("\n").filter(Boolean);
  expect(keys.length).toBeGreaterThan(50);
  for (const k of keys) expect(k.startsWith(`{${s.prefix}}:`)).toBe(true);

  // BullMQ's worker count works on a cluster too.
  const metrics = await (await fetch(`${s.url}/metrics`)).text();
  expect(Number(/ai_queue_workers\{queue="ai-route"\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
});
