import { UsageEvent } from "@switchyard/contracts";
import { addDays, createTenant, getDailyReport, ingestUsageEvents, UsagePartitions } from "@switchyard/db";
import { createQueueSet, createRedis, RedisKeys, type QueueSet, type Redis } from "@switchyard/queue";
import { createLogger } from "@switchyard/telemetry";
import { cleanupPrefix, createTestDatabase, testPrefix, TEST_REDIS_URL, waitFor, type TestDatabase } from "@switchyard/testkit";
import { DAILY_REPORTS_SCHEDULER_ID, generateReportsNow, startReportsWorker, type RunningReportsWorker } from "../reports-scheduler";

const prefix = testPrefix("reports");
const keys = new RedisKeys(prefix);
const logger = createLogger({ name: "reports-test", level: "silent" });
let t: TestDatabase;
let redis: Redis;
let queues: QueueSet;
let running: RunningReportsWorker | undefined;

const yesterday = () => addDays(new Date().toISOString().slice(0, 10), -1);
const usage = (tenant_id: string, occurred_at: string, cost_usd: number) =>
  UsageEvent.parse({
    job_id: `job_${tenant_id}_${occurred_at.slice(0, 10)}`,
    attempt: 1,
    tenant_id,
    deployment_id: `dep_${tenant_id}`,
    api_key_id: null,
    requested_model: "auto",
    served_model: "flash",
    provider: "simulated",
    status: "succeeded",
    input_tokens: 3,
    output_tokens: 2,
    cost_usd,
    provenance: "reported",
    ttft_ms: null,
    latency_ms: 40,
    occurred_at,
  });

beforeAll(async () => {
  t = await createTestDatabase();
  redis = createRedis(TEST_REDIS_URL);
  queues = createQueueSet({ connection: redis, keys });
  for (const id of ["ten_one", "ten_two"]) await createTenant(t.db, { id, name: id, timezone: "UTC", billing_mode: "postpaid" }, { keyId: null });
  await t.db.updateTable("tenants").set({ created_at: "2026-01-01T00:00:00Z" }).execute();
  const events = [usage("ten_one", "2026-03-10T10:00:00.000Z", 0.25), usage("ten_one", `${yesterday()}T10:00:00.000Z`, 0.125)];
  await new UsagePartitions(t.db).ensureFor(events.map((e) => e.occurred_at));
  await ingestUsageEvents(t.db, events);
}, 60_000);
afterAll(async () => {
  await running?.close();
  await queues?.close();
  redis?.disconnect();
  await t?.drop();
  await cleanupPrefix(prefix);
});

const reportCount = async (date: string) => (await t.db.selectFrom("daily_reports").select("tenant_id").where("date", "=", date).execute()).length;

test("registers one daily 01:00 UTC scheduler, however many workers start", async () => {
  running = await startReportsWorker({ db: t.db, queues, keys, connection: redis, logger });
  const second = await startReportsWorker({ db: t.db, queues, keys, connection: redis, logger });
  await second.close();
  const queue = queues.queue("ai-reports");
  expect(await queue.getJobSchedulersCount()).toBe(1);
  const s = await queue.getJobScheduler(DAILY_REPORTS_SCHEDULER_ID);
  expect(s).toMatchObject({ pattern: "0 1 * * *", tz: "UTC" });
  const next = Number(s?.next);
  expect(next % 86_400_000).toBe(3_600_000);
  expect(next - Date.now()).toBeGreaterThan(0);
  expect(next - Date.now()).toBeLessThanOrEqual(86_400_000);
});

test("generateReportsNow builds that day's reports for every tenant; running it again rewrites the same rows", async () => {
  await generateReportsNow(queues, "2026-03-10");
  await waitFor(async () => ((await reportCount("2026-03-10")) === 2 ? true : undefined), 10_000, "two reports");
  expect((await getDailyReport(t.db, "ten_one", "2026-03-10"))?.report.totals).toEqual({
    total_requests: 1,
    total_tokens: 5,
    total_cost: 0.25,
    avg_error_rate: 0,
  });
  expect((await getDailyReport(t.db, "ten_two", "2026-03-10"))?.report.deployments).toEqual([]);
  const first = (await getDailyReport(t.db, "ten_one", "2026-03-10"))!.generatedAt.getTime();
  await generateReportsNow(queues, "2026-03-10", { tenantId: "ten_one" });
  await waitFor(
    async () => ((await getDailyReport(t.db, "ten_one", "2026-03-10"))!.generatedAt.getTime() > first ? true : undefined),
    10_000,
    "a second generation",
  );
  expect(await reportCount("2026-03-10")).toBe(2);
  await expect(generateReportsNow(queues, "2026-02-30")).rejects.toThrow(RangeError);
});

test("a job naming a day that doesn't exist fails at once, without retries", async () => {
  const job = await queues.enqueue("ai-reports", { date: "2026-02-30" });
  const queue = queues.queue("ai-reports");
  await waitFor(async () => ((await queue.getJobState(job.id!)) === "failed" ? true : undefined), 10_000, "the job to fail");
  const failed = await queue.getJob(job.id!);
  expect(failed?.attemptsStarted).toBe(1);
  expect(failed?.opts.attempts).toBe(5);
  expect(failed?.failedReason).toMatch(/2026-02-30 is not a calendar day/);
});

test("a scheduled job (no date) reports the UTC day before it was due", async () => {
  await running?.close();
  // The same scheduler id, firing every second: the jobs it makes carry no date.
  running = await startReportsWorker({ db: t.db, queues, keys, connection: redis, logger, pattern: "* * * * * *" });
  const day = yesterday();
  await waitFor(async () => ((await reportCount(day)) === 2 ? true : undefined), 15_000, `reports for ${day}`);
  expect((await getDailyReport(t.db, "ten_one", day))?.report.totals.total_cost).toBe(0.125);
  await queues.queue("ai-reports").removeJobScheduler(DAILY_REPORTS_SCHEDULER_ID);
});
