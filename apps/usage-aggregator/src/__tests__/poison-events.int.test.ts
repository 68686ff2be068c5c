import { queueCatalog, stripNul, UsageEvent, type JobView } from "@switchyard/contracts";
import { replayUsageDeadLetter, seedDemo } from "@switchyard/db";
import { createQueueSet, createRedis, RedisKeys, type QueueSet, type Redis } from "@switchyard/queue";
import {
  cleanupPrefix,
  createTestDatabase,
  startTcpProxy,
  testPrefix,
  TEST_REDIS_URL,
  waitFor,
  writeTestCatalog,
  type TcpProxy,
  type TestDatabase,
} from "@switchyard/testkit";
import { Queue } from "bullmq";
import { randomBytes } from "node:crypto";
import { sql } from "kysely";
import { startAggregator, type RunningAggregator } from "../aggregator";
import { loadEnv } from "../env";

let t: TestDatabase;
let proxy: TcpProxy;
let redis: Redis;
let queues: QueueSet;
/** BullMQ's own queue, for entries no producer could add (the set validates every add): old or corrupt ones. */
let rawUsage: Queue;
let agg: RunningAggregator | null = null;
const prefix = testPrefix("poison");
const NOW = new Date().toISOString();

const jobView = (id: string, metadata: Record<string, unknown> | null = null): JobView => ({
  id,
  object: "job",
  status: "succeeded",
  model: "auto",
  served_model: "sim-fast",
  created_at: NOW,
  started_at: NOW,
  completed_at: NOW,
  output: { text: "ok", citations: [], finish_reason: "stop" },
  usage: { input_tokens: 100, output_tokens: 50, cost_usd: 0.002, provenance: "reported" },
  routing: { decision: null, fallbacks: [] },
  error: null,
  metadata,
});

const usage = (jobId: string, tenantId: string, over: Partial<UsageEvent> = {}): UsageEvent =>
  UsageEvent.parse({
    job_id: jobId,
    attempt: 1,
    tenant_id: tenantId,
    deployment_id: `dep_${tenantId}`,
    api_key_id: null,
    requested_model: "auto",
    served_model: "sim-fast",
    provider: "simulated",
    status: "succeeded",
    input_tokens: 100,
    output_tokens: 50,
    cost_usd: 0.002,
    provenance: "reported",
    ttft_ms: 10,
    latency_ms: 40,
    occurred_at: NOW,
    credits_tenant_id: "ten_demo",
    job: jobView(jobId),
    ...over,
  });

/** Add a payload to `ai-usage` as it sits in Redis, past the producer's schema: an old or corrupt queue entry. */
const addRaw = (data: unknown, jobId: string) =>
  rawUsage.add("ai-usage", data, { jobId, attempts: queueCatalog["ai-usage"].retry.attempts, backoff: queueCatalog["ai-usage"].retry.backoff });

const ledgerRows = async (jobIds: string[]) =>
  jobIds.length
    ? Number(
        (
          await t.db
            .selectFrom("usage_events")
            .select(sql<string>`count(*)`.as("n"))
            .where("job_id", "in", jobIds)
            .executeTakeFirstOrThrow()
        ).n,
      )
    : 0;
const deadLetters = () => t.db.selectFrom("usage_dead_letters").selectAll().orderBy("id").execute();
/** `ai_usage_dead_letter_total` summed over its labels, from the aggregator's /metrics. */
const deadLetterMetric = async () => {
  const text = await (await fetch(`http://127.0.0.1:${agg!.metricsPort}/metrics`)).text();
  const lines = text.split("\n").filter((l) => l.startsWith("ai_usage_dead_letter_total"));
  expect(lines.length).toBeGreaterThan(0);
  return lines.reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
};

beforeAll(async () => {
  t = await createTestDatabase();
  await seedDemo(t.db);
  // The aggregator reaches Postgres through a proxy the test can cut (a transient outage).
  const pg = new URL(t.url);
  proxy = await startTcpProxy({ host: pg.hostname, port: Number(pg.port || 5432) });
  redis = createRedis(TEST_REDIS_URL);
  queues = createQueueSet({ connection: redis, keys: new RedisKeys(prefix) });
  rawUsage = new Queue("ai-usage", { connection: redis, prefix: new RedisKeys(prefix).bullPrefix });
}, 60_000);

afterAll(async () => {
  await agg?.close();
  await queues?.close();
  await rawUsage?.close();
  redis?.disconnect();
  await proxy?.close();
  await t?.drop();
  await cleanupPrefix(prefix);
});

/** The aggregator of this file, started on first use (each test can run alone). */
async function start(): Promise<RunningAggregator> {
  if (agg) return agg;
  const viaProxy = new URL(t.url);
  viaProxy.hostname = "127.0.0.1";
  viaProxy.port = String(proxy.port);
  agg = await startAggregator(
    loadEnv({
      DATABASE_URL: viaProxy.toString(),
      REDIS_URL: TEST_REDIS_URL,
      SWITCHYARD_PREFIX: prefix,
      METRICS_PORT: "0",
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
      MODEL_CATALOG_PATH: writeTestCatalog(),
    }),
  );
  return agg;
}

test("one tenant's poisoned event arriving with 30 others: the 30 are billed at once, the poisoned one is dead-lettered, and a corrected replay bills it once", async () => {
  const good = Array.from({ length: 30 }, (_, i) => usage(`job_good_${i}_${randomBytes(3).toString("hex")}`, `ten_good_${i}`));
  const poisonId = `job_poison_${randomBytes(3).toString("hex")}`;
  // NULs, valid JSON and valid for the schema: the job's metadata holds "a\u0000b" (which jsonb
  // refuses unless the writer replaces it) and its requested model "auto\u0000" (a text column:
  // Postgres refuses the byte outright).
  const poisoned = { ...usage(poisonId, "ten_poison", { requested_model: "auto\u0000" }), job: jobView(poisonId, { note: "a\u0000b" }) };
  // Everything waits in the queue before the aggregator starts, so they meet in one batch.
  await addRaw(poisoned, `u-${poisonId}-1`);
  await queues.enqueueBulk(
    "ai-usage",
    good.map((e) => ({ payload: e, opts: { jobId: `u-${e.job_id}-1`, attempts: 20 } })),
  );
  const t0 = Date.now();
  await start();

  const ids = good.map((e) => e.job_id);
  await waitFor(async () => ((await ledgerRows(ids)) === 30 ? true : undefined), 5_000, "the 30 good events in the ledger");
  expect(Date.now() - t0).toBeLessThan(5_000);
  // Each on its first try: none was failed (and made to wait for a retry) by the poisoned one. A
  // job is acknowledged just after its batch commits, so wait (bounded) until all 30 are completed.
  const jobs = () => Promise.all(good.map((e) => queues.queue("ai-usage").getJob(`u-${e.job_id}-1`)));
  await waitFor(
    async () => ((await Promise.all((await jobs()).map(async (j) => j?.getState()))).every((st) => st === "completed") ? true : undefined),
    5_000,
    "the 30 good jobs completed",
  );
  expect((await jobs()).map((j) => j?.attemptsMade)).toEqual(good.map(() => 1));
  // With their rollups, finished jobs and credit debits.
  const roll = await t.db.selectFrom("usage_daily").select(["tenant_id", "requests", "input_tokens"]).where("tenant_id", "like", "ten_good_%").execute();
  expect(roll).toHaveLength(30);
  expect(roll.every((r) => Number(r.requests) === 1 && Number(r.input_tokens) === 100)).toBe(true);
  expect(
    Number(
      (
        await t.db
          .selectFrom("jobs")
          .select(sql<string>`count(*)`.as("n"))
          .where("id", "in", ids)
          .executeTakeFirstOrThrow()
      ).n,
    ),
  ).toBe(30);
  const debits = async (jobIds: string[]) =>
    Number(
      (
        await t.db
          .selectFrom("credit_ledger")
          .select(sql<string>`count(*)`.as("n"))
          .where("job_id", "in", jobIds)
          .executeTakeFirstOrThrow()
      ).n,
    );
  expect(await debits(ids)).toBe(30);

  // The poisoned one: set aside with Postgres's reason, its queue job acknowledged, not retried.
  const [dl] = await waitFor(async () => ((await deadLetters()).length === 1 ? deadLetters() : undefined), 5_000, "the dead letter");
  expect(dl).toMatchObject({
    job_id: poisonId,
    attempt: 1,
    tenant_id: "ten_poison",
    queue_job_id: `u-${poisonId}-1`,
    reason: "data_error",
    sqlstate: "22021",
    failures: 1,
    replayed_at: null,
  });
  expect(dl!.error).toMatch(/invalid byte sequence/i);
  // Stored as received: the JSON text keeps the NUL (escaped), so nothing is lost.
  expect(JSON.parse(dl!.event)).toMatchObject({ requested_model: "auto\u0000", job: { metadata: { note: "a\u0000b" } } });
  await waitFor(
    async () => ((await queues.queue("ai-usage").getJobState(`u-${poisonId}-1`)) === "completed" ? true : undefined),
    5_000,
    "the poisoned job acknowledged",
  );
  expect(await ledgerRows([poisonId])).toBe(0);
  expect(await deadLetterMetric()).toBe(1);

  // Replay, corrected (NULs stripped), as the admin route does: billed once, with its rollup and debit.
  const replay = async () =>
    replayUsageDeadLetter(t.db, String(dl!.id), { keyId: null }, async (view) => {
      const job = await queues.enqueue("ai-usage", UsageEvent.parse(stripNul(view.event)), { jobId: `u-dl-${view.id}-${view.failures}` });
      return { queue_job_id: job.id ?? "", sanitized: true };
    });
  expect((await replay()).status).toBe("replayed");
  await waitFor(async () => ((await ledgerRows([poisonId])) === 1 ? true : undefined), 10_000, "the replayed event in the ledger");
  // A second replay is refused; a re-delivery of the corrected event changes nothing.
  expect((await replay()).status).toBe("already_replayed");
  await queues.enqueue("ai-usage", UsageEvent.parse(stripNul(JSON.parse(dl!.event))), { jobId: "redelivered-corrected" });
  await waitFor(
    async () => ((await queues.queue("ai-usage").getJobState("redelivered-corrected")) === "completed" ? true : undefined),
    10_000,
    "the re-delivery",
  );
  expect(await ledgerRows([poisonId])).toBe(1);
  expect(await debits([poisonId])).toBe(1);
  const pr = await t.db.selectFrom("usage_daily").selectAll().where("tenant_id", "=", "ten_poison").execute();
  expect(pr.map((r) => Number(r.requests))).toEqual([1]);
  expect((await t.db.selectFrom("jobs").select("metadata").where("id", "=", poisonId).executeTakeFirstOrThrow()).metadata).toEqual({ note: "ab" });
  expect((await t.db.selectFrom("usage_events").select("requested_model").where("job_id", "=", poisonId).executeTakeFirstOrThrow()).requested_model).toBe(
    "auto",
  );
  expect((await deadLetters())[0]!.replayed_at).not.toBeNull();
  expect(await deadLetterMetric()).toBe(1);
}, 60_000);

test("other unstorable values and an unparseable payload are each set aside; the good events beside them are written", async () => {
  await start();
  const metricBefore = await deadLetterMetric();
  const tag = randomBytes(3).toString("hex");
  const good = Array.from({ length: 5 }, (_, i) => usage(`job_ok_${tag}_${i}`, `ten_ok_${i}`, { credits_tenant_id: null }));
  const bad: Array<[string, unknown]> = [
    [`job_cost_${tag}`, usage(`job_cost_${tag}`, "ten_bad", { cost_usd: 1e12, credits_tenant_id: null })], // numeric(18,9) overflow
    [`job_tokens_${tag}`, usage(`job_tokens_${tag}`, "ten_bad", { input_tokens: 3_000_000_000, credits_tenant_id: null })], // integer overflow
    [`job_debit_${tag}`, usage(`job_debit_${tag}`, "ten_bad", { credits_tenant_id: "ten_nobody" })], // a debit for a tenant that does not exist
    [`job_when_${tag}`, usage(`job_when_${tag}`, "ten_bad", { occurred_at: "not a date" })],
  ];
  const longId = `job_long_${randomBytes(6000).toString("hex")}`; // past the btree's row size
  bad.push([longId, usage(longId, "ten_bad", { job: null, credits_tenant_id: null })]);
  await rawUsage.addBulk([
    ...bad.map(([id, data]) => ({ name: "ai-usage", data, opts: { jobId: `bad-${id.slice(0, 40)}`, attempts: 20 } })),
    ...good.map((e) => ({ name: "ai-usage", data: e, opts: { jobId: `ok-${e.job_id}`, attempts: 20 } })),
  ]);
  await addRaw({ job_id: `job_unparseable_${tag}`, attempt: "one", tenant_id: "ten_bad" }, `bad-unparseable-${tag}`);

  await waitFor(async () => ((await ledgerRows(good.map((e) => e.job_id))) === 5 ? true : undefined), 10_000, "the good events");
  const rows = await waitFor(
    async () => {
      const all = (await deadLetters()).filter((d) => d.tenant_id === "ten_bad");
      return all.length === 6 ? all : undefined;
    },
    10_000,
    "six dead letters",
  );
  const byJob = new Map(rows.map((r) => [r.job_id.startsWith("job_long_") ? "long" : r.job_id, r]));
  expect(byJob.get(`job_cost_${tag}`)).toMatchObject({ reason: "data_error", sqlstate: "22003" });
  expect(byJob.get(`job_tokens_${tag}`)).toMatchObject({ reason: "data_error", sqlstate: "22003" });
  expect(byJob.get(`job_debit_${tag}`)).toMatchObject({ reason: "data_error", sqlstate: "23503" });
  expect(byJob.get(`job_when_${tag}`)).toMatchObject({ reason: "data_error", sqlstate: null, error: expect.stringContaining("Invalid time value") });
  expect(byJob.get("long")).toMatchObject({ reason: "data_error", sqlstate: "54000" });
  expect(byJob.get("long")!.job_id.length).toBeLessThanOrEqual(200);
  expect(JSON.parse(byJob.get("long")!.event)).toMatchObject({ job_id: longId });
  expect(byJob.get(`job_unparseable_${tag}`)).toMatchObject({
    reason: "invalid_payload",
    attempt: 0,
    sqlstate: null,
    error: expect.stringContaining("attempt"),
  });
  expect(await ledgerRows(bad.map(([id]) => id).filter((id) => id !== longId))).toBe(0);
  // The unparseable payload is failed by BullMQ without retries; the others are acknowledged.
  expect(await queues.queue("ai-usage").getJobState(`bad-unparseable-${tag}`)).toBe("failed");
  expect(await queues.queue("ai-usage").getJobState(`bad-job_cost_${tag}`)).toBe("completed");
  expect(await deadLetterMetric()).toBe(metricBefore + 6);
}, 60_000);

test("a Postgres outage (connection refused) dead-letters nothing: the events wait and are written when it is back", async () => {
  await start();
  const before = (await deadLetters()).length;
  const metricBefore = await deadLetterMetric();
  const tag = randomBytes(3).toString("hex");
  const events = Array.from({ length: 10 }, (_, i) => usage(`job_outage_${tag}_${i}`, `ten_outage_${i}`));
  await proxy.cut();
  for (const e of events) await queues.enqueue("ai-usage", e, { jobId: `u-${e.job_id}-1` });
  // Several failed tries while Postgres is unreachable.
  await waitFor(
    async () =>
      (await Promise.all(events.map((e) => queues.queue("ai-usage").getJob(`u-${e.job_id}-1`)))).every((j) => (j?.attemptsMade ?? 0) >= 2) ? true : undefined,
    15_000,
    "the events retrying",
  );
  await new Promise((r) => setTimeout(r, 2_500));
  expect(await ledgerRows(events.map((e) => e.job_id))).toBe(0);
  expect((await deadLetters()).length).toBe(before);
  await proxy.restore();
  await waitFor(async () => ((await ledgerRows(events.map((e) => e.job_id))) === 10 ? true : undefined), 30_000, "the events after the outage");
  expect((await deadLetters()).length).toBe(before);
  expect(await deadLetterMetric()).toBe(metricBefore);
}, 60_000);

test("connections killed mid-write (what a Postgres restart does, 57P01) while Postgres stays reachable: retried, nothing dead-lettered", async () => {
  await start();
  const before = (await deadLetters()).length;
  const metricBefore = await deadLetterMetric();
  const tag = randomBytes(3).toString("hex");
  const events = Array.from({ length: 10 }, (_, i) => usage(`job_killed_${tag}_${i}`, `ten_killed_${i}`));
  let killed = 0;
  // Hold the rollups table so each ledger write blocks halfway, and terminate every backend that
  // waits on it, for 3 s. Postgres itself answers all along: a dead letter could be written, so
  // only the classification keeps these good events out of usage_dead_letters.
  await t.db.transaction().execute(async (trx) => {
    await sql`LOCK TABLE usage_daily IN EXCLUSIVE MODE`.execute(trx);
    for (const e of events) await queues.enqueue("ai-usage", e, { jobId: `u-${e.job_id}-1` });
    const until = Date.now() + 3_000;
    while (Date.now() < until) {
      const r = await sql<{
        ok: boolean;
      }>`SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`.execute(
        t.db,
      );
      killed += r.rows.filter((x) => x.ok).length;
      await new Promise((res) => setTimeout(res, 50));
    }
  });
  expect(killed).toBeGreaterThan(1);
  await waitFor(async () => ((await ledgerRows(events.map((e) => e.job_id))) === 10 ? true : undefined), 30_000, "the events after the kills");
  expect((await deadLetters()).length).toBe(before);
  expect(await deadLetterMetric()).toBe(metricBefore);
  // Written once each, rollups included.
  const roll = await t.db.selectFrom("usage_daily").select("requests").where("tenant_id", "like", "ten_killed_%").execute();
  expect(roll.map((r) => Number(r.requests))).toEqual(events.map(() => 1));
}, 60_000);
