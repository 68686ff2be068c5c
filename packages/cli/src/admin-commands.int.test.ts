import { apiClient, freePort, startStack, writeTestCatalog, type Stack } from "@switchyard/testkit";
import { okOutput, runCli, type Json } from "./cli-process.test-helpers";

let s: Stack;

/** `switchyard …` as a real child process, pointed at the stack's gateway with its (admin) key; `env` on top. */
const switchyard = (args: string[], env: Record<string, string | undefined> = {}) =>
  runCli(args, { SWITCHYARD_URL: s.url, SWITCHYARD_ADMIN_KEY: s.key, ...env });
/** Run and expect success; returns stdout parsed when `--json` was asked for. */
const ok = async (args: string[]) => okOutput(args, await switchyard(args));

beforeAll(async () => {
  s = await startStack({ apps: ["gateway"], env: { MODEL_CATALOG_PATH: writeTestCatalog() } });
}, 60_000);
afterAll(async () => {
  await s?.stop();
});

test("tenants and deployments: create, read, preset, feature; human and --json output", async () => {
  const t = await ok(["tenants", "create", "CLI Co", "--timezone", "Europe/Berlin", "--billing-mode", "prepaid", "--json"]);
  expect(t).toMatchObject({
    object: "tenant",
    name: "CLI Co",
    timezone: "Europe/Berlin",
    billing_mode: "prepaid",
    default_deployment_id: expect.stringMatching(/^dep_/),
  });
  const shown = await ok(["tenants", "get", t.id]);
  expect(shown.text).toMatch(new RegExp(`^id +${t.id}$`, "m"));
  expect(shown.text).toMatch(/^name +CLI Co$/m);
  expect(shown.text).toMatch(new RegExp(`^default_deployment +${t.default_deployment_id}$`, "m"));

  const created = await switchyard(["deployments", "create", t.id, "site", "--type", "public", "--preset", "minimal"]);
  expect(created.code).toBe(0);
  const depId = /^created deployment (dep_\S+)$/m.exec(created.stdout)?.[1];
  expect(depId).toBeDefined();
  expect(created.stdout).toMatch(/^type +public$/m);
  expect(created.stdout).toMatch(/^features on +streamingEnabled$/m);
  expect((await ok(["deployments", "feature", depId!, "ragEnabled", "on"])).text).toBe(`deployment ${depId}: ragEnabled on\n`);
  const d = await ok(["deployments", "get", depId!, "--json"]);
  expect(d.features).toMatchObject({ ragEnabled: true, streamingEnabled: true, smartRouting: false });
  const std = await ok(["deployments", "preset", depId!, "premium", "--json"]);
  expect(std.features.visionEnabled).toBe(true);
  // The API's validation message comes through, exit 1.
  const badPreset = await switchyard(["deployments", "preset", depId!, "deluxe"]);
  expect(badPreset.code).toBe(1);
  expect(badPreset.stderr).toMatch(/^switchyard: .*preset.*\(400 invalid_request\)\n$/);
}, 60_000);

test("keys: the created key works against the API; rotate hands over; revoke stops it", async () => {
  const t = await ok(["tenants", "create", "Key Co", "--json"]);
  const created = await switchyard(["keys", "create", t.id, "ci", "--scopes", "jobs:write,jobs:read"]);
  expect(created.code).toBe(0);
  const [, keyId] = /^created API key (\S+) "ci" \(secret; scopes jobs:write jobs:read; deployment tenant default\)$/m.exec(created.stdout) ?? [];
  const secret = /^key: (\S+)$/m.exec(created.stdout)?.[1];
  expect(keyId).toBeDefined();
  expect(secret).toMatch(/^sy_live_/);
  expect((await apiClient(s.url, secret).get("/v1/models")).status).toBe(200);

  const list = await ok(["keys", "list", t.id]);
  expect(list.text).toMatch(new RegExp(`^${keyId} +ci +secret +jobs:write,jobs:read +default +\\S+ +active$`, "m"));
  expect(list.text).not.toContain(secret);

  const rotated = await ok(["keys", "rotate", keyId!, "--overlap-seconds", "60", "--json"]);
  expect(rotated).toMatchObject({
    id: expect.not.stringMatching(keyId!),
    key: expect.stringMatching(/^sy_live_/),
    previous_key: { id: keyId, replaced_by: rotated.id },
  });
  expect((await apiClient(s.url, secret).get("/v1/models")).status).toBe(200); // the overlap
  const listed = await ok(["keys", "list", t.id, "--json"]);
  expect(listed.data.map((k: Json) => k.id).sort()).toEqual([keyId, rotated.id].sort());

  const revoked = await ok(["keys", "revoke", rotated.id]);
  expect(revoked.text).toMatch(new RegExp(`^revoked API key ${rotated.id} "ci" at \\S+\\n$`));
  expect((await apiClient(s.url, rotated.key).get("/v1/models")).status).toBe(401);
  const again = await switchyard(["keys", "rotate", rotated.id]);
  expect(again).toMatchObject({ code: 1, stderr: `switchyard: API key ${rotated.id} is revoked (409 api_key_inactive)\n` });
}, 60_000);

test("credits: a grant counts once per idempotency key; balance and recalculate agree", async () => {
  const t = await ok(["tenants", "create", "Credit Co", "--billing-mode", "prepaid", "--json"]);
  const first = await ok(["credits", "grant", t.id, "25", "--reason", "welcome", "--idempotency-key", "cli-int-1"]);
  expect(first.text).toMatch(new RegExp(`^granted \\$25\\.00 to ${t.id} \\(entry \\d+, idempotency key cli-int-1\\)\\nbalance \\$25\\.00\\n$`));
  const replay = await ok(["credits", "grant", t.id, "25", "--reason", "welcome", "--idempotency-key", "cli-int-1", "--json"]);
  expect(replay).toMatchObject({ replayed: true, balance_usd: 25, idempotency_key: "cli-int-1" });
  await ok(["credits", "grant", t.id, "--reason", "correction", "--", "-0.5"]);
  const bal = await ok(["credits", "balance", t.id, "--json"]);
  expect(bal).toMatchObject({ tenant_id: t.id, balance_usd: 24.5 });
  expect(bal.entries).toHaveLength(2);
  const text = await ok(["credits", "balance", t.id]);
  expect(text.text).toMatch(/^balance +\$24\.50$/m);
  expect((await ok(["credits", "recalculate", t.id])).text).toBe(`${t.id}: balance $24.50 from 2 ledger entries\n`);
  const unknown = await switchyard(["credits", "grant", "ten_nobody", "5", "--reason", "x"]);
  expect(unknown).toMatchObject({ code: 1, stdout: "", stderr: "switchyard: no tenant ten_nobody (404 tenant_not_found)\n" });
}, 60_000);

test("breakers: force-open, status, reset", async () => {
  const opened = await ok(["breakers", "force-open", "sim-fast", "--duration-ms", "60000"]);
  expect(opened.text).toMatch(/^sim-fast: breaker open until \d{4}-\d\d-\d\dT[\d:.]+Z\n$/);
  const st = await ok(["breakers", "status", "--json"]);
  expect(st.data.find((b: Json) => b.model === "sim-fast")).toMatchObject({ state: "open" });
  const table = await ok(["breakers", "status"]);
  expect(table.text).toMatch(/^MODEL +PROVIDER +TIER +STATE +FAILURES +SUCCESSES +OPEN UNTIL$/m);
  expect(table.text).toMatch(/^sim-fast +simulated +flash +open +/m);
  expect((await ok(["breakers", "reset", "sim-fast"])).text).toBe("sim-fast: breaker reset, now closed\n");
  const unknown = await switchyard(["breakers", "reset", "gpt-9"]);
  expect(unknown).toMatchObject({ code: 1, stderr: "switchyard: model gpt-9 is not in the catalog (404 model_not_found)\n" });
}, 60_000);

test("queues: counts, clean and retry-failed", async () => {
  const counts = await ok(["queues", "counts"]);
  expect(counts.text).toMatch(/^QUEUE +WAITING +PRIORITIZED +WAITING_CHILDREN +DELAYED +ACTIVE +COMPLETED +FAILED +PAUSED$/m);
  expect(counts.text).toMatch(/^ai-route +(\d+ +){7}no$/m);
  const json = await ok(["queues", "counts", "--json"]);
  expect(json.data.map((q: Json) => q.queue)).toContain("ai-route");
  expect((await ok(["queues", "clean", "ai-route", "--older-than-ms", "0"])).text).toMatch(/^ai-route: removed 0 of \d+ jobs? examined \(older than 0 ms\)/);
  expect(await ok(["queues", "retry-failed", "ai-route", "--json"])).toMatchObject({ queue: "ai-route", retried: 0 });
  const unknown = await switchyard(["queues", "retry-failed", "ai-nope"]);
  expect(unknown.code).toBe(1);
  expect(unknown.stderr).toMatch(/^switchyard: no queue ai-nope; queues are ai-route, .* \(404 not_found\)\n$/);
}, 60_000);

test("errors: a tenant key is refused, a wrong key is 401, no key is exit 2, a dead gateway is exit 1", async () => {
  const t = await ok(["tenants", "create", "Plain Co", "--json"]);
  const k = await ok(["keys", "create", t.id, "plain", "--scopes", "jobs:read", "--json"]);
  const refused = await switchyard(["tenants", "get", t.id], { SWITCHYARD_ADMIN_KEY: k.key });
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(/^switchyard: .+ \(403 insufficient_scope\)\n$/);
  const wrong = await switchyard(["tenants", "get", t.id, "--key", "sy_live_nope_nope"]);
  expect(wrong).toMatchObject({ code: 1, stderr: "switchyard: invalid API key (401 invalid_api_key; check SWITCHYARD_ADMIN_KEY)\n" });
  const none = await switchyard(["tenants", "get", t.id], { SWITCHYARD_ADMIN_KEY: undefined });
  expect(none.code).toBe(2);
  expect(none.stderr).toContain("SWITCHYARD_ADMIN_KEY is not set");
  const port = await freePort();
  const dead = await switchyard(["breakers", "status"], { SWITCHYARD_URL: `http://127.0.0.1:${port}` });
  expect(dead).toMatchObject({
    code: 1,
    stdout: "",
    stderr: `switchyard: cannot reach the gateway at http://127.0.0.1:${port} (ECONNREFUSED); is it running? set SWITCHYARD_URL or --url\n`,
  });
}, 60_000);
