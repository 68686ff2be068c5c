/**
 * A deployment's scheduling settings (issue 18: queue_weight, max_concurrent_jobs, max_queue_ms)
 * through the admin API of a real gateway: defaults, create, PATCH (null clears a cap), every
 * bad value a 400 naming the field, an audit row per change with old → new, the lists and the
 * single read, /openapi.json, and the settings cache the gateway admits with.
 */
import type { ApiErrorBody as ErrorBody, DeploymentPage, DeploymentView as Deployment, TenantView as Tenant } from "@switchyard/contracts";
import { apiClient, startStack, writeTestCatalog, type Stack } from "@switchyard/testkit";
import { DeploymentCache } from "../services/deployment-cache";

type Client = ReturnType<typeof apiClient>;
type Json = Record<string, any>;

let s: Stack;
let a: Client;
let t: Tenant;

const patch = <T>(c: Client, path: string, body: unknown) => c.call<T>("PATCH", path, { body });
async function newTenant(name: string): Promise<Tenant> {
  const r = await a.post<Tenant>("/admin/v1/tenants", { name });
  expect(r.status).toBe(201);
  return r.body;
}
async function newDeployment(tenantId: string, body: Json): Promise<Deployment> {
  const d = await a.post<Deployment>(`/admin/v1/tenants/${tenantId}/deployments`, body);
  expect(d.status).toBe(201);
  return d.body;
}
async function auditRows(targetId: string): Promise<Array<{ action: string; before: Json | null; after: Json | null }>> {
  return await s.database.db.selectFrom("audit_log").select(["action", "before", "after"]).where("target_id", "=", targetId).orderBy("id").execute();
}
const scheduling = (d: Json) => ({ queue_weight: d.queue_weight, max_concurrent_jobs: d.max_concurrent_jobs, max_queue_ms: d.max_queue_ms });

beforeAll(async () => {
  s = await startStack({ apps: ["gateway"], env: { MODEL_CATALOG_PATH: writeTestCatalog() } });
  a = apiClient(s.url, s.key);
  t = await newTenant("Scheduling");
}, 60_000);
afterAll(async () => {
  await s?.stop();
});

describe("deployment scheduling settings (admin API)", () => {
  test("a new deployment (and a tenant's default one) has queue_weight 1 and no caps", async () => {
    const d = await newDeployment(t.id, { name: "plain", type: "public" });
    expect(scheduling(d)).toEqual({ queue_weight: 1, max_concurrent_jobs: null, max_queue_ms: null });
    const def = await a.get<Deployment>(`/admin/v1/deployments/${t.default_deployment_id}`);
    expect(scheduling(def.body)).toEqual({ queue_weight: 1, max_concurrent_jobs: null, max_queue_ms: null });
  });

  test("create with them; GET, the tenant's list and the cross-tenant list show them", async () => {
    const d = await newDeployment(t.id, { name: "weighted", type: "internal", queue_weight: 40, max_concurrent_jobs: 12, max_queue_ms: 90_000 });
    expect(scheduling(d)).toEqual({ queue_weight: 40, max_concurrent_jobs: 12, max_queue_ms: 90_000 });
    expect((await a.get<Deployment>(`/admin/v1/deployments/${d.id}`)).body).toEqual(d);
    const ofTenant = await a.get<{ data: Deployment[] }>(`/admin/v1/tenants/${t.id}/deployments`);
    expect(scheduling(ofTenant.body.data.find((x) => x.id === d.id)!)).toEqual(scheduling(d));
    const all = await a.get<DeploymentPage>(`/admin/v1/deployments?tenant_id=${t.id}&limit=100`);
    expect(scheduling(all.body.data.find((x) => x.id === d.id)!)).toEqual(scheduling(d));
    const audit = await auditRows(d.id);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ action: "deployment.create", before: null, after: { queue_weight: 40, max_concurrent_jobs: 12, max_queue_ms: 90_000 } });
  });

  test("PATCH sets each, null clears a cap, other settings are kept; every change is audited old → new", async () => {
    const d = await newDeployment(t.id, { name: "patched", type: "public", rate_limits: { requests_per_minute: 77 } });
    const set = await patch<Deployment>(a, `/admin/v1/deployments/${d.id}`, { queue_weight: 100, max_concurrent_jobs: 100_000, max_queue_ms: 86_400_000 });
    expect(set.status).toBe(200);
    expect(scheduling(set.body)).toEqual({ queue_weight: 100, max_concurrent_jobs: 100_000, max_queue_ms: 86_400_000 });
    expect(set.body.rate_limits).toEqual({ requests_per_minute: 77 });

    const one = await patch<Deployment>(a, `/admin/v1/deployments/${d.id}`, { max_queue_ms: 1 });
    expect(scheduling(one.body)).toEqual({ queue_weight: 100, max_concurrent_jobs: 100_000, max_queue_ms: 1 });

    const cleared = await patch<Deployment>(a, `/admin/v1/deployments/${d.id}`, { max_concurrent_jobs: null, max_queue_ms: null, queue_weight: 1 });
    expect(cleared.status).toBe(200);
    expect(scheduling(cleared.body)).toEqual({ queue_weight: 1, max_concurrent_jobs: null, max_queue_ms: null });
    expect(scheduling((await a.get<Deployment>(`/admin/v1/deployments/${d.id}`)).body)).toEqual({
      queue_weight: 1,
      max_concurrent_jobs: null,
      max_queue_ms: null,
    });

    const updates = (await auditRows(d.id)).filter((r) => r.action === "deployment.update");
    expect(updates.map((r) => [scheduling(r.before!), scheduling(r.after!)])).toEqual([
      [
        { queue_weight: 1, max_concurrent_jobs: null, max_queue_ms: null },
        { queue_weight: 100, max_concurrent_jobs: 100_000, max_queue_ms: 86_400_000 },
      ],
      [
        { queue_weight: 100, max_concurrent_jobs: 100_000, max_queue_ms: 86_400_000 },
        { queue_weight: 100, max_concurrent_jobs: 100_000, max_queue_ms: 1 },
      ],
      [
        { queue_weight: 100, max_concurrent_jobs: 100_000, max_queue_ms: 1 },
        { queue_weight: 1, max_concurrent_jobs: null, max_queue_ms: null },
      ],
    ]);
    // The audit row's actor is the operator's key.
    const [row] = await s.database.db
      .selectFrom("audit_log")
      .select("actor_key_id")
      .where("target_id", "=", d.id)
      .where("action", "=", "deployment.update")
      .execute();
    expect(row!.actor_key_id).toBe(s.key.split("_")[2]);
  });

  test("each bad value is a 400 naming the field, on create and on PATCH, and changes nothing", async () => {
    const bad: Array<[string, unknown]> = [
      ["queue_weight", 0],
      ["queue_weight", 101],
      ["queue_weight", 2.5],
      ["queue_weight", "5"],
      ["queue_weight", null],
      ["max_concurrent_jobs", 0],
      ["max_concurrent_jobs", 100_001],
      ["max_concurrent_jobs", 1.5],
      ["max_concurrent_jobs", "none"],
      ["max_queue_ms", 0],
      ["max_queue_ms", 86_400_001],
      ["max_queue_ms", -5],
      ["max_queue_ms", true],
    ];
    const d = await newDeployment(t.id, { name: "bad-input", type: "public", queue_weight: 3, max_concurrent_jobs: 4, max_queue_ms: 5000 });
    const auditBefore = (await auditRows(d.id)).length;
    for (const [field, value] of bad) {
      const c = await a.post<ErrorBody>(`/admin/v1/tenants/${t.id}/deployments`, { name: "x", type: "public", [field]: value });
      expect([field, value, c.status, c.body.error.code, c.body.error.param]).toEqual([field, value, 400, "invalid_request", field]);
      const p = await patch<ErrorBody>(a, `/admin/v1/deployments/${d.id}`, { [field]: value });
      expect([field, value, p.status, p.body.error.code, p.body.error.param]).toEqual([field, value, 400, "invalid_request", field]);
      expect(p.body.error.message).toContain(field);
    }
    expect(await auditRows(d.id)).toHaveLength(auditBefore);
    expect((await a.get<Deployment>(`/admin/v1/deployments/${d.id}`)).body).toEqual(d);
  });

  test("an unknown deployment is a 404; a tenant's own key (another tenant's deployment, no admin scope) can neither read nor change it", async () => {
    const missing = await patch<ErrorBody>(a, "/admin/v1/deployments/dep_nope", { queue_weight: 5 });
    expect([missing.status, missing.body.error.code]).toEqual([404, "deployment_not_found"]);
    expect((await a.get<ErrorBody>("/admin/v1/deployments/dep_nope")).status).toBe(404);

    const victim = await newDeployment(t.id, { name: "victim", type: "public", queue_weight: 2 });
    const other = await newTenant("Other");
    const k = await a.post<{ key: string }>(`/admin/v1/tenants/${other.id}/api-keys`, { name: "tenant", scopes: ["jobs:write", "jobs:read"] });
    expect(k.status).toBe(201);
    const c = apiClient(s.url, k.body.key);
    const p = await patch<ErrorBody>(c, `/admin/v1/deployments/${victim.id}`, { queue_weight: 100 });
    expect([p.status, p.body.error.code]).toEqual([403, "insufficient_scope"]);
    expect((await c.get<ErrorBody>(`/admin/v1/deployments/${victim.id}`)).status).toBe(403);
    expect((await a.get<Deployment>(`/admin/v1/deployments/${victim.id}`)).body).toEqual(victim);
  });

  test("the settings cache the gateway admits with reads them, and sees a change once its second is up", async () => {
    const d = await newDeployment(t.id, { name: "cached", type: "public", queue_weight: 9, max_concurrent_jobs: 2 });
    const cache = new DeploymentCache(s.database.db);
    expect(await cache.get(d.id)).toMatchObject({ id: d.id, queueWeight: 9, maxConcurrentJobs: 2, maxQueueMs: null });
    await patch<Deployment>(a, `/admin/v1/deployments/${d.id}`, { queue_weight: 50, max_concurrent_jobs: null, max_queue_ms: 30_000 });
    await new Promise((r) => setTimeout(r, 1100));
    expect(await cache.get(d.id)).toMatchObject({ queueWeight: 50, maxConcurrentJobs: null, maxQueueMs: 30_000 });
  });

  test("/openapi.json documents the three fields on the deployment and on the create and PATCH bodies", async () => {
    const doc = (await a.get<Json>("/openapi.json")).body;
    const schemas = doc.components.schemas as Record<string, Json>;
    const view = schemas.DeploymentView!;
    expect(view.required).toEqual(expect.arrayContaining(["queue_weight", "max_concurrent_jobs", "max_queue_ms"]));
    expect(view.properties.queue_weight).toMatchObject({ type: "integer", minimum: 1, maximum: 100 });
    for (const name of ["CreateDeploymentRequest", "UpdateDeploymentRequest"]) {
      const body = schemas[name]!;
      expect(Object.keys(body.properties)).toEqual(expect.arrayContaining(["queue_weight", "max_concurrent_jobs", "max_queue_ms"]));
      expect(body.required ?? []).not.toContain("queue_weight");
    }
  });
});
