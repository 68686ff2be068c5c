import type { ApiErrorBody as ErrorBody, UsageDeadLetterList, UsageDeadLetterReplay, UsageDeadLetterView } from "@switchyard/contracts";
import { recordUsageDeadLetter } from "@switchyard/db";
import { createQueueSet, createRedis, RedisKeys, type QueueSet, type Redis } from "@switchyard/queue";
import { apiClient, startStack, writeTestCatalog, type Stack } from "@switchyard/testkit";

let s: Stack;
let a: ReturnType<typeof apiClient>;
let redis: Redis;
let queues: QueueSet;

// The gateway alone: nothing consumes ai-usage, so a replayed event stays in the queue to be read.
beforeAll(async () => {
  s = await startStack({ apps: ["gateway"], env: { MODEL_CATALOG_PATH: writeTestCatalog() } });
  a = apiClient(s.url, s.key);
  redis = createRedis(s.env.REDIS_URL!);
  queues = createQueueSet({ connection: redis, keys: new RedisKeys(s.prefix) });
}, 60_000);
afterAll(async () => {
  await queues?.close();
  redis?.disconnect();
  await s?.stop();
});

const NOW = "2026-11-20T10:00:00.000Z";
const event = (jobId: string, over: Record<string, unknown> = {}) => ({
  job_id: jobId,
  attempt: 1,
  tenant_id: "ten_demo",
  deployment_id: "dep_x",
  api_key_id: null,
  requested_model: "auto",
  served_model: "sim-fast",
  provider: "simulated",
  status: "succeeded",
  input_tokens: 10,
  output_tokens: 5,
  cached_tokens: 0,
  cost_usd: 0.001,
  provenance: "reported",
  ttft_ms: 5,
  latency_ms: 20,
  fallbacks: 0,
  features: [],
  rag: null,
  occurred_at: NOW,
  credits_tenant_id: null,
  job: null,
  ...over,
});
const record = (ev: unknown, reason: "data_error" | "invalid_payload" = "data_error", sqlstate: string | null = "22021") =>
  recordUsageDeadLetter(s.database.db, { event: ev, queueJobId: "u-q-1", reason, error: 'invalid byte sequence for encoding "UTF8": 0x00', sqlstate });
const audits = () => s.database.db.selectFrom("audit_log").selectAll().where("action", "=", "usage_dead_letter.replay").orderBy("id").execute();

test("list: newest first, with tenant, job, attempt, error, sqlstate, times and the event as received; pages with next_cursor", async () => {
  const first = await record(event("job_dl_list_1", { requested_model: "auto\u0000" }));
  const second = await record({ job_id: "job_dl_list_2", attempt: "one" }, "invalid_payload", null);
  const page = await a.get<UsageDeadLetterList>("/admin/v1/usage-dead-letters?limit=1");
  expect(page.status).toBe(200);
  expect(page.body).toMatchObject({ object: "list", has_more: true, next_cursor: second.id });
  expect(page.body.data).toEqual([
    expect.objectContaining({
      object: "usage_dead_letter",
      id: second.id,
      job_id: "job_dl_list_2",
      attempt: 0,
      tenant_id: null,
      reason: "invalid_payload",
      sqlstate: null,
      replayed_at: null,
      event: { job_id: "job_dl_list_2", attempt: "one" },
    }),
  ]);
  const next = await a.get<UsageDeadLetterList>(`/admin/v1/usage-dead-letters?limit=1&cursor=${page.body.next_cursor}`);
  const dl = next.body.data[0]!;
  expect(dl).toMatchObject({
    id: first.id,
    tenant_id: "ten_demo",
    job_id: "job_dl_list_1",
    attempt: 1,
    queue_job_id: "u-q-1",
    reason: "data_error",
    sqlstate: "22021",
    failures: 1,
    replayed_at: null,
  });
  expect(dl.error).toContain("invalid byte sequence");
  expect(new Date(dl.created_at).getTime()).toBeGreaterThan(Date.now() - 60_000);
  // The NUL comes back as it was received (JSON escapes it).
  expect((dl.event as { requested_model: string }).requested_model).toBe("auto\u0000");
  expect((await a.get<ErrorBody>("/admin/v1/usage-dead-letters?limit=0")).status).toBe(400);
  expect((await a.get<ErrorBody>("/admin/v1/usage-dead-letters?cursor=abc")).status).toBe(400);
  expect((await a.get<ErrorBody>("/admin/v1/usage-dead-letters?bogus=1")).status).toBe(400);
});

test("replay with sanitize re-enqueues the corrected event into ai-usage, marks it replayed and writes an audit row; a second replay is 409", async () => {
  const { id } = await record(event("job_dl_replay", { requested_model: "auto\u0000", job: null }));
  const auditsBefore = (await audits()).length;
  const r = await a.post<UsageDeadLetterReplay>(`/admin/v1/usage-dead-letters/${id}/replay`, { sanitize: true });
  expect(r.status).toBe(200);
  expect(r.body).toMatchObject({
    object: "usage_dead_letter_replay",
    queue_job_id: `u-dl-${id}-1`,
    sanitized: true,
    dead_letter: { id, replayed_at: expect.any(String) },
  });
  const job = await queues.queue("ai-usage").getJob(`u-dl-${id}-1`);
  expect(job?.data).toMatchObject({ job_id: "job_dl_replay", attempt: 1, requested_model: "auto" });
  const row = await s.database.db.selectFrom("usage_dead_letters").select("replayed_at").where("id", "=", id).executeTakeFirstOrThrow();
  expect(row.replayed_at).not.toBeNull();
  const log = await audits();
  expect(log.length).toBe(auditsBefore + 1);
  expect(log.at(-1)).toMatchObject({
    target_type: "usage_dead_letter",
    target_id: id,
    tenant_id: "ten_demo",
    actor_key_id: expect.any(String),
    after: expect.objectContaining({ job_id: "job_dl_replay", sanitized: true, queue_job_id: `u-dl-${id}-1` }),
  });

  const again = await a.post<ErrorBody>(`/admin/v1/usage-dead-letters/${id}/replay`, { sanitize: true });
  expect(again.status).toBe(409);
  expect(again.body.error).toMatchObject({ type: "conflict_error", code: "dead_letter_replayed" });
  expect((await audits()).length).toBe(auditsBefore + 1);
  expect(await queues.queue("ai-usage").getJobCountByTypes("waiting")).toBe(1);
});

test("unknown ids are 404; a stored event that is not a usage event is 422 and stays open; unknown body fields are 400", async () => {
  for (const id of ["999999999", "abc", "0"]) {
    const r = await a.post<ErrorBody>(`/admin/v1/usage-dead-letters/${id}/replay`, {});
    expect(r.status).toBe(404);
    expect(r.body.error).toMatchObject({ type: "not_found_error", code: "dead_letter_not_found" });
  }
  const { id } = await record({ job_id: "job_dl_bad", attempt: "one" }, "invalid_payload", null);
  const auditsBefore = (await audits()).length;
  const bad = await a.post<ErrorBody>(`/admin/v1/usage-dead-letters/${id}/replay`, { sanitize: true });
  expect(bad.status).toBe(422);
  expect(bad.body.error).toMatchObject({ code: "dead_letter_unreplayable", message: expect.stringContaining("attempt") });
  const row = await s.database.db.selectFrom("usage_dead_letters").select("replayed_at").where("id", "=", id).executeTakeFirstOrThrow();
  expect(row.replayed_at).toBeNull();
  expect((await audits()).length).toBe(auditsBefore);
  expect((await a.post<ErrorBody>(`/admin/v1/usage-dead-letters/${id}/replay`, { sanitise: true })).status).toBe(400);
});

test("a tenant key is 403 on both routes and replays nothing", async () => {
  const t = await a.post<{ id: string }>("/admin/v1/tenants", { name: "DL outsider" });
  const k = await a.post<{ key: string }>(`/admin/v1/tenants/${t.body.id}/api-keys`, {
    name: "tenant",
    scopes: ["jobs:write", "jobs:read", "usage:read", "reports:read"],
  });
  const { id } = await record(event("job_dl_forbidden"));
  const c = apiClient(s.url, k.body.key);
  const list = await c.get<ErrorBody>("/admin/v1/usage-dead-letters");
  expect(list.status).toBe(403);
  expect(list.body.error.type).toBe("permission_error");
  expect((await c.post<ErrorBody>(`/admin/v1/usage-dead-letters/${id}/replay`, { sanitize: true })).status).toBe(403);
  const rows = await a.get<UsageDeadLetterList>("/admin/v1/usage-dead-letters?replayed=false&limit=200");
  expect(rows.body.data.find((d: UsageDeadLetterView) => d.id === id)?.replayed_at).toBeNull();
});
