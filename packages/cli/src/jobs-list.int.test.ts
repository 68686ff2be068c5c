import { apiClient, startStack, writeTestCatalog, type Stack } from "@switchyard/testkit";
import { okOutput, runCli, type Json } from "./cli-process.test-helpers";

let s: Stack;
let keyA: string;
let keyB: string;
const jobsA: string[] = [];

/** `switchyard …` as a real child process against the stack's gateway, with `env` added (no admin key). */
const switchyard = (args: string[], env: Record<string, string> = {}) =>
  runCli(args, { SWITCHYARD_ADMIN_KEY: undefined, SWITCHYARD_API_KEY: undefined, SWITCHYARD_URL: s.url, ...env });
const ok = async (args: string[], key = keyA) => okOutput(args, await switchyard(args, { SWITCHYARD_API_KEY: key }));

beforeAll(async () => {
  // The gateway alone: nothing takes the jobs, so they stay queued.
  s = await startStack({ apps: ["gateway"], env: { MODEL_CATALOG_PATH: writeTestCatalog() } });
  const admin = apiClient(s.url, s.key);
  const keyOf = async (name: string) => {
    const t = (await admin.post<Json>("/admin/v1/tenants", { name })).body;
    return (await admin.post<Json>(`/admin/v1/tenants/${t.id}/api-keys`, { name: "cli", scopes: ["jobs:write", "jobs:read"] })).body.key as string;
  };
  keyA = await keyOf("CLI jobs A");
  keyB = await keyOf("CLI jobs B");
  const a = apiClient(s.url, keyA);
  for (const model of ["sim-fast", "sim-lite", "sim-fast"]) {
    const r = await a.post<Json>("/v1/jobs", { model, messages: [{ role: "user", content: `hello ${model}` }], max_tokens: 8 });
    expect(r.status).toBe(202);
    jobsA.unshift(r.body.id); // newest first
  }
}, 120_000);
afterAll(async () => {
  await s?.stop();
});

test("jobs list prints the tenant's jobs newest first and the command for the next page", async () => {
  const first = await ok(["jobs", "list", "--limit", "2"]);
  const rows = first.text.split("\n").filter((l: string) => l.startsWith("job_"));
  expect(rows.map((l: string) => l.split(/\s+/)[0])).toEqual(jobsA.slice(0, 2));
  expect(first.text).toMatch(/^ID +CREATED +STATUS +MODEL +SERVED BY +TOKENS IN\/OUT +COST$/m);
  expect(rows[0]).toMatch(new RegExp(`^${jobsA[0]} +\\S+ +queued +sim-fast +- +- +-$`));
  const more = /^more: switchyard jobs list --limit 2 --cursor (\S+)$/m.exec(first.text)?.[1];
  expect(more).toBeDefined();
  const second = await ok(["jobs", "list", "--limit", "2", "--cursor", more!, "--json"]);
  expect(second).toMatchObject({ object: "list", has_more: false, next_cursor: null });
  expect(second.data.map((j: Json) => j.id)).toEqual([jobsA[2]]);
});

test("jobs list filters by status and model; another tenant's key sees none of them", async () => {
  expect((await ok(["jobs", "list", "--model", "sim-lite", "--json"])).data.map((j: Json) => j.id)).toEqual([jobsA[1]]);
  expect((await ok(["jobs", "list", "--status", "queued", "--json"])).data).toHaveLength(3);
  expect((await ok(["jobs", "list", "--status", "succeeded"])).text).toBe("no jobs match\n");
  expect((await ok(["jobs", "list", "--since", new Date(Date.now() + 60_000).toISOString(), "--json"])).data).toEqual([]);
  expect((await ok(["jobs", "list"], keyB)).text).toBe("no jobs\n");
  // --key wins over the environment.
  const r = await switchyard(["jobs", "list", "--key", keyB, "--json"], { SWITCHYARD_API_KEY: keyA });
  expect(JSON.parse(r.stdout).data).toEqual([]);
});

test("bad flags exit 2 before any request; the API's 400 names the parameter; no key says which variable to set", async () => {
  const badStatus = await switchyard(["jobs", "list", "--status", "done"], { SWITCHYARD_API_KEY: keyA });
  expect(badStatus.code).toBe(2);
  expect(badStatus.stderr).toContain("--status must be one of queued, retrieving, running, succeeded, failed, canceled, incomplete");
  const badLimit = await switchyard(["jobs", "list", "--limit", "101"], { SWITCHYARD_API_KEY: keyA });
  expect(badLimit.code).toBe(2);
  const badSince = await switchyard(["jobs", "list", "--since", "yesterday"], { SWITCHYARD_API_KEY: keyA });
  expect(badSince.code).toBe(1);
  expect(badSince.stderr).toMatch(/since: must be an ISO 8601 date-time.*\(400 invalid_request\)/);
  const noKey = await switchyard(["jobs", "list"]);
  expect(noKey.code).toBe(2);
  expect(noKey.stderr).toContain("SWITCHYARD_API_KEY is not set");
  const wrongKey = await switchyard(["jobs", "list"], { SWITCHYARD_API_KEY: "sy_live_nope_nope" });
  expect(wrongKey.code).toBe(1);
  expect(wrongKey.stderr).toMatch(/\(401 .*check SWITCHYARD_API_KEY\)/);
});
