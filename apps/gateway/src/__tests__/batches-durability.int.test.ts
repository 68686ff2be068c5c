import {
  startFakeOpenAI,
  startStack,
  waitFor,
  oneOpenAIModelCatalog,
  writeTestCatalog,
  type FakeOpenAI,
  type SpawnedApp,
  type Stack,
} from "@switchyard/testkit";
import OpenAI from "openai";

/**
 * Durability of the Batch API (issue 18) on a real stack, driven by the official SDK: a 60-line
 * batch on an OpenAI-compatible upstream (a fake that records every request) survives a
 * router-worker SIGKILLed mid-batch (after some lines completed) and then the gateway that runs
 * the batch runner SIGKILLed too; both restarted, the batch completes and:
 *   - every custom_id is in the output file exactly once, each line ran as one job;
 *   - the upstream saw each line's request at most once per run of its job (a job re-run because
 *     its worker died is the retry by design), and only the jobs in flight on the killed worker re-ran;
 *   - the ledger bills each line once: one `succeeded` usage row per line's job (a killed run that
 *     had streamed is billed as its own `partial` row, by design — never the same attempt twice).
 */
const LINES = 60;
const CONCURRENCY = 4;
const CATALOG = oneOpenAIModelCatalog("up-a");

let fake: FakeOpenAI;
let s: Stack;
beforeAll(async () => {
  // ~8 chunks 40 ms apart: a line takes a few hundred ms, so a kill always finds lines in flight.
  fake = await startFakeOpenAI({ reply: "one two three four five six seven eight", chunkDelayMs: 40 });
  s = await startStack({
    apps: ["gateway", "usage-aggregator"],
    env: {
      MODEL_CATALOG_PATH: writeTestCatalog(CATALOG),
      OPENAI_BASE_URL: fake.url,
      OPENAI_API_KEY: "sk-test",
      BATCH_POLL_MS: "100",
      WORKER_LOCK_MS: "1000",
      ROUTER_CONCURRENCY: String(CONCURRENCY),
      LOG_LEVEL: "error",
    },
  });
}, 90_000);
afterAll(async () => {
  await s?.stop();
  await fake?.close();
});

const doneLines = async (batchId: string) =>
  Number(
    (
      await s.database.db
        .selectFrom("batch_lines")
        .select((e) => e.fn.countAll<string>().as("n"))
        .where("batch_id", "=", batchId)
        .where("state", "=", "done")
        .executeTakeFirstOrThrow()
    ).n,
  );

async function killed(app: SpawnedApp): Promise<void> {
  app.kill("SIGKILL");
  expect(await app.exited).toBe("SIGKILL");
}

test("a router-worker and then the gateway SIGKILLed mid-batch: the batch completes, every line once, billed once", async () => {
  const w1 = await s.spawn("router-worker", {}, "w1");
  let client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: s.key, maxRetries: 2 });
  const lines = Array.from({ length: LINES }, (_, i) =>
    JSON.stringify({
      custom_id: `line-${i}`,
      method: "POST",
      url: "/v1/chat/completions",
      body: { model: "up-a", messages: [{ role: "user", content: `line ${i}` }], max_tokens: 16 },
    }),
  );
  const input = await client.files.create({ file: new File([lines.join("\n") + "\n"], "durable.jsonl"), purpose: "batch" });
  const batch = await client.batches.create({ input_file_id: input.id, endpoint: "/v1/chat/completions", completion_window: "24h" });

  // Kill the worker once some lines are done (a condition, not a sleep), with others in flight.
  await waitFor(async () => ((await doneLines(batch.id)) >= 8 ? true : undefined), 60_000, "8 lines done");
  await killed(w1);
  const doneAtWorkerKill = await doneLines(batch.id);
  expect(doneAtWorkerKill).toBeLessThan(LINES);
  await s.spawn("router-worker", {}, "w2");

  // Then the gateway (its batch runner holds the batch's lease) once more lines are done.
  await waitFor(async () => ((await doneLines(batch.id)) >= doneAtWorkerKill + 8 ? true : undefined), 60_000, "8 more lines done");
  await killed(s.apps.get("gateway")!);
  expect(await doneLines(batch.id)).toBeLessThan(LINES);
  await s.spawn("gateway");
  client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: s.key, maxRetries: 2 });

  const done = await waitFor(
    async () => {
      const b = await client.batches.retrieve(batch.id);
      return ["completed", "failed", "expired", "cancelled"].includes(b.status) ? b : undefined;
    },
    120_000,
    "the batch to end",
  );
  expect(done.status).toBe("completed");
  expect(done.request_counts).toEqual({ total: LINES, completed: LINES, failed: 0 });
  expect(done.error_file_id).toBeNull();

  // Every custom_id exactly once in the output, each line one job.
  const out = (await (await client.files.content(done.output_file_id!)).text())
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l) as { custom_id: string; response: { status_code: number; request_id: string } });
  expect(out.map((l) => l.custom_id).sort()).toEqual(Array.from({ length: LINES }, (_, i) => `line-${i}`).sort());
  expect(out.every((l) => l.response.status_code === 200)).toBe(true);
  const jobIds = out.map((l) => l.response.request_id);
  expect(new Set(jobIds).size).toBe(LINES);
  const rows = await s.database.db.selectFrom("batch_lines").select(["custom_id", "job_id"]).where("batch_id", "=", batch.id).execute();
  expect(rows.map((r) => r.job_id).sort()).toEqual([...jobIds].sort());

  // Upstream requests per line: at most one per run of its job; re-runs only for jobs the kill caught.
  const seen = new Map<string, number>();
  for (const r of fake.requests) {
    const content = (r.body as { messages?: Array<{ content: string }> }).messages?.[0]?.content ?? "";
    const m = /^line (\d+)$/.exec(content);
    if (m) seen.set(`line-${m[1]}`, (seen.get(`line-${m[1]}`) ?? 0) + 1);
  }
  const runsOf = new Map<string, number>();
  for (const id of jobIds) {
    const j = (await (await fetch(`${s.url}/v1/jobs/${id}`, { headers: { authorization: `Bearer ${s.key}` } })).json()) as {
      status: string;
      attempts?: { runs: number };
    };
    expect(j.status).toBe("succeeded");
    runsOf.set(id, j.attempts?.runs ?? 1);
  }
  let rerun = 0;
  for (const l of out) {
    const runs = runsOf.get(l.response.request_id)!;
    const requests = seen.get(l.custom_id) ?? 0;
    expect({ line: l.custom_id, requests: Math.min(requests, 1) }).toEqual({ line: l.custom_id, requests: 1 });
    expect({ line: l.custom_id, atMostOnePerRun: requests <= runs }).toEqual({ line: l.custom_id, atMostOnePerRun: true });
    if (runs > 1) rerun++;
  }
  // The kill caught lines in flight (so the re-run path was exercised), and only those ran again (at most its concurrency).
  expect(rerun).toBeGreaterThanOrEqual(1);
  expect(rerun).toBeLessThanOrEqual(CONCURRENCY);
  expect([...seen.values()].reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(LINES + CONCURRENCY);

  // The ledger: one succeeded row per line's job, never one attempt twice.
  const usage = await waitFor(
    async () => {
      const u = await s.database.db.selectFrom("usage_events").select(["job_id", "attempt", "status"]).where("batch_id", "=", batch.id).execute();
      return u.filter((r) => r.status === "succeeded").length >= LINES ? u : undefined;
    },
    60_000,
    "every line's usage row",
  );
  const succeeded = usage.filter((r) => r.status === "succeeded");
  expect(succeeded).toHaveLength(LINES);
  expect(new Set(succeeded.map((r) => r.job_id)).size).toBe(LINES);
  expect(new Set(usage.map((r) => `${r.job_id}#${r.attempt}`)).size).toBe(usage.length);
  // Rows besides the succeeded ones are killed runs billed partially: at most one per re-run line.
  expect(usage.length - LINES).toBeLessThanOrEqual(rerun);
}, 240_000);
