import { BatchList, BatchObject, BatchOutputLine } from "@switchyard/contracts";
import { createApiKey, createTenant, seedDemo } from "@switchyard/db";
import { createLogger } from "@switchyard/telemetry";
import {
  cleanupPrefix,
  createTestDatabase,
  freePort,
  httpOk,
  spawnApp,
  testPrefix,
  TEST_REDIS_URL,
  waitFor,
  writeTestCatalog,
  type SpawnedApp,
  type TestDatabase,
} from "@switchyard/testkit";
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import OpenAI, { NotFoundError } from "openai";
import { loadEnv } from "../env";
import { startGateway, type RunningGateway } from "../server";
import { admitLine } from "../services/batch-lines";
import { startBatchRunner, type BatchRunner } from "../services/batch-runner";

/**
 * The Batch API (issue 18) end to end with the official SDK: a gateway and batch runners in this
 * process, a real router-worker child on the simulated provider, real Redis and Postgres. Happy
 * path (chat completions and Responses), a bad line going to the error file while the rest run,
 * cancel, and the durability of a line's admission (a re-admission is a replay of the same job).
 */
let database: TestDatabase;
let gw: RunningGateway;
let worker: SpawnedApp;
const runners: BatchRunner[] = [];
let client: OpenAI;
let base: string;
let key: string;
let keyB: string;
let childEnv: Record<string, string>;
const prefix = testPrefix("batches");

beforeAll(async () => {
  database = await createTestDatabase();
  key = (await seedDemo(database.db)).key!;
  await createTenant(database.db, { id: "ten_batch_b", name: "B", timezone: "UTC", billing_mode: "postpaid" }, { keyId: null });
  keyB = (await createApiKey(database.db, "ten_batch_b", { name: "b", scopes: ["jobs:read", "jobs:write"] }, { keyId: null })).key;
  const catalog = writeTestCatalog();
  // BATCH_RUNNER_ENABLED=false: once startGateway starts a runner of its own, this file's tests still decide which runners run.
  const env = {
    DATABASE_URL: database.url,
    REDIS_URL: TEST_REDIS_URL,
    SWITCHYARD_PREFIX: prefix,
    MODEL_CATALOG_PATH: catalog,
    LOG_LEVEL: "silent",
    BATCH_RUNNER_ENABLED: "false",
  };
  childEnv = env;
  const port = await freePort();
  [gw, worker] = await Promise.all([
    startGateway(loadEnv({ ...env, PORT: "0", HOST: "127.0.0.1" }), { logger: createLogger({ name: "gateway", level: "silent" }), db: database.db }),
    spawnApp("router-worker", { ...env, LOG_LEVEL: "warn", METRICS_PORT: String(port) }, () => httpOk(`http://127.0.0.1:${port}/health`), 30_000, port),
  ]);
  base = `http://127.0.0.1:${gw.port}`;
  client = new OpenAI({ baseURL: `${base}/v1`, apiKey: key, maxRetries: 0 });
  runners.push(startBatchRunner(gw.resources, { pollMs: 100, owner: "runner-a" }));
}, 60_000);
afterAll(async () => {
  await Promise.all(runners.map((r) => r.close()));
  worker?.kill("SIGTERM");
  await worker?.exited;
  await gw?.close(0);
  await database?.drop();
  await cleanupPrefix(prefix);
});

const chatLine = (customId: string, content: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    custom_id: customId,
    method: "POST",
    url: "/v1/chat/completions",
    body: { model: "sim-fast", messages: [{ role: "user", content }], ...extra },
  });

async function uploadLines(lines: string[], c = client) {
  return c.files.create({ file: new File([lines.join("\n") + "\n"], "batch.jsonl"), purpose: "batch" });
}

async function until(id: string, statuses: string[], c = client): Promise<OpenAI.Batches.Batch> {
  return waitFor(
    async () => {
      const b = await c.batches.retrieve(id);
      return statuses.includes(b.status) ? b : undefined;
    },
    30_000,
    `batch ${id} to reach ${statuses.join("|")}`,
  );
}

async function fileLines(id: string): Promise<BatchOutputLine[]> {
  const text = await (await client.files.content(id)).text();
  return text
    .trimEnd()
    .split("\n")
    .map((l) => BatchOutputLine.parse(JSON.parse(l)));
}

test("chat completions: every good line answered in the output file with its custom_id, bad lines in the error file, the rest ran", async () => {
  const input = await uploadLines([
    chatLine("a", "Say one"),
    chatLine("b", "Say two"),
    JSON.stringify({ custom_id: "wrong-url", method: "POST", url: "/v1/embeddings", body: { model: "sim-fast", input: "x" } }),
    chatLine("a", "a duplicate custom_id"),
    JSON.stringify({ custom_id: "no-messages", method: "POST", url: "/v1/chat/completions", body: { model: "sim-fast" } }),
    chatLine("c", "Say three", { max_tokens: 20 }),
  ]);
  const created = await client.batches.create({
    input_file_id: input.id,
    endpoint: "/v1/chat/completions",
    completion_window: "24h",
    metadata: { run: "happy" },
    output_expires_after: { anchor: "created_at", seconds: 7200 },
  });
  expect(BatchObject.parse(created)).toEqual(created);
  // OpenAI's model is known once the lines are read: null while validating.
  expect(created.model).toBeNull();
  expect(created).toMatchObject({
    object: "batch",
    status: "validating",
    endpoint: "/v1/chat/completions",
    input_file_id: input.id,
    completion_window: "24h",
    metadata: { run: "happy" },
    request_counts: { total: 0, completed: 0, failed: 0 },
    output_file_id: null,
    error_file_id: null,
  });
  expect(created.expires_at! - created.created_at).toBe(24 * 3600);

  const done = await until(created.id, ["completed", "failed"]);
  expect(done.status).toBe("completed");
  expect(done.request_counts).toEqual({ total: 6, completed: 3, failed: 3 });
  expect(done.in_progress_at).toEqual(expect.any(Number));
  expect(done.finalizing_at).toEqual(expect.any(Number));
  expect(done.completed_at).toEqual(expect.any(Number));
  expect(done.model).toBe("sim-fast");

  const out = await fileLines(done.output_file_id!);
  expect(out.map((l) => l.custom_id)).toEqual(["a", "b", "c"]);
  for (const l of out) {
    expect(l.error).toBeNull();
    expect(l.id).toMatch(/^batch_req_/);
    expect(l.response!.status_code).toBe(200);
    const completion = l.response!.body as unknown as OpenAI.Chat.Completions.ChatCompletion;
    expect(completion).toMatchObject({ object: "chat.completion", choices: [{ index: 0, message: { role: "assistant" } }] });
    expect(completion.choices[0]!.message.content!.length).toBeGreaterThan(0);
    // Each line ran as a job of the tenant, at the lowest priority, through the usual admission.
    const job = (await (await fetch(`${base}/v1/jobs/${l.response!.request_id}`, { headers: { authorization: `Bearer ${key}` } })).json()) as {
      status: string;
      output: { text: string };
    };
    expect(job.status).toBe("succeeded");
    expect(job.output.text).toBe(completion.choices[0]!.message.content);
  }
  const errors = await fileLines(done.error_file_id!);
  expect(errors.map((l) => [l.custom_id, l.error?.code])).toEqual([
    ["wrong-url", "invalid_url"],
    ["a", "duplicate_custom_id"],
    ["no-messages", "invalid_request"],
  ]);
  expect(errors.every((l) => l.response === null)).toBe(true);
  expect(errors[0]!.error!.message).toMatch(/^line 3: url: must be \/v1\/chat\/completions/);
  expect(errors[2]!.error!.message).toMatch(/^line 5: body\.messages/);

  const output = await client.files.retrieve(done.output_file_id!);
  expect(output).toMatchObject({ purpose: "batch_output", filename: `${done.id}_output.jsonl` });
  // output_expires_after: both files expire 7200 s after their own creation.
  expect(output.expires_at).toBe(output.created_at + 7200);
  const errorFile = await client.files.retrieve(done.error_file_id!);
  expect(errorFile.expires_at).toBe(errorFile.created_at + 7200);
  const listed = BatchList.parse(await (await fetch(`${base}/v1/batches?limit=100`, { headers: { authorization: `Bearer ${key}` } })).json());
  expect(listed.data.map((b) => b.id)).toContain(done.id);
  expect((await client.batches.list()).data.map((b) => b.id)).toContain(done.id);
  const metrics = await (await fetch(`${base}/metrics`)).text();
  expect(metrics).toMatch(/ai_batch_lines_total\{endpoint="\/v1\/chat\/completions",result="done"\} [3-9]/);
  expect(metrics).toMatch(/ai_batch_lines_total\{endpoint="\/v1\/chat\/completions",result="invalid"\} [3-9]/);
}, 40_000);

test("/v1/responses lines answer Response objects", async () => {
  const input = await uploadLines(
    [0, 1].map((i) =>
      JSON.stringify({ custom_id: `r${i}`, method: "POST", url: "/v1/responses", body: { model: "sim-fast", input: `Hello ${i}`, instructions: "Be brief." } }),
    ),
  );
  const created = await client.batches.create({ input_file_id: input.id, endpoint: "/v1/responses", completion_window: "24h" });
  const done = await until(created.id, ["completed", "failed"]);
  expect(done.request_counts).toEqual({ total: 2, completed: 2, failed: 0 });
  expect(done.error_file_id).toBeNull();
  const out = await fileLines(done.output_file_id!);
  expect(out.map((l) => l.custom_id)).toEqual(["r0", "r1"]);
  for (const l of out) {
    expect(l.response!.body).toMatchObject({ object: "response", status: "completed", instructions: "Be brief.", model: "sim-fast" });
    // The response is stored like any other: readable through /v1/responses.
    const r = await client.responses.retrieve(String(l.response!.body.id));
    expect(r.status).toBe("completed");
  }
}, 30_000);

test("cancel: cancelling, then cancelled once the unfinished jobs are canceled; every line in the error file", async () => {
  const input = await uploadLines([0, 1, 2].map((i) => chatLine(`slow-${i}`, "Write a long story", { model: "sim-crawl", max_tokens: 500 })));
  const created = await client.batches.create({ input_file_id: input.id, endpoint: "/v1/chat/completions", completion_window: "24h" });
  await waitFor(
    async () => {
      const rows = await database.db.selectFrom("batch_lines").select("state").where("batch_id", "=", created.id).where("state", "=", "submitted").execute();
      return rows.length === 3 ? true : undefined;
    },
    10_000,
    "all lines admitted",
  );
  const cancelling = await client.batches.cancel(created.id);
  expect(["cancelling", "cancelled"]).toContain(cancelling.status);
  expect(cancelling.cancelling_at).toEqual(expect.any(Number));
  const done = await until(created.id, ["cancelled"]);
  expect(done.request_counts).toEqual({ total: 3, completed: 0, failed: 3 });
  expect(done.output_file_id).toBeNull();
  const errors = await fileLines(done.error_file_id!);
  expect(errors.map((l) => [l.custom_id, l.error?.code])).toEqual([0, 1, 2].map((i) => [`slow-${i}`, "batch_cancelled"]));
  const jobs = await database.db.selectFrom("batch_lines").select("job_id").where("batch_id", "=", created.id).execute();
  for (const { job_id } of jobs) {
    const job = (await (await fetch(`${base}/v1/jobs/${job_id}`, { headers: { authorization: `Bearer ${key}` } })).json()) as { status: string };
    expect(job.status).toBe("canceled");
  }
  // Cancelling again answers the batch as it is; a completed batch cannot be cancelled.
  expect((await client.batches.cancel(created.id)).status).toBe("cancelled");
  const finished = (await client.batches.list()).data.find((b) => b.status === "completed")!;
  await expect(client.batches.cancel(finished.id)).rejects.toMatchObject({ status: 409 });
}, 40_000);

test("expired: past its completion window a batch stops, its unfinished lines become batch_expired, what finished is kept", async () => {
  const input = await uploadLines([chatLine("quick", "Say hi"), chatLine("slow", "Write a long story", { model: "sim-crawl", max_tokens: 500 })]);
  const created = await client.batches.create({ input_file_id: input.id, endpoint: "/v1/chat/completions", completion_window: "24h" });
  await waitFor(
    async () => {
      const rows = await database.db.selectFrom("batch_lines").select(["custom_id", "state"]).where("batch_id", "=", created.id).execute();
      return rows.find((r) => r.custom_id === "quick")?.state === "done" ? true : undefined;
    },
    10_000,
    "the quick line to finish",
  );
  await database.db
    .updateTable("batches")
    .set({ expires_at: new Date(Date.now() - 1000) })
    .where("id", "=", created.id)
    .execute();
  const done = await until(created.id, ["expired"]);
  expect(done.expired_at).toEqual(expect.any(Number));
  expect(done.request_counts).toEqual({ total: 2, completed: 1, failed: 1 });
  expect((await fileLines(done.output_file_id!)).map((l) => l.custom_id)).toEqual(["quick"]);
  expect((await fileLines(done.error_file_id!)).map((l) => [l.custom_id, l.error?.code])).toEqual([["slow", "batch_expired"]]);
}, 30_000);

test("durable admission: a line admitted again (a runner killed before recording its job, or a second runner) is the same job; a dead runner's lease is taken over", async () => {
  // A second runner works alongside the first from now on.
  runners.push(startBatchRunner(gw.resources, { pollMs: 100, owner: "runner-b" }));
  const input = await uploadLines(["x", "y", "z", "w"].map((id) => chatLine(id, `Say ${id}`)));
  const created = await client.batches.create({ input_file_id: input.id, endpoint: "/v1/chat/completions", completion_window: "24h" });
  const done = await until(created.id, ["completed", "failed"]);
  expect(done.request_counts).toEqual({ total: 4, completed: 4, failed: 0 });
  const rows = await database.db
    .selectFrom("batch_lines")
    .select(["custom_id", "job_id", "request"])
    .where("batch_id", "=", created.id)
    .orderBy("line")
    .execute();
  expect(new Set(rows.map((r) => r.job_id)).size).toBe(4);
  const batch = await database.db.selectFrom("batches").selectAll().where("id", "=", created.id).executeTakeFirstOrThrow();
  // Admitting every line again (what a runner that died between admission and record does) finds the same jobs.
  for (const r of rows) expect(await admitLine(gw.resources, batch, r.custom_id!, r.request!)).toBe(r.job_id);

  // A batch leased by a runner that died (lease expired) is taken over.
  const input2 = await uploadLines([chatLine("late", "Say late")]);
  const b2 = await client.batches.create({ input_file_id: input2.id, endpoint: "/v1/chat/completions", completion_window: "24h" });
  await database.db
    .updateTable("batches")
    .set({ lease_owner: "dead-runner", lease_until: new Date(Date.now() - 1000) })
    .where("id", "=", b2.id)
    .execute();
  expect((await until(b2.id, ["completed", "failed"])).request_counts).toEqual({ total: 1, completed: 1, failed: 0 });
}, 40_000);

test("create refuses what cannot run, with a 4xx naming the field; another tenant's batch and file are 404", async () => {
  const input = await uploadLines([chatLine("a", "hi")]);
  const post = (body: unknown, k = key) =>
    fetch(`${base}/v1/batches`, { method: "POST", headers: { authorization: `Bearer ${k}`, "content-type": "application/json" }, body: JSON.stringify(body) });
  const expectError = async (res: Response, status: number, param: string) => {
    const body = (await res.json()) as { error: { param: string } };
    expect({ status: res.status, param: body.error.param }).toEqual({ status, param });
  };
  await expectError(await post({ input_file_id: input.id, endpoint: "/v1/chat/completions", completion_window: "1h" }), 400, "completion_window");
  await expectError(await post({ input_file_id: input.id, endpoint: "/v1/completions", completion_window: "24h" }), 400, "endpoint");
  await expectError(await post({ input_file_id: "file_nope000000", endpoint: "/v1/chat/completions", completion_window: "24h" }), 404, "input_file_id");
  await expectError(await post({ input_file_id: input.id, endpoint: "/v1/chat/completions", completion_window: "24h", colour: "red" }), 400, "colour");
  const create = (output_expires_after: unknown) =>
    post({ input_file_id: input.id, endpoint: "/v1/chat/completions", completion_window: "24h", output_expires_after });
  await expectError(await create({ anchor: "created_at", seconds: 3599 }), 400, "output_expires_after.seconds");
  await expectError(await create({ anchor: "created_at", seconds: 2_592_001 }), 400, "output_expires_after.seconds");
  await expectError(await create({ anchor: "completed_at", seconds: 3600 }), 400, "output_expires_after.anchor");
  await expectError(await create({ seconds: 3600 }), 400, "output_expires_after.anchor");
  // Tenant B can use neither A's file nor A's batch.
  await expectError(await post({ input_file_id: input.id, endpoint: "/v1/chat/completions", completion_window: "24h" }, keyB), 404, "input_file_id");
  const mine = await client.batches.create({ input_file_id: input.id, endpoint: "/v1/chat/completions", completion_window: "24h" });
  const other = new OpenAI({ baseURL: `${base}/v1`, apiKey: keyB, maxRetries: 0 });
  await expect(other.batches.retrieve(mine.id)).rejects.toBeInstanceOf(NotFoundError);
  await expect(other.batches.cancel(mine.id)).rejects.toBeInstanceOf(NotFoundError);
  expect((await other.batches.list()).data).toEqual([]);
  await until(mine.id, ["completed"]);
});

/** A gateway with a batch runner as a child process (batch-runner-process.ts); resolves once it is ready. */
async function runnerProcess(extra: Record<string, string>): Promise<{ child: ChildProcess; exited: Promise<unknown>; output: () => string }> {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(__dirname, "batch-runner-process.ts")], {
    env: { ...process.env, ...childEnv, LOG_LEVEL: "warn", PORT: "0", HOST: "127.0.0.1", BATCH_POLL_MS: "100", ...extra },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve(signal ?? code)));
  await waitFor(
    async () => (out.includes("ready ") ? true : child.exitCode !== null ? Promise.reject(new Error(out)) : undefined),
    30_000,
    "the runner process to start",
  );
  return { child, exited, output: () => out };
}

test("a runner process killed between admitting a line and enqueueing its job: another takes over after the lease, every line runs exactly once", async () => {
  // Only child processes run batches from here on.
  await Promise.all(runners.splice(0).map((r) => r.close()));
  const ids = Array.from({ length: 6 }, (_, i) => `k${i}`);
  const input = await uploadLines(ids.map((id) => chatLine(id, `Say ${id}`)));
  // Two lines a round; the third admission dies after the job is created, before it is enqueued (and before the line records it).
  const a = await runnerProcess({ BATCH_SUBMIT_CHUNK: "2", BATCH_RUNNER_OWNER: "doomed", BATCH_LEASE_MS: "6000", SWITCHYARD_FAULT_POINTS: "job.admitted:3" });
  const created = await client.batches.create({ input_file_id: input.id, endpoint: "/v1/chat/completions", completion_window: "24h" });
  expect(await a.exited).toBe("SIGKILL");
  const after = await database.db.selectFrom("batch_lines").select(["custom_id", "state"]).where("batch_id", "=", created.id).orderBy("line").execute();
  expect(after.filter((l) => l.state === "pending").length).toBeGreaterThanOrEqual(4);
  const b = await runnerProcess({ BATCH_RUNNER_OWNER: "heir" });
  try {
    const done = await until(created.id, ["completed", "failed"]);
    expect(done.request_counts).toEqual({ total: 6, completed: 6, failed: 0 });
    const out = await fileLines(done.output_file_id!);
    expect(out.map((l) => l.custom_id)).toEqual(ids);
    // One job per line: the orphaned one was re-admitted as a replay (same job) and enqueued; no line ran twice.
    const jobIds = out.map((l) => l.response!.request_id);
    expect(new Set(jobIds).size).toBe(6);
    const jobs = await database.db.selectFrom("batch_lines").select("job_id").where("batch_id", "=", created.id).execute();
    expect(jobs.map((j) => j.job_id).sort()).toEqual([...jobIds].sort());
    // And the tenant has no other job since the batch was created (no second job for any line).
    const since = new Date(created.created_at * 1000).toISOString();
    const listed = (await (await fetch(`${base}/v1/jobs?limit=100&since=${since}`, { headers: { authorization: `Bearer ${key}` } })).json()) as {
      data: Array<{ id: string }>;
    };
    expect(listed.data.map((j) => j.id).sort()).toEqual([...jobIds].sort());
  } finally {
    b.child.kill("SIGTERM");
    await b.exited;
  }
}, 60_000);
