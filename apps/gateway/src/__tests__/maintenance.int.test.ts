import {
  apiClient,
  readSse,
  spawnApp,
  freePort,
  httpOk,
  startStack,
  TEST_CATALOG,
  TEST_EMBEDDING_MODELS,
  waitFor,
  writeTestCatalog,
  type Stack,
} from "@switchyard/testkit";

type Json = Record<string, any>;
let s: Stack;
let a: ReturnType<typeof apiClient>;

beforeAll(async () => {
  s = await startStack({ env: { MODEL_CATALOG_PATH: writeTestCatalog({ ...TEST_CATALOG, embedding_models: TEST_EMBEDDING_MODELS }) } });
  a = apiClient(s.url, s.key);
}, 60_000);
afterAll(async () => {
  await a?.post("/admin/v1/maintenance", { on: false }).catch(() => undefined);
  await s?.stop();
});

const msg = (content: string, extra: Json = {}) => ({ model: "sim-fast", messages: [{ role: "user", content }], max_tokens: 8, ...extra });

test("maintenance on: new work is 503 with Retry-After on every gateway; reads, streams and replays keep working; queued work drains; audited", async () => {
  // A second gateway on the same Redis and database sees the switch too.
  const port = await freePort();
  const second = await spawnApp("gateway", { ...s.env, PORT: String(port) }, () => httpOk(`http://127.0.0.1:${port}/health`));
  const b = apiClient(`http://127.0.0.1:${port}`, s.key);
  try {
    const slow = await a.post<Json>("/v1/jobs", msg("slow one", { model: "sim-slow", max_tokens: 40 }), { "Idempotency-Key": `mnt-slow-${process.pid}` });
    expect(slow.status).toBe(202);
    const on = await a.post<Json>("/admin/v1/maintenance", { on: true, message: "database upgrade", retry_after_seconds: 120 });
    expect(on.status).toBe(200);
    expect(on.body).toMatchObject({ object: "maintenance", on: true, message: "database upgrade", retry_after_seconds: 120 });
    await new Promise((r) => setTimeout(r, 1100)); // every gateway re-reads within a second

    for (const c of [a, b]) {
      const job = await c.post<Json>("/v1/jobs", msg("refused"));
      expect(job.status).toBe(503);
      expect(job.headers.get("retry-after")).toBe("120");
      expect(job.body.error).toMatchObject({ code: "service_unavailable" });
      expect(job.body.error.message).toContain("database upgrade");
      expect((await c.post<Json>("/v1/chat/completions", msg("refused"))).status).toBe(503);
      expect((await c.post<Json>("/v1/responses", { model: "sim-fast", input: "refused" })).status).toBe(503);
      expect((await c.post<Json>("/v1/embeddings", { model: "emb-sim", input: "refused" })).status).toBe(503);
    }
    // A replay of a submission accepted before is still answered (it is a read), and reads work.
    const replay = await b.post<Json>("/v1/jobs", msg("slow one", { model: "sim-slow", max_tokens: 40 }), { "Idempotency-Key": `mnt-slow-${process.pid}` });
    expect(replay.status).toBe(200);
    expect(replay.body.id).toBe(slow.body.id);
    expect((await b.get<Json>(`/v1/jobs/${slow.body.id}`)).status).toBe(200);
    // The queued job drains: a stream opened now follows it to its end.
    const stream = await readSse(`http://127.0.0.1:${port}/v1/jobs/${slow.body.id}/events`, { headers: { authorization: `Bearer ${s.key}` } });
    expect(stream.status).toBe(200);
    expect(stream.events.at(-1)!.event).toBe("done");
    expect((await a.get<Json>("/admin/v1/maintenance")).body.on).toBe(true);
    expect(await (await fetch(`${s.url}/metrics`)).text()).toMatch(/ai_maintenance_mode 1/);

    expect((await a.post<Json>("/admin/v1/maintenance", { on: false })).body).toMatchObject({ on: false });
    await new Promise((r) => setTimeout(r, 1100));
    for (const c of [a, b]) expect((await c.post<Json>("/v1/jobs", msg("welcome back"))).status).toBe(202);

    const audit = await waitFor(
      async () => {
        const rows = await s.database.db.selectFrom("audit_log").select(["action", "after"]).where("target_type", "=", "maintenance").orderBy("id").execute();
        return rows.length >= 2 ? rows : undefined;
      },
      5000,
      "two maintenance audit rows",
    );
    expect(audit.map((r) => r.action)).toEqual(["maintenance.on", "maintenance.off"]);
  } finally {
    second.kill("SIGTERM");
  }
}, 60_000);

test("bad input is a 400 naming the field; a tenant key is 403", async () => {
  expect((await a.post<Json>("/admin/v1/maintenance", { on: "yes" })).body.error).toMatchObject({ code: "invalid_request", param: "on" });
  expect((await a.post<Json>("/admin/v1/maintenance", { on: true, retry_after_seconds: 0 })).body.error).toMatchObject({ param: "retry_after_seconds" });
  expect((await a.post<Json>("/admin/v1/maintenance", { on: true, until: 1 })).body.error).toMatchObject({ code: "unknown_field", param: "until" });
  const t = (await a.post<Json>("/admin/v1/tenants", { name: "not-admin" })).body;
  const key = (await a.post<Json>(`/admin/v1/tenants/${t.id}/api-keys`, { name: "k", scopes: ["jobs:write"] })).body.key as string;
  expect((await apiClient(s.url, key).post<Json>("/admin/v1/maintenance", { on: true })).status).toBe(403);
  expect((await a.get<Json>("/admin/v1/maintenance")).body.on).toBe(false);
});
