import { queuedJobView, type JobView } from "@switchyard/contracts";
import { saveFinishedJobs } from "@switchyard/db";
import { createRedis, JobStore, RedisKeys, TENANT_JOB_BUCKET_SIZE, type Redis } from "@switchyard/queue";
import { apiClient, startStack, TEST_REDIS_URL, waitFor, writeTestCatalog, type Stack } from "@switchyard/testkit";
import { JOB_LIST_SCAN_BUDGET } from "../services/job-list";

/**
 * `GET /v1/jobs` on the real gateway and workers: jobs submitted through the API (ended, so in
 * Redis and in Postgres), jobs still waiting (Redis alone: written with the same CREATE_JOB script
 * but never enqueued, so no worker takes them) and jobs past Redis retention (Postgres alone).
 */
type Json = Record<string, any>;
type Client = ReturnType<typeof apiClient>;
let s: Stack;
let redis: Redis;
let store: JobStore;
let admin: Client;

beforeAll(async () => {
  s = await startStack({ env: { MODEL_CATALOG_PATH: writeTestCatalog() } });
  admin = apiClient(s.url, s.key);
  redis = createRedis(TEST_REDIS_URL);
  store = new JobStore({ redis, keys: new RedisKeys(s.prefix) });
}, 90_000);
afterAll(async () => {
  redis?.disconnect();
  await s?.stop();
});

async function tenant(name: string, scopes = ["jobs:write", "jobs:read"]): Promise<{ id: string; deployment: string; client: Client }> {
  const t = (await admin.post<Json>("/admin/v1/tenants", { name })).body;
  const k = (await admin.post<Json>(`/admin/v1/tenants/${t.id}/api-keys`, { name: "k", scopes })).body;
  return { id: t.id, deployment: t.default_deployment_id, client: apiClient(s.url, k.key) };
}

let seq = 0;
/** A job view as admission first writes it, with `over` applied. */
const view = (over: Partial<JobView> & { created_at: string }): JobView => ({
  ...queuedJobView(`job_${Date.now().toString(36)}list${String(++seq).padStart(6, "0")}`, "auto", new Date(over.created_at), null),
  ...over,
});

/** A waiting job, in Redis only. */
async function waiting(t: { id: string; deployment: string }, createdAt: Date, model = "auto"): Promise<JobView> {
  const v = view({ created_at: createdAt.toISOString(), model });
  expect(await store.create({ view: v, tenantId: t.id, deploymentId: t.deployment, apiKeyId: null })).toEqual({ kind: "created" });
  return v;
}

/** Finished jobs past Redis retention: in Postgres only. */
async function stored(t: { id: string; deployment: string }, views: JobView[]): Promise<void> {
  await saveFinishedJobs(
    s.database.db,
    views.map((v) => ({ view: v, tenant_id: t.id, deployment_id: t.deployment, api_key_id: null })),
  );
}

const ended = (createdAt: Date, status: JobView["status"], served: string): JobView =>
  view({
    created_at: createdAt.toISOString(),
    status,
    model: "auto",
    served_model: served,
    started_at: createdAt.toISOString(),
    completed_at: new Date(createdAt.getTime() + 1000).toISOString(),
  });

async function allPages(client: Client, query: string): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const r: { status: number; body: Json } = await client.get<Json>(`/v1/jobs?${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    expect(r.status).toBe(200);
    pages++;
    ids.push(...r.body.data.map((j: Json) => j.id));
    expect(r.body.has_more).toBe(r.body.next_cursor !== null);
    cursor = r.body.next_cursor;
  } while (cursor && pages < 100);
  return { ids, pages };
}

describe("GET /v1/jobs", () => {
  let a: Awaited<ReturnType<typeof tenant>>;
  let submitted: string[];
  let live: JobView[];
  let old: JobView[];

  beforeAll(async () => {
    a = await tenant("List A");
    submitted = [];
    for (const content of ["one", "two", "three"]) {
      const r = await a.client.post<Json>("/v1/jobs", { model: "sim-fast", messages: [{ role: "user", content }], max_tokens: 8 });
      expect(r.status).toBe(202);
      submitted.push(r.body.id);
    }
    // Ended and stored by the aggregator: in Postgres and (for the retention) in Redis too.
    await waitFor(
      async () => {
        const rows = await s.database.db.selectFrom("jobs").select("id").where("id", "in", submitted).execute();
        return rows.length === submitted.length ? true : undefined;
      },
      30_000,
      "the submitted jobs to be stored",
    );
    const now = Date.now();
    live = [await waiting(a, new Date(now + 1000), "sim-b"), await waiting(a, new Date(now + 2000))];
    const day = 24 * 3600 * 1000;
    old = [
      ended(new Date(now - 3 * day), "succeeded", "sim-fast"),
      ended(new Date(now - 2 * day), "failed", "sim-b"),
      ended(new Date(now - 2 * day + 5), "canceled", "sim-lite"),
    ];
    await stored(a, old);
  }, 60_000);

  test("the tenant's jobs newest first: waiting ones from Redis, ended ones once each, old ones from Postgres", async () => {
    const r = await a.client.get<Json>("/v1/jobs");
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ object: "list", has_more: false, next_cursor: null });
    const ids = r.body.data.map((j: Json) => j.id);
    expect(ids).toEqual([live[1]!.id, live[0]!.id, ...[...submitted].reverse(), old[2]!.id, old[1]!.id, old[0]!.id]);
    const byId = new Map<string, Json>(r.body.data.map((j: Json) => [j.id, j]));
    expect(byId.get(live[0]!.id)).toMatchObject({ object: "job", status: "queued", model: "sim-b" });
    for (const id of submitted) expect(byId.get(id)).toMatchObject({ status: "succeeded", model: "sim-fast", served_model: "sim-fast" });
    expect(byId.get(old[1]!.id)).toMatchObject({ status: "failed", served_model: "sim-b" });
    // Each is the job as GET /v1/jobs/{id} shows it.
    expect(byId.get(submitted[0]!)).toEqual((await a.client.get<Json>(`/v1/jobs/${submitted[0]}`)).body);
  });

  test("pages of `limit` with next_cursor walk the same list, each job once", async () => {
    const whole = (await a.client.get<Json>("/v1/jobs?limit=100")).body.data.map((j: Json) => j.id);
    const paged = await allPages(a.client, "limit=3");
    expect(paged.ids).toEqual(whole);
    expect(paged.pages).toBe(3);
    const first = await a.client.get<Json>("/v1/jobs?limit=2");
    expect(first.body.data).toHaveLength(2);
    expect(first.body.has_more).toBe(true);
    expect(typeof first.body.next_cursor).toBe("string");
  });

  test("filters: status, model (requested or served), since (inclusive) and until (exclusive)", async () => {
    const ids = async (q: string) => (await a.client.get<Json>(`/v1/jobs?${q}`)).body.data.map((j: Json) => j.id);
    expect(await ids("status=queued")).toEqual([live[1]!.id, live[0]!.id]);
    expect(await ids("status=failed")).toEqual([old[1]!.id]);
    expect(await ids("status=running")).toEqual([]);
    expect(await ids("model=sim-b")).toEqual([live[0]!.id, old[1]!.id]); // requested sim-b; served sim-b
    expect(await ids("model=sim-fast")).toEqual([...[...submitted].reverse(), old[0]!.id]);
    expect(await ids(`since=${old[1]!.created_at}&until=${old[2]!.created_at}`)).toEqual([old[1]!.id]);
    expect(await ids(`since=${encodeURIComponent(live[0]!.created_at)}`)).toEqual([live[1]!.id, live[0]!.id]);
    expect(await ids(`until=${old[2]!.created_at}&status=succeeded`)).toEqual([old[0]!.id]);
  });

  test("Postgres is the truth for a job it holds: a job stored as canceled lists canceled even while Redis still says queued", async () => {
    const t = await tenant("List truth");
    const v = await waiting(t, new Date());
    await stored(t, [{ ...v, status: "canceled", completed_at: new Date().toISOString() }]);
    const r = await t.client.get<Json>("/v1/jobs");
    expect(r.body.data.map((j: Json) => [j.id, j.status])).toEqual([[v.id, "canceled"]]);
    expect((await t.client.get<Json>("/v1/jobs?status=queued")).body.data).toEqual([]);
  });

  test("another tenant's jobs never appear; its own do", async () => {
    const b = await tenant("List B");
    expect((await b.client.get<Json>("/v1/jobs")).body).toEqual({ object: "list", data: [], has_more: false, next_cursor: null });
    const mine = await waiting(b, new Date());
    const r = await b.client.get<Json>("/v1/jobs?limit=100");
    expect(r.body.data.map((j: Json) => j.id)).toEqual([mine.id]);
    // And A's list never shows B's job.
    expect((await allPages(a.client, "limit=2")).ids).not.toContain(mine.id);
  });

  test("a publishable key lists only the jobs it created; the tenant's secret key lists them all", async () => {
    const t = await tenant("List widget");
    const origin = "https://shop.example";
    const dep = (await admin.post<Json>(`/admin/v1/tenants/${t.id}/deployments`, { name: "widget", type: "public", allowed_origins: [origin] })).body
      .id as string;
    const pk = (await admin.post<Json>(`/admin/v1/tenants/${t.id}/api-keys`, { name: "widget", kind: "publishable", deployment_id: dep })).body;
    const now = Date.now();
    const byWidget = view({ created_at: new Date(now).toISOString() });
    expect(await store.create({ view: byWidget, tenantId: t.id, deploymentId: dep, apiKeyId: pk.id })).toEqual({ kind: "created" });
    const byBackend = await waiting(t, new Date(now + 1));
    const widgetStored = ended(new Date(now - 60_000), "succeeded", "sim-fast");
    await saveFinishedJobs(s.database.db, [{ view: widgetStored, tenant_id: t.id, deployment_id: dep, api_key_id: pk.id }]);
    await stored(t, [ended(new Date(now - 120_000), "succeeded", "sim-fast")]);
    const asWidget = await apiClient(s.url, pk.key).get<Json>("/v1/jobs", { origin });
    expect(asWidget.status).toBe(200);
    expect(asWidget.body.data.map((j: Json) => j.id)).toEqual([byWidget.id, widgetStored.id]);
    expect((await t.client.get<Json>("/v1/jobs")).body.data.map((j: Json) => j.id)).toEqual([byBackend.id, byWidget.id, widgetStored.id, expect.any(String)]);
  });

  test("bad parameters are a 400 naming the parameter; a key without jobs:read is 403", async () => {
    const bad: Array<[string, string]> = [
      ["limit=0", "limit"],
      ["limit=101", "limit"],
      ["limit=ten", "limit"],
      ["status=done", "status"],
      ["since=yesterday", "since"],
      ["until=2026-12-07", "until"],
      [`since=2026-12-07T10:00:00Z&until=2026-12-07T09:00:00Z`, "until"],
      ["cursor=notacursor", "cursor"],
      [`cursor=${Buffer.from(JSON.stringify([-5, "x"])).toString("base64url")}`, "cursor"],
      ["model=", "model"],
      ["sort=asc", "sort"],
    ];
    for (const [q, param] of bad) {
      const r = await a.client.get<Json>(`/v1/jobs?${q}`);
      expect([q, r.status, r.body.error?.param]).toEqual([q, 400, param]);
      expect(r.body.error.type).toBe("invalid_request_error");
    }
    const writer = await tenant("List writer", ["jobs:write"]);
    expect((await writer.client.get<Json>("/v1/jobs")).status).toBe(403);
  });

  test("many waiting jobs across index buckets page in order, each once", async () => {
    const t = await tenant("List many");
    const n = 2 * TENANT_JOB_BUCKET_SIZE + 30;
    const t0 = Date.now() - 60_000;
    const made: string[] = [];
    for (let i = 0; i < n; i++) made.push((await waiting(t, new Date(t0 + Math.floor(i / 3)))).id); // three jobs a ms: ties broken by id
    const expected = made
      .map((id, i) => ({ id, ms: t0 + Math.floor(i / 3) }))
      .sort((x, y) => y.ms - x.ms || (y.id > x.id ? 1 : -1))
      .map((x) => x.id);
    const paged = await allPages(t.client, "limit=37");
    expect(paged.ids).toEqual(expected);
    expect(paged.pages).toBe(Math.ceil(n / 37));
    const filtered = await allPages(t.client, `limit=100&until=${new Date(t0 + 50).toISOString()}`);
    expect(filtered.ids).toEqual(expected.slice(-150));
  });

  test("a filter that matches none of many waiting jobs answers within the scan budget, with a cursor that goes on, and ends", async () => {
    const t = await tenant("List sparse");
    const n = JOB_LIST_SCAN_BUDGET + 300;
    const t0 = Date.now() - 3_600_000;
    // Sent together (ioredis writes them without waiting for each reply), in creation order.
    const views = Array.from({ length: n }, (_, i) => view({ created_at: new Date(t0 + i).toISOString() }));
    const created = await Promise.all(views.map((v) => store.create({ view: v, tenantId: t.id, deploymentId: t.deployment, apiKeyId: null })));
    expect(created.every((c) => c.kind === "created")).toBe(true);
    const oldFailed = ended(new Date(t0 - 1000), "failed", "sim-fast");
    await stored(t, [oldFailed]);
    const first = await t.client.get<Json>("/v1/jobs?status=failed&limit=5");
    expect(first.body).toMatchObject({ data: [], has_more: true });
    const all = await allPages(t.client, "status=failed&limit=5");
    expect(all.ids).toEqual([oldFailed.id]);
    expect(all.pages).toBeGreaterThan(1);
  });
});
