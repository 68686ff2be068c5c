import { apiClient, startStack, waitFor, writeTestCatalog, type Stack } from "@switchyard/testkit";
import OpenAI from "openai";

/**
 * The Batch API as `pnpm start` runs it: the gateway process starts its own batch runner
 * (BATCH_RUNNER_ENABLED, on by default), so a batch created through the official SDK completes
 * with nothing else started, and its answers carry their custom_id.
 */
let s: Stack;
beforeAll(async () => {
  s = await startStack({ env: { MODEL_CATALOG_PATH: writeTestCatalog(), BATCH_POLL_MS: "100" } });
}, 60_000);
afterAll(async () => {
  await s?.stop();
});

test("a batch created on a running stack completes through the gateway's own runner", async () => {
  const client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: s.key, maxRetries: 0 });
  const line = (id: string, content: string) =>
    JSON.stringify({
      custom_id: id,
      method: "POST",
      url: "/v1/chat/completions",
      body: { model: "sim-fast", messages: [{ role: "user", content }], max_tokens: 8 },
    });
  const input = await client.files.create({
    file: new File([[line("one", "Say one"), line("two", "Say two")].join("\n") + "\n"], "in.jsonl"),
    purpose: "batch",
  });
  const created = await client.batches.create({ input_file_id: input.id, endpoint: "/v1/chat/completions", completion_window: "24h" });
  const done = await waitFor(
    async () => {
      const b = await client.batches.retrieve(created.id);
      return ["completed", "failed", "expired", "cancelled"].includes(b.status) ? b : undefined;
    },
    30_000,
    "the batch to end",
  );
  expect(done.status).toBe("completed");
  expect(done.request_counts).toMatchObject({ total: 2, completed: 2, failed: 0 });
  const out = (await (await client.files.content(done.output_file_id!)).text())
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l) as { custom_id: string; response: { status_code: number; body: { object: string } } });
  expect(out.map((l) => l.custom_id).sort()).toEqual(["one", "two"]);
  for (const l of out) expect(l.response).toMatchObject({ status_code: 200, body: { object: "chat.completion" } });
  // The lines ran as jobs of the key's tenant (listed like any other job).
  const jobs = await apiClient(s.url, s.key).get<{ data: unknown[] }>("/v1/jobs?limit=10");
  expect(jobs.body.data.length).toBeGreaterThanOrEqual(2);
});
