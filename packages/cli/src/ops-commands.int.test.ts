import { UsageEvent } from "@switchyard/contracts";
import { ingestUsageEvents, UsagePartitions } from "@switchyard/db";
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

test("maintenance on refuses new jobs with 503 and Retry-After, status reads it back, off accepts again; both audited", async () => {
  const api = apiClient(s.url, s.key);
  const job = { messages: [{ role: "user", content: "hi" }] };
  const on = await ok(["maintenance", "on", "--message", "db upgrade", "--retry-after", "120", "--json"]);
  expect(on).toMatchObject({ object: "maintenance", on: true, message: "db upgrade", retry_after_seconds: 120, since: expect.any(String) });
  expect((await ok(["maintenance", "status"])).text).toMatch(/^maintenance +on\n(.*\n)*message +db upgrade\nretry-after +120 s\n$/m);
  // Every gateway reads the flag within a second.
  let refused = await api.post("/v1/jobs", job);
  for (let i = 0; i < 40 && refused.status !== 503; i++) {
    await new Promise((r) => setTimeout(r, 100));
    refused = await api.post("/v1/jobs", job);
  }
  expect(refused.status).toBe(503);
  expect(refused.headers.get("retry-after")).toBe("120");

  expect((await ok(["maintenance", "off", "--json"])).on).toBe(false);
  let accepted = await api.post("/v1/jobs", job);
  for (let i = 0; i < 40 && accepted.status !== 202; i++) {
    await new Promise((r) => setTimeout(r, 100));
    accepted = await api.post("/v1/jobs", job);
  }
  expect(accepted.status).toBe(202);
  const audit = await ok(["audit", "--target-type", "maintenance", "--json"]);
  expect(audit.data.map((a: Json) => a.action)).toEqual(["maintenance.off", "maintenance.on"]);

  const bad = await switchyard(["maintenance", "on", "--retry-after", "0"]);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain("--retry-after");
}, 120_000);

test("usage shows every tenant's usage from the ledger, biggest spender first, by any grouping; bad flags exit 2 naming the flag", async () => {
  const db = s.database.db;
  const ev = (job: string, tenant: string, model: string, cost: number): UsageEvent =>
    UsageEvent.parse({
      job_id: job,
      attempt: 1,
      tenant_id: tenant,
      deployment_id: "dep_demo",
      api_key_id: null,
      requested_model: "auto",
      served_model: model,
      provider: "simulated",
      status: "succeeded",
      input_tokens: 10,
      output_tokens: 5,
      cost_usd: cost,
      provenance: "reported",
      ttft_ms: null,
      latency_ms: 20,
      occurred_at: "2026-03-02T10:00:00.000Z",
    });
  const events = [ev("job_cli_u1", "ten_demo", "flash", 0.25), ev("job_cli_u2", "ten_demo", "pro", 0.5)];
  await new UsagePartitions(db).ensureFor(events.map((e) => e.occurred_at));
  await ingestUsageEvents(db, events);

  const byModel = await ok(["usage", "--from", "2026-03-01", "--to", "2026-03-31", "--group-by", "model", "--json"]);
  expect(byModel).toMatchObject({ object: "list", group_by: "model", from: "2026-03-01", to: "2026-03-31" });
  expect(byModel.data.map((g: Json) => [g.key, g.requests, g.cost_usd])).toEqual([
    ["pro", 1, 0.5],
    ["flash", 1, 0.25],
  ]);
  const text = (await ok(["usage", "--from", "2026-03-01", "--to", "2026-03-31"])).text;
  expect(text).toMatch(/^tenant +requests +errors +input tokens +output tokens +cost\nten_demo +2 +0 +20 +10 +\$0\.75\n$/);
  expect((await ok(["usage", "--from", "2025-01-01", "--to", "2025-01-02"])).text).toBe("no usage from 2025-01-01 to 2025-01-02\n");

  for (const [args, flag] of [
    [["usage", "--to", "2026-03-31"], "--from"],
    [["usage", "--from", "2026-03-01", "--to", "2026-03-31", "--group-by", "planet"], "--group-by"],
    [["usage", "--from", "2026-3-1", "--to", "2026-03-31"], "--from"],
  ] as const) {
    const r = await switchyard([...args]);
    expect({ args, code: r.code }).toEqual({ args, code: 2 });
    expect(r.stderr).toContain(flag);
  }
  const reversed = await switchyard(["usage", "--from", "2026-03-31", "--to", "2026-03-01"]);
  expect(reversed.code).toBe(1);
  expect(reversed.stderr).toMatch(/from|to/);
}, 120_000);

test("end-users set puts a user on a tier that get reads back; audited; a bad tier exits 2 naming --tier, an unknown deployment 1 (404)", async () => {
  const t = await ok(["tenants", "create", "Tier CLI", "--json"]);
  const dep: string = t.default_deployment_id;
  const set = await ok(["end-users", "set", dep, "dora", "--tier", "paid", "--json"]);
  expect(set).toMatchObject({ deployment_id: dep, user_id: "dora", tier: "paid", messages_per_day: 500, messages_per_month: 500 });
  expect((await ok(["end-users", "get", dep, "dora", "--json"])).tier).toBe("paid");
  expect((await ok(["end-users", "set", dep, "dora", "--tier", "free"])).text).toMatch(/^tier +free$/m);
  const audit = await ok(["audit", "--target", `${dep}/dora`, "--json"]);
  expect(audit.data.map((a: Json) => [a.target_type, a.after?.tier])).toEqual([
    ["end_user", "free"],
    ["end_user", "paid"],
  ]);

  for (const args of [
    ["end-users", "set", dep, "dora"],
    ["end-users", "set", dep, "dora", "--tier", "gold"],
  ]) {
    const r = await switchyard(args);
    expect({ args, code: r.code }).toEqual({ args, code: 2 });
    expect(r.stderr).toContain("--tier");
  }
  const unknown = await switchyard(["end-users", "set", "dep_nobody", "dora", "--tier", "paid"]);
  expect(unknown.code).toBe(1);
  expect(unknown.stderr).toContain("404");
}, 120_000);
