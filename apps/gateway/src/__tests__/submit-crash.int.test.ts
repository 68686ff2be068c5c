import { createRedis, RedisKeys } from "@switchyard/queue";
import { apiClient, startStack, waitFor, writeTestCatalog, type Stack } from "@switchyard/testkit";

// A gateway killed between admission (job record, reservation, idempotency claim) and the
// enqueue: the job record is the only copy of the request, and it does not hold the payload.
// The client's retry with the same Idempotency-Key and body finishes the submit.
type Json = Record<string, any>;
let s: Stack;

beforeAll(async () => {
  s = await startStack({ env: { MODEL_CATALOG_PATH: writeTestCatalog() } });
}, 60_000);
afterAll(async () => {
  await s?.stop();
});

test("killed at job.admitted: the retry with the same key and body enqueues the job from the retried body, and it runs and is billed once", async () => {
  const normal = s.apps.get("gateway")!;
  normal.kill("SIGTERM");
  await normal.exited;
  const armed = await s.spawn("gateway", { SWITCHYARD_FAULT_POINTS: "job.admitted:1" }, "gateway");
  const body = {
    model: "sim-fast",
    messages: [{ role: "user", content: "crash between admission and enqueue" }],
    max_tokens: 12,
    metadata: { case: "submit-crash" },
  };
  const headers = { authorization: `Bearer ${s.key}`, "content-type": "application/json", "idempotency-key": "crash-admitted-1" };
  const first = await fetch(`${s.url}/v1/jobs`, { method: "POST", headers, body: JSON.stringify(body) }).then(
    (r) => r.status,
    (err: Error) => err,
  );
  expect(typeof first).not.toBe("number"); // the process died before answering (fetch failed)
  expect(await armed.exited).toBe("SIGKILL");

  // The record and the claim exist; nothing was enqueued, and the record holds no payload.
  const redis = createRedis(s.env.REDIS_URL!);
  let id: string;
  try {
    const keys = new RedisKeys(s.prefix);
    const claim = await redis.get(keys.idempotency("ten_demo", "crash-admitted-1"));
    expect(claim).toMatch(/^job_[a-z0-9]+\|[0-9a-f]+$/);
    id = claim!.split("|")[0]!;
    expect(await redis.hget(keys.job(id), "status")).toBe("queued");
    expect(await redis.exists(keys.bullJob("ai-route", id))).toBe(0);
    expect(await redis.hget(keys.job(id), "payload")).toBeNull();
  } finally {
    redis.disconnect();
  }

  await s.spawn("gateway", {}, "gateway");
  const a = apiClient(s.url, s.key);
  const replay = await a.post<Json>("/v1/jobs", body, { "Idempotency-Key": "crash-admitted-1" });
  expect(replay.status).toBe(200);
  expect(replay.headers.get("idempotent-replayed")).toBe("true");
  expect(replay.body.id).toBe(id);
  // A different body under the same key is still refused.
  expect((await a.post<Json>("/v1/jobs", { ...body, max_tokens: 13 }, { "Idempotency-Key": "crash-admitted-1" })).body.error.code).toBe(
    "idempotency_key_reused",
  );
  // Once the submit is old enough to be orphaned, the retry enqueues it.
  await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(replay.body.created_at) + 5200 - Date.now())));
  expect((await a.post<Json>("/v1/jobs", body, { "Idempotency-Key": "crash-admitted-1" })).status).toBe(200);
  const done = await waitFor(
    async () => {
      const j = (await a.get<Json>(`/v1/jobs/${id}`)).body;
      return j.status === "succeeded" ? j : undefined;
    },
    30_000,
    "the re-enqueued job to succeed",
  );
  expect(done.output.text.length).toBeGreaterThan(0);
  expect(done.metadata).toEqual({ case: "submit-crash" });
  const billed = await waitFor(
    async () => {
      const rows = await s.database.db.selectFrom("usage_events").select(["job_id", "attempt"]).where("job_id", "=", id).execute();
      return rows.length ? rows : undefined;
    },
    20_000,
    "the usage row",
  );
  expect(billed).toHaveLength(1);
  // A later retry is a plain replay: the job is not enqueued again.
  const again = await a.post<Json>("/v1/jobs", body, { "Idempotency-Key": "crash-admitted-1" });
  expect(again.body).toMatchObject({ id, status: "succeeded" });
}, 90_000);
