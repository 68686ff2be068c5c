import type { JobView } from "@switchyard/contracts";
import { createTestDatabase, type TestDatabase } from "@switchyard/testkit";
import { findJob, saveFinishedJob } from "./jobs";
import { createTenant } from "./tenants";

let t: TestDatabase;

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

const view = (id: string, text: string, message: string): JobView => ({
  id,
  object: "job",
  status: "succeeded",
  model: "auto",
  served_model: "sim-fast",
  created_at: "2026-03-01T00:00:00.000Z",
  started_at: "2026-03-01T00:00:01.000Z",
  completed_at: "2026-03-01T00:00:02.000Z",
  output: { text, citations: [], finish_reason: "stop" },
  usage: { input_tokens: 1, output_tokens: 2, cost_usd: 0.001, provenance: "reported" },
  routing: { decision: null, fallbacks: [{ from: "a", to: "b", kind: "error", reason: message }] },
  error: null,
  metadata: null,
});

describe("stored jobs (real Postgres)", () => {
  it("a provider answer with NUL or a lone surrogate is stored (as U+FFFD), never a failed write", async () => {
    const { tenant, defaultDeploymentId } = await createTenant(
      t.db,
      { id: "ten_nul", name: "Nul", timezone: "UTC", billing_mode: "postpaid" },
      { keyId: null },
    );
    await saveFinishedJob(t.db, {
      view: view("job_nul", "a\u0000b \ud800 c 😀", "upstream said \u0000"),
      tenant_id: tenant.id,
      deployment_id: defaultDeploymentId,
      api_key_id: null,
    });
    const stored = await findJob(t.db, tenant.id, "job_nul");
    expect(stored?.output?.text).toBe("a\ufffdb \ufffd c 😀");
    expect(stored?.routing.fallbacks[0]?.reason).toBe("upstream said \ufffd");
  });
});
