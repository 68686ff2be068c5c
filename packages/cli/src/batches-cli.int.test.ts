import { BatchObject, BatchOutputLine } from "@switchyard/contracts";
import { apiClient, startStack, waitFor, writeTestCatalog, type Stack } from "@switchyard/testkit";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { okOutput, runCli, type Json } from "./cli-process.test-helpers";

/**
 * `switchyard batches …` as a real child process against a gateway process (which runs the batch
 * runner, BATCH_POLL_MS 100) and a real router-worker on the simulated provider.
 */
let s: Stack;
let url: string;
let key: string;
let dir: string;

const switchyard = (args: string[]) => runCli(args, { SWITCHYARD_ADMIN_KEY: undefined, SWITCHYARD_API_KEY: key, SWITCHYARD_URL: url });
const ok = async (args: string[]) => okOutput(args, await switchyard(args));
const chatLine = (customId: string, extra: Json = {}) =>
  JSON.stringify({
    custom_id: customId,
    method: "POST",
    url: "/v1/chat/completions",
    body: { model: "sim-fast", messages: [{ role: "user", content: `Say ${customId}` }], max_tokens: 8, ...extra },
  });
const writeInput = (name: string, lines: string[]) => {
  const file = path.join(dir, name);
  writeFileSync(file, lines.join("\n") + "\n");
  return file;
};
const readLines = (file: string) =>
  readFileSync(file, "utf8")
    .trimEnd()
    .split("\n")
    .map((l) => BatchOutputLine.parse(JSON.parse(l)));

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "sy-cli-batches-"));
  s = await startStack({ apps: ["gateway", "router-worker"], env: { MODEL_CATALOG_PATH: writeTestCatalog(), BATCH_POLL_MS: "100" } });
  url = s.url;
  const admin = apiClient(url, s.key);
  const t = (await admin.post<Json>("/admin/v1/tenants", { name: "CLI batches" })).body;
  key = (await admin.post<Json>(`/admin/v1/tenants/${t.id}/api-keys`, { name: "cli", scopes: ["jobs:write", "jobs:read"] })).body.key;
}, 60_000);
afterAll(async () => {
  await s?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test("submit --wait uploads, creates, shows the batch's progress on stderr and writes its output and error files", async () => {
  const input = writeInput("in.jsonl", [
    chatLine("a"),
    chatLine("b"),
    JSON.stringify({ custom_id: "bad", method: "POST", url: "/v1/embeddings", body: { model: "x", input: "y" } }),
  ]);
  const out = path.join(dir, "answers.jsonl");
  const r = await switchyard(["batches", "submit", input, "--wait", "--output", out, "--poll-ms", "100"]);
  expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 0, stdout: expect.stringContaining(`output written to ${out}`) as string });
  expect(r.stdout).toMatch(/^status +completed$/m);
  expect(r.stdout).toMatch(/^requests +3 total, 2 completed, 1 failed$/m);
  // Progress (a pipe: one line per change), from the batch's request_counts to its end.
  expect(r.stderr).toMatch(/^batch batch_\S+ created from /);
  expect(r.stderr.trimEnd().split("\n").at(-1)).toBe("3/3 completed");
  expect(readLines(out).map((l) => [l.custom_id, l.response?.status_code])).toEqual([
    ["a", 200],
    ["b", 200],
  ]);
  const errors = path.join(dir, "answers.errors.jsonl");
  expect(r.stdout).toContain(`errors written to ${errors}`);
  expect(readLines(errors).map((l) => [l.custom_id, l.error?.code])).toEqual([["bad", "invalid_url"]]);
});

test("submit without --wait returns the validating batch; get, list and cancel follow it", async () => {
  const input = writeInput(
    "slow.jsonl",
    [0, 1].map((i) => chatLine(`slow-${i}`, { model: "sim-crawl", max_tokens: 300 })),
  );
  const created = BatchObject.parse(await ok(["batches", "submit", input, "--json"]));
  expect(created).toMatchObject({ status: "validating", endpoint: "/v1/chat/completions", paused_reason: null });
  const got = await ok(["batches", "get", created.id]);
  expect(got.text).toMatch(new RegExp(`^id +${created.id}$`, "m"));
  const listed = await ok(["batches", "list", "--json"]);
  expect(listed.data.map((b: Json) => b.id)).toContain(created.id);
  expect((await ok(["batches", "list"])).text).toMatch(new RegExp(`^${created.id} +\\S+ +(validating|in_progress) +/v1/chat/completions +\\d/\\d`, "m"));
  const cancelled = BatchObject.parse(await ok(["batches", "cancel", created.id, "--json"]));
  expect(["cancelling", "cancelled"]).toContain(cancelled.status);
  const ended = await waitFor(
    async () => {
      const b = BatchObject.parse(await ok(["batches", "get", created.id, "--json"]));
      return b.status === "cancelled" ? b : undefined;
    },
    20_000,
    "the batch to be cancelled",
  );
  // get --errors downloads the error file: every line batch_cancelled.
  const errs = path.join(dir, "cancelled.errors.jsonl");
  expect((await ok(["batches", "get", ended.id, "--errors", errs])).text).toContain(`errors written to ${errs}`);
  expect(readLines(errs).map((l) => l.error?.code)).toEqual(["batch_cancelled", "batch_cancelled"]);
}, 40_000);

test("bad arguments exit 2 before any request; the API's refusals exit 1 with its message", async () => {
  const input = writeInput("one.jsonl", [chatLine("x")]);
  const badEndpoint = await switchyard(["batches", "submit", input, "--endpoint", "/v1/nope"]);
  expect(badEndpoint.code).toBe(2);
  expect(badEndpoint.stderr).toContain("--endpoint must be one of /v1/chat/completions, /v1/responses, /v1/embeddings");
  const missing = await switchyard(["batches", "submit", path.join(dir, "absent.jsonl")]);
  expect({ code: missing.code, stderr: missing.stderr }).toEqual({ code: 2, stderr: expect.stringContaining("cannot read") as string });
  const notJsonl = await switchyard(["batches", "submit", writeInput("bad.jsonl", ["not json"])]);
  expect(notJsonl.code).toBe(1);
  expect(notJsonl.stderr).toMatch(/line 1.*\(400/);
  const unknown = await switchyard(["batches", "get", "batch_0000000000nope"]);
  expect(unknown.code).toBe(1);
  expect(unknown.stderr).toContain("(404");
  expect((await switchyard(["batches", "get"])).code).toBe(2);
});
