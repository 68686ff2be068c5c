import { createHmac, timingSafeEqual } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { alertJobId, periodKey } from "@switchyard/admission";
import type { ModelCatalog } from "@switchyard/contracts";
import { createQueueSet, createRedis, RedisKeys, type QueueSet, type Redis } from "@switchyard/queue";
import {
  apiClient,
  startFakeWebhook,
  startStack,
  waitFor,
  writeTestCatalog,
  TEST_REDIS_URL,
  type FakeWebhook,
  type Stack,
  type WebhookRequest,
} from "@switchyard/testkit";
import { sql } from "kysely";

const SECRET = "alerts-test-secret-0123456789abcdef";
// $250 per 1M tokens: a request of a few input tokens with max_tokens 10 reserves ~$0.004, so
// against a $0.10 budget each admission moves the used ratio by under 5 %: 80 and 90 % are
// reached by different jobs.
const CATALOG: ModelCatalog = {
  default_model: "sim-alert",
  models: [
    {
      id: "sim-alert",
      provider: "simulated",
      upstream_model: "sim-alert",
      tier: "flash",
      capabilities: { vision: false, long_context: false },
      context_window: 32000,
      max_output_tokens: 1000,
      pricing: { input: 250, output: 250, cached_input: 0 },
      simulated: { ttft_ms: 5, tokens_per_second: 2000, failure_rate: 0 },
    },
  ],
};
const JOB = { model: "sim-alert", messages: [{ role: "user", content: "alert me" }], max_tokens: 10 };

interface Tenant {
  id: string;
  default_deployment_id: string;
}
interface Created {
  id: string;
}
interface JobBody {
  status: string;
  usage: { cost_usd: number } | null;
}
interface Alert {
  alert_id: string;
  kind: string;
  tenant_id: string;
  subject: string;
  period: string;
  threshold: number;
  fired_at: string;
  used_ratio?: number;
  cost_usd?: number;
  threshold_usd?: number;
  day?: string;
}

let s: Stack;
let hook: FakeWebhook;
let admin: ReturnType<typeof apiClient>;
let redis: Redis;
let queues: QueueSet;

beforeAll(async () => {
  hook = await startFakeWebhook();
  s = await startStack({
    env: { MODEL_CATALOG_PATH: writeTestCatalog(CATALOG), ALERT_WEBHOOK_URL: hook.url, ALERT_WEBHOOK_SECRET: SECRET, USAGE_BATCH_WAIT_MS: "10" },
  });
  admin = apiClient(s.url, s.key);
  redis = createRedis(TEST_REDIS_URL);
  queues = createQueueSet({ connection: redis, keys: new RedisKeys(s.prefix) });
}, 60_000);
afterAll(async () => {
  await queues?.close();
  redis?.disconnect();
  await s?.stop();
  await hook?.close();
});

async function tenantWithKey(name: string, tenantPatch: Record<string, unknown>, deploymentPatch: Record<string, unknown>) {
  const t = (await admin.post<Tenant>("/admin/v1/tenants", { name, timezone: "UTC" })).body;
  if (Object.keys(tenantPatch).length) expect((await admin.call("PATCH", `/admin/v1/tenants/${t.id}`, { body: tenantPatch })).status).toBe(200);
  if (Object.keys(deploymentPatch).length)
    expect((await admin.call("PATCH", `/admin/v1/deployments/${t.default_deployment_id}`, { body: deploymentPatch })).status).toBe(200);
  const k = (await admin.post<{ key: string }>(`/admin/v1/tenants/${t.id}/api-keys`, { name: "k", scopes: ["jobs:write", "jobs:read"] })).body;
  await sleep(1100); // deployment settings reach the gateway within a second
  return { tenant: t.id, deployment: t.default_deployment_id, client: apiClient(s.url, k.key) };
}

/** The webhook requests about one subject, with their parsed bodies. */
const hooksFor = (subject: string): Array<WebhookRequest & { alert: Alert }> =>
  hook.requests.map((r) => ({ ...r, alert: JSON.parse(r.rawBody) as Alert })).filter((r) => r.alert.subject === subject);

function signatureValid(r: WebhookRequest): boolean {
  const ts = String(r.headers["x-switchyard-timestamp"] ?? "");
  const got = Buffer.from(String(r.headers["x-switchyard-signature"] ?? ""));
  const want = Buffer.from(`sha256=${createHmac("sha256", SECRET).update(`${ts}.${r.rawBody}`).digest("hex")}`);
  return /^\d+$/.test(ts) && Math.abs(Number(ts) * 1000 - r.receivedAt) < 60_000 && got.length === want.length && timingSafeEqual(got, want);
}

async function waitSucceeded(client: ReturnType<typeof apiClient>, ids: string[]): Promise<JobBody[]> {
  return waitFor(
    async () => {
      const jobs = await Promise.all(ids.map(async (id) => (await client.get<JobBody>(`/v1/jobs/${id}`)).body));
      return jobs.every((j) => j.status === "succeeded") ? jobs : undefined;
    },
    20_000,
    "jobs to succeed",
  );
}

/** Every usage row of the tenant written, and the alerts queue idle: nothing is still on its way. */
async function settled(tenant: string, jobs: number): Promise<void> {
  await waitFor(
    async () => {
      const r = await sql<{ n: number }>`SELECT count(*)::int AS n FROM usage_events WHERE tenant_id = ${tenant}`.execute(s.database.db);
      const busy = await queues.queue("ai-alerts").getJobCounts("waiting", "active", "delayed", "prioritized");
      return r.rows[0]!.n === jobs && Object.values(busy).every((n) => n === 0) ? true : undefined;
    },
    20_000,
    "usage rows and alert deliveries",
  );
  await sleep(400);
}

const alertRows = (kind: string, subject: string) =>
  s.database.db
    .selectFrom("alert_events")
    .select(["threshold", "period", "fired_at", sql<string>`payload->>'alert_id'`.as("alert_id")])
    .where("kind", "=", kind)
    .where("subject", "=", subject)
    .orderBy("threshold")
    .execute();
const auditRows = (alertIds: string[]) =>
  s.database.db.selectFrom("audit_log").selectAll().where("action", "=", "alert.fired").where("target_id", "in", alertIds).execute();

test("a $0.10 budget crossed job by job: one signed webhook per threshold, the 100 % alert queued before the first 402, none repeated", async () => {
  const { tenant, deployment, client } = await tenantWithKey("budgeted", {}, { budget: { period: "day", limit_usd: 0.1 } });
  const subject = `deployment:${deployment}`;
  const admitted: string[] = [];
  let first402: number | null = null;
  for (let i = 0; i < 60 && first402 === null; i++) {
    const r = await client.post<Created>("/v1/jobs", JOB);
    if (r.status === 402) {
      first402 = Date.now();
      // At the moment the 402 is back, the alert it explains must already be in the queue.
      const job = await queues
        .queue("ai-alerts")
        .getJob(alertJobId({ kind: "budget_threshold", subject, period: periodKey("day", "UTC", new Date()).key, threshold: 100 }));
      expect(job).toBeDefined();
      expect(job!.timestamp).toBeLessThanOrEqual(first402);
    } else {
      expect(r.status).toBe(202);
      admitted.push(r.body.id);
    }
  }
  expect(first402).not.toBeNull();
  expect(admitted.length).toBeGreaterThanOrEqual(15);

  // More traffic once every threshold is crossed: settled jobs free their reservations, so some
  // are admitted again, and every admission and settle re-checks the thresholds.
  await waitSucceeded(client, admitted);
  for (let i = 0; i < 5; i++) {
    const r = await client.post<Created>("/v1/jobs", JOB);
    if (r.status === 202) admitted.push(r.body.id);
  }
  await waitSucceeded(client, admitted);
  await settled(tenant, admitted.length);

  const got = hooksFor(subject);
  expect(got.map((r) => r.alert.threshold).sort((a, b) => a - b)).toEqual([80, 90, 100]);
  for (const r of got) {
    expect(r.status).toBe(200);
    expect(r.method).toBe("POST");
    expect(r.headers["content-type"]).toBe("application/json");
    expect(signatureValid(r)).toBe(true);
    expect(r.alert).toMatchObject({ kind: "budget_threshold", tenant_id: tenant, subject, period: periodKey("day", "UTC", new Date()).key });
  }
  const [a80, a90, a100] = [80, 90, 100].map((t) => got.find((r) => r.alert.threshold === t)!.alert);
  // Different jobs crossed 80 and 90 %: each alert saw a ratio below the next threshold.
  expect(a80!.used_ratio).toBeGreaterThanOrEqual(0.8);
  expect(a80!.used_ratio).toBeLessThan(0.9);
  expect(a90!.used_ratio).toBeGreaterThanOrEqual(0.9);
  expect(a90!.used_ratio).toBeLessThan(1);
  expect(Date.parse(a100!.fired_at)).toBeLessThanOrEqual(first402!);
  expect(Date.parse(a80!.fired_at)).toBeLessThanOrEqual(Date.parse(a90!.fired_at));

  const rows = await alertRows("budget_threshold", subject);
  expect(rows.map((r) => r.threshold)).toEqual([80, 90, 100]);
  expect(rows.map((r) => r.alert_id)).toEqual([a80!.alert_id, a90!.alert_id, a100!.alert_id]);
  expect(rows[2]!.fired_at.getTime()).toBeLessThanOrEqual(first402!);
  const audits = await auditRows(rows.map((r) => r.alert_id));
  expect(audits).toHaveLength(3);
  for (const a of audits) expect(a).toMatchObject({ actor_key_id: null, tenant_id: tenant, target_type: "alert" });

  const gatewayMetrics = await (await fetch(`${s.url}/metrics`)).text();
  const ratio = new RegExp(`budget_used_ratio\\{deployment="${deployment}"\\} ([0-9.e-]+)`).exec(gatewayMetrics);
  expect(Number(ratio?.[1])).toBeGreaterThanOrEqual(0.8);
  const aggMetrics = await (await fetch(`http://127.0.0.1:${s.apps.get("usage-aggregator")!.port}/metrics`)).text();
  for (const t of [80, 90, 100]) expect(aggMetrics).toMatch(new RegExp(`budget_alerts_total\\{kind="budget_threshold",threshold="${t}"\\} [1-9]`));
}, 60_000);

test("a webhook failing twice is retried with backoff until it answers 2xx; the alert is recorded once", async () => {
  hook.failNext(2);
  const { tenant, client } = await tenantWithKey("retried", { daily_cost_alert_usd: 0.000001 }, {});
  const subject = `tenant:${tenant}`;
  const job = (await client.post<Created>("/v1/jobs", JOB)).body.id;
  await waitSucceeded(client, [job]);
  const got = await waitFor(
    async () => (hooksFor(subject).some((r) => r.status === 200) ? hooksFor(subject) : undefined),
    30_000,
    "the webhook to get through",
  );
  expect(got.map((r) => r.status)).toEqual([500, 500, 200]);
  expect(new Set(got.map((r) => r.alert.alert_id)).size).toBe(1);
  expect(new Set(got.map((r) => r.rawBody)).size).toBe(1);
  for (const r of got) expect(signatureValid(r)).toBe(true);
  // BullMQ's exponential backoff from the catalog: 2 s, then 4 s.
  expect(got[1]!.receivedAt - got[0]!.receivedAt).toBeGreaterThanOrEqual(1500);
  expect(got[2]!.receivedAt - got[1]!.receivedAt).toBeGreaterThanOrEqual(3000);
  await settled(tenant, 1);
  expect(hooksFor(subject)).toHaveLength(3);
  const rows = await alertRows("daily_cost_exceeded", subject);
  expect(rows).toHaveLength(1);
  expect(rows[0]!.alert_id).toBe(got[0]!.alert.alert_id);
  expect(await auditRows([rows[0]!.alert_id])).toHaveLength(1);
}, 60_000);

test("the daily cost alert fires once, by the job that takes the tenant's day past its threshold", async () => {
  const { tenant, client } = await tenantWithKey("daily", {}, {});
  const subject = `tenant:${tenant}`;
  const run = async () => (await waitSucceeded(client, [(await client.post<Created>("/v1/jobs", JOB)).body.id]))[0]!;
  // Identical requests cost the same (the simulated answer is a function of the request).
  const cost = (await run()).usage!.cost_usd;
  expect(cost).toBeGreaterThan(0);
  const threshold = Math.round(cost * 2.5 * 1e6) / 1e6;
  expect((await admin.call("PATCH", `/admin/v1/tenants/${tenant}`, { body: { daily_cost_alert_usd: threshold } })).status).toBe(200);
  await run();
  await settled(tenant, 2);
  expect(hooksFor(subject)).toHaveLength(0); // 2 × cost is below 2.5 × cost
  await run();
  const [first] = await waitFor(async () => (hooksFor(subject).length ? hooksFor(subject) : undefined), 15_000, "the daily cost webhook");
  const day = new Date().toISOString().slice(0, 10);
  expect(first!.alert).toMatchObject({ kind: "daily_cost_exceeded", tenant_id: tenant, subject, period: day, day, threshold: 100, threshold_usd: threshold });
  expect(first!.alert.cost_usd).toBeCloseTo(3 * cost, 9);
  expect(signatureValid(first!)).toBe(true);
  await run();
  await run();
  await settled(tenant, 5);
  expect(hooksFor(subject)).toHaveLength(1);
  expect(await alertRows("daily_cost_exceeded", subject)).toHaveLength(1);
}, 60_000);
