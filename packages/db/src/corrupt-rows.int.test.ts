import { createTestDatabase, type TestDatabase } from "@switchyard/testkit";
import { sql } from "kysely";
import { createApiKey, findApiKey, listApiKeys } from "./api-keys";
import { deploymentView, findDeployment, findDeploymentWithTenant, listAllDeployments, listDeployments, updateDeployment } from "./deployments";
import { findJob, listStoredJobs, saveFinishedJob } from "./jobs";
import { CorruptRowError, isCorruptRowError } from "./parse-row";
import { generateDailyReports, getDailyReport } from "./reports";
import { findResponse, insertResponse } from "./responses";
import { createTenant, findDefaultDeployment, findTenant, listTenants, updateTenant } from "./tenants";

// Rows damaged behind the repositories' back (raw SQL, as a hand edit or an old writer would):
// every read refuses them with an error naming the table, the row and the column, never a cast
// value that breaks later, and never a ZodError (the gateway would answer that as the client's 400).

let t: TestDatabase;
let seq = 0;
const actor = { keyId: null };

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

async function tenant(): Promise<{ id: string; deploymentId: string }> {
  const { tenant, defaultDeploymentId } = await createTenant(
    t.db,
    { id: `ten_corrupt_${++seq}`, name: "Corrupt", timezone: "UTC", billing_mode: "postpaid" },
    actor,
  );
  return { id: tenant.id, deploymentId: defaultDeploymentId };
}

/** What `fn` rejected with, which must be a CorruptRowError. */
async function refusal(fn: () => Promise<unknown>): Promise<CorruptRowError> {
  const err = await fn().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CorruptRowError);
  expect(isCorruptRowError(err)).toBe(true);
  expect((err as Error).name).toBe("CorruptRowError");
  return err as CorruptRowError;
}

describe("corrupt rows are refused at the repository edge (real Postgres)", () => {
  it("a deployment whose rate_limits hold a string: find, lists and update all refuse it, naming the column", async () => {
    const { id: tenantId, deploymentId } = await tenant();
    const good = await findDeployment(t.db, deploymentId);
    expect(good?.rate_limits).toEqual({});
    await sql`UPDATE deployments SET rate_limits = '{"requests_per_minute": "lots"}'::jsonb WHERE id = ${deploymentId}`.execute(t.db);

    const err = await refusal(() => findDeployment(t.db, deploymentId));
    expect(err).toMatchObject({ code: "corrupt_row", retryable: false, table: "deployments", key: deploymentId, column: "rate_limits.requests_per_minute" });
    expect(err.message).toMatch(new RegExp(`^corrupt row in deployments \\(${deploymentId}\\): column rate_limits\\.requests_per_minute: `));
    expect(err.message).not.toContain("lots"); // the stored value stays out of the message
    await refusal(() => listDeployments(t.db, tenantId));
    await refusal(() => listAllDeployments(t.db, { limit: 10, tenantId }));
    await refusal(() => findDefaultDeployment(t.db, tenantId));
    await refusal(() => findDeploymentWithTenant(t.db, deploymentId));
    // An update sees the row first, so it changes nothing.
    await refusal(() => updateDeployment(t.db, deploymentId, () => ({ name: "renamed" }), actor, "deployment.update"));
    const name = await t.db.selectFrom("deployments").select("name").where("id", "=", deploymentId).executeTakeFirstOrThrow();
    expect(name.name).toBe("default");
  });

  it("a deployment whose features are not a flag map, or whose budget breaks the Budget schema, is refused", async () => {
    const { deploymentId } = await tenant();
    await sql`UPDATE deployments SET features = '["smartRouting"]'::jsonb WHERE id = ${deploymentId}`.execute(t.db);
    expect(await refusal(() => findDeployment(t.db, deploymentId))).toMatchObject({ column: "features" });
    await sql`UPDATE deployments SET features = '{"smartRouting": true, "retiredFlag": false}'::jsonb, budget = '{"period": "week", "limit_usd": 5}'::jsonb WHERE id = ${deploymentId}`.execute(
      t.db,
    );
    expect(await refusal(() => findDeployment(t.db, deploymentId))).toMatchObject({ column: "budget.period" });
  });

  it("a sound deployment row parses into the contract's types, flags it no longer knows kept", async () => {
    const { deploymentId } = await tenant();
    await sql`UPDATE deployments SET features = '{"smartRouting": true, "retiredFlag": false}'::jsonb, rate_limits = '{"requests_per_minute": 5, "windows": [{"requests": 2, "seconds": 10}]}'::jsonb, budget = '{"period": "day", "limit_usd": 5}'::jsonb WHERE id = ${deploymentId}`.execute(
      t.db,
    );
    const row = await findDeployment(t.db, deploymentId);
    expect(row).toMatchObject({
      features: { smartRouting: true, retiredFlag: false },
      rate_limits: { requests_per_minute: 5, windows: [{ requests: 2, seconds: 10 }] },
      budget: { period: "day", limit_usd: 5 },
      allowed_models: null,
    });
    const view = deploymentView(row!);
    expect(view.effective_rate_limits.requests_per_minute).toBe(5);
    expect(view.features.visionEnabled).toBe(false);
  });

  it("a tenant whose budget is not a budget: find, list and update refuse it", async () => {
    const { id } = await tenant();
    await sql`UPDATE tenants SET budget = '{"limit_usd": 10}'::jsonb WHERE id = ${id}`.execute(t.db);
    const err = await refusal(() => findTenant(t.db, id));
    expect(err).toMatchObject({ table: "tenants", key: id, column: "budget.period" });
    await refusal(() => listTenants(t.db, { limit: 500 }));
    await refusal(() => updateTenant(t.db, id, { name: "x" }, actor));
    const { id: other, deploymentId } = await tenant();
    expect(await findDeploymentWithTenant(t.db, deploymentId)).toMatchObject({
      deployment: { id: deploymentId, rate_limits: {}, budget: null },
      tenant: { timezone: "UTC", billing_mode: "postpaid", budget: null },
    });
    await sql`UPDATE tenants SET budget = '[]'::jsonb WHERE id = ${other}`.execute(t.db);
    expect(await refusal(() => findDeploymentWithTenant(t.db, deploymentId))).toMatchObject({ table: "tenants", key: other, column: "budget" });
  });

  it("an API key whose scopes are not a list of names is refused; an unknown name is kept for the authenticator to ignore", async () => {
    const { id: tenantId } = await tenant();
    const { record } = await createApiKey(t.db, tenantId, { name: "k", scopes: ["jobs:read"] }, actor);
    await sql`UPDATE api_keys SET scopes = '["jobs:read", "retired:scope"]'::jsonb WHERE id = ${record.id}`.execute(t.db);
    expect((await findApiKey(t.db, record.id))?.scopes).toEqual(["jobs:read", "retired:scope"]);
    await sql`UPDATE api_keys SET scopes = '"admin"'::jsonb WHERE id = ${record.id}`.execute(t.db);
    expect(await refusal(() => findApiKey(t.db, record.id))).toMatchObject({ table: "api_keys", key: record.id, column: "scopes" });
    await refusal(() => listApiKeys(t.db, tenantId));
  });

  it("a stored job whose output or status breaks JobView is refused, by id and in lists", async () => {
    const { id: tenantId, deploymentId } = await tenant();
    const view = {
      id: "job_corrupt",
      object: "job" as const,
      status: "succeeded" as const,
      model: "auto",
      served_model: "m",
      created_at: "2026-03-01T00:00:00.000Z",
      started_at: null,
      completed_at: "2026-03-01T00:00:02.000Z",
      output: { text: "hi", citations: [], finish_reason: "stop" },
      usage: null,
      routing: { decision: null, fallbacks: [] },
      error: null,
      metadata: null,
    };
    await saveFinishedJob(t.db, { view, tenant_id: tenantId, deployment_id: deploymentId, api_key_id: null });
    expect(await findJob(t.db, tenantId, "job_corrupt")).toEqual(view);
    await sql`UPDATE jobs SET output = '{"text": 42, "citations": []}'::jsonb WHERE id = 'job_corrupt'`.execute(t.db);
    expect(await refusal(() => findJob(t.db, tenantId, "job_corrupt"))).toMatchObject({ table: "jobs", key: "job_corrupt", column: "output.text" });
    await refusal(() => listStoredJobs(t.db, { tenantId, limit: 10 }));
    await sql`UPDATE jobs SET output = NULL, status = 'exploded' WHERE id = 'job_corrupt'`.execute(t.db);
    expect(await refusal(() => findJob(t.db, tenantId, "job_corrupt"))).toMatchObject({ column: "status" });
  });

  it("a stored daily report that is not a DailyReport is refused, naming the tenant and day", async () => {
    const { id } = await tenant();
    await generateDailyReports(t.db, "2026-03-10", { tenantId: id });
    expect((await getDailyReport(t.db, id, "2026-03-10"))?.report.totals.total_requests).toBe(0);
    await sql`UPDATE daily_reports SET report = jsonb_set(report, '{totals,total_requests}', '"many"') WHERE tenant_id = ${id}`.execute(t.db);
    const err = await refusal(() => getDailyReport(t.db, id, "2026-03-10"));
    expect(err).toMatchObject({ table: "daily_reports", key: `${id}/2026-03-10`, column: "report.totals.total_requests" });
  });

  it("a stored response whose input items are not a list is refused", async () => {
    const { id: tenantId, deploymentId } = await tenant();
    await saveFinishedJob(t.db, {
      view: {
        id: "job_resp",
        object: "job",
        status: "succeeded",
        model: "auto",
        served_model: null,
        created_at: "2026-03-01T00:00:00.000Z",
        started_at: null,
        completed_at: null,
        output: null,
        usage: null,
        routing: { decision: null, fallbacks: [] },
        error: null,
        metadata: null,
      },
      tenant_id: tenantId,
      deployment_id: deploymentId,
      api_key_id: null,
    });
    await insertResponse(t.db, {
      id: "resp_corrupt",
      job_id: "job_resp",
      tenant_id: tenantId,
      api_key_id: null,
      background: false,
      store: true,
      previous_response_id: null,
      params: {
        model: "m",
        instructions: null,
        max_output_tokens: null,
        parallel_tool_calls: true,
        prompt_cache_key: null,
        safety_identifier: null,
        service_tier: "auto",
        temperature: null,
        text: { format: { type: "text" } },
        tool_choice: "auto",
        tools: [],
        top_p: null,
        user: null,
        metadata: {},
      },
      input_items: [],
      final: null,
      created_at: "2026-03-01T00:00:00.000Z",
    });
    expect(await findResponse(t.db, tenantId, "resp_corrupt")).toMatchObject({ id: "resp_corrupt", input_items: [] });
    await sql`UPDATE responses SET input_items = '{"not": "a list"}'::jsonb WHERE id = 'resp_corrupt'`.execute(t.db);
    expect(await refusal(() => findResponse(t.db, tenantId, "resp_corrupt"))).toMatchObject({ table: "responses", key: "resp_corrupt", column: "input_items" });
  });
});
