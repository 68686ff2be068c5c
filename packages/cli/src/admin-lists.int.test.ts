import { apiClient, startStack, writeTestCatalog, type Stack } from "@switchyard/testkit";
import { okOutput, runCli, type Json } from "./cli-process.test-helpers";

let s: Stack;

/** `switchyard …` as a real child process, pointed at the stack's gateway with its (admin) key. */
const switchyard = (args: string[]) => runCli(args, { SWITCHYARD_URL: s.url, SWITCHYARD_ADMIN_KEY: s.key });
const ok = async (args: string[]) => okOutput(args, await switchyard(args));

beforeAll(async () => {
  s = await startStack({ apps: ["gateway"], env: { MODEL_CATALOG_PATH: writeTestCatalog() } });
}, 180_000);
afterAll(async () => {
  await s?.stop();
});

test("tenants list pages by the printed cursor; --name filters", async () => {
  const a = await ok(["tenants", "create", "Listed Alpha", "--json"]);
  const b = await ok(["tenants", "create", "Listed Beta", "--json"]);
  const first = await ok(["tenants", "list", "--name", "listed", "--limit", "1"]);
  expect(first.text).toMatch(new RegExp(`^${b.id} +Listed Beta +UTC +postpaid +${b.default_deployment_id} +\\S+$`, "m"));
  const more = /^more: switchyard tenants list --name "listed" --limit 1 --cursor (\S+)$/m.exec(first.text)?.[1];
  expect(more).toBe(b.id);
  const second = await ok(["tenants", "list", "--name", "listed", "--limit", "1", "--cursor", more!, "--json"]);
  expect(second.data.map((t: Json) => t.id)).toEqual([a.id]);
  const all = await ok(["tenants", "list", "--limit", "500", "--json"]);
  expect(all.data.map((t: Json) => t.id)).toEqual(expect.arrayContaining([a.id, b.id, "ten_demo"]));
  expect((await ok(["tenants", "list", "--name", "no such tenant"])).text).toBe('no tenants whose name contains "no such tenant"\n');
}, 180_000);

test("deployments list filters by tenant and type; update changes what it names", async () => {
  const t = await ok(["tenants", "create", "Deploy CLI", "--json"]);
  const created = await ok(["deployments", "create", t.id, "web", "--type", "public", "--json"]);
  const listed = await ok(["deployments", "list", "--tenant", t.id, "--json"]);
  expect(listed.data.map((d: Json) => d.id)).toEqual([created.id, t.default_deployment_id]);
  const publics = await ok(["deployments", "list", "--tenant", t.id, "--type", "public"]);
  expect(publics.text).toMatch(new RegExp(`^${created.id} +${t.id} +web +public +no +\\S+$`, "m"));
  expect(publics.text).not.toContain(t.default_deployment_id);

  const updated = await ok([
    "deployments",
    "update",
    created.id,
    "--name",
    "website",
    "--feature",
    "ragEnabled=on",
    "--rate-limits",
    '{"requests_per_minute":7}',
    "--budget",
    '{"period":"day","limit_usd":2}',
    "--json",
  ]);
  expect(updated).toMatchObject({
    id: created.id,
    name: "website",
    features: { ragEnabled: true },
    rate_limits: { requests_per_minute: 7 },
    budget: { period: "day", limit_usd: 2 },
  });
  const text = await ok(["deployments", "update", created.id, "--budget", "none"]);
  expect(text.text).toMatch(new RegExp(`^updated deployment ${created.id}\\n`));
  expect(text.text).toMatch(/^budget +-$/m);
  expect(text.text).toMatch(/^requests\/min +7$/m);
  const bad = await switchyard(["deployments", "update", created.id, "--allowed-models", "gpt-9"]);
  expect(bad.code).toBe(1);
  expect(bad.stderr).toMatch(/^switchyard: allowed_models: gpt-9 is not a model in the catalog.*\(400 invalid_request\)\n$/);
  const unknown = await switchyard(["deployments", "list", "--tenant", "ten_nobody"]);
  expect(unknown).toMatchObject({ code: 1, stderr: "switchyard: no tenant ten_nobody (404 tenant_not_found)\n" });
}, 180_000);

test("end-users get shows the tier and the messages used in the last 24 h", async () => {
  const t = await ok(["tenants", "create", "End User CLI", "--json"]);
  const d = await ok(["deployments", "create", t.id, "chat", "--type", "public", "--json"]);
  const k = await ok(["keys", "create", t.id, "chat", "--scopes", "jobs:write", "--deployment", d.id, "--json"]);
  const client = apiClient(s.url, k.key);
  for (let i = 0; i < 2; i++) {
    const r = await client.post("/v1/jobs", { model: "sim-fast", messages: [{ role: "user", content: "hi" }], max_tokens: 5, user: "carol" });
    expect(r.status).toBe(202);
  }
  const shown = await ok(["end-users", "get", d.id, "carol"]);
  expect(shown.text).toMatch(/^tier +free \(default\)$/m);
  expect(shown.text).toMatch(/^used \(last 24 h\) +2$/m);
  expect(shown.text).toMatch(/^remaining +48$/m);
  const unknown = await switchyard(["end-users", "get", "dep_nobody", "carol"]);
  expect(unknown).toMatchObject({ code: 1, stderr: "switchyard: no deployment dep_nobody (404 deployment_not_found)\n" });
}, 180_000);

test("audit filters by action, target, tenant and time, and pages", async () => {
  const t = await ok(["tenants", "create", "Audit CLI", "--json"]);
  const d = await ok(["deployments", "create", t.id, "site", "--type", "internal", "--json"]);
  await ok(["deployments", "feature", d.id, "ragEnabled", "on"]);
  const rows = await ok(["audit", "--tenant", t.id, "--json"]);
  expect(rows.data.map((r: Json) => r.action)).toEqual(["deployment.set_feature", "deployment.create", "tenant.create"]);
  const byAction = await ok(["audit", "--tenant", t.id, "--action", "deployment.create", "--json"]);
  expect(byAction.data.map((r: Json) => r.target_id)).toEqual([d.id]);
  const byTarget = await ok(["audit", "--target", d.id, "--target-type", "deployment"]);
  expect(byTarget.text).toMatch(new RegExp(`^\\d+ +\\S+ +\\S+ +${t.id} +deployment.set_feature +deployment +${d.id}$`, "m"));
  const since = rows.data[1].created_at as string;
  const later = await ok(["audit", "--tenant", t.id, "--since", since, "--json"]);
  expect(later.data.map((r: Json) => r.action)).toEqual(["deployment.set_feature", "deployment.create"]);
  const earlier = await ok(["audit", "--tenant", t.id, "--until", since, "--json"]);
  expect(earlier.data.map((r: Json) => r.action)).toEqual(["tenant.create"]);
  const paged = await ok(["audit", "--tenant", t.id, "--limit", "2"]);
  const cursor = /^more: switchyard audit --tenant \S+ --limit 2 --cursor (\d+)$/m.exec(paged.text)?.[1];
  expect(cursor).toBe(rows.data[1].id);
  expect((await ok(["audit", "--tenant", t.id, "--limit", "2", "--cursor", cursor!, "--json"])).data.map((r: Json) => r.action)).toEqual(["tenant.create"]);
  const bad = await switchyard(["audit", "--since", "2026-12-07T00:00:00Z", "--until", "2026-12-06T00:00:00Z"]);
  expect(bad.code).toBe(1);
  expect(bad.stderr).toMatch(/^switchyard: until: must be later than since \(400 invalid_request\)\n$/);
}, 180_000);
