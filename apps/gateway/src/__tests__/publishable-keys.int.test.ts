import { apiClient, startStack, waitFor, writeTestCatalog, type Stack } from "@switchyard/testkit";

type Client = ReturnType<typeof apiClient>;
interface ErrorBody {
  error: { type: string; code: string; message: string; param?: string; request_id: string };
}
interface Key {
  id: string;
  kind: string;
  deployment_id: string | null;
  scopes: string[];
  key: string;
}
interface Job {
  id: string;
  status: string;
}

const APP = "https://app.example.com";
const OTHER = "https://other.example.com";
const EVIL = "https://evil.example.com";
const roomy = { requests_per_minute: 10_000, requests_per_hour: 100_000, requests_per_day: 1_000_000 };
const msg = (content = "hello") => ({ model: "sim-fast", max_tokens: 5, messages: [{ role: "user", content }] });
const from = (origin: string) => ({ origin });

let s: Stack;
let a: Client;
let tenantId: string;
let widget: string;
let pk: Key;
let secret: Client;
const issued: string[] = [];

async function newKey(tenant: string, body: Record<string, unknown>): Promise<Key> {
  const r = await a.post<Key>(`/admin/v1/tenants/${tenant}/api-keys`, body);
  expect(r.status).toBe(201);
  issued.push(r.body.key);
  return r.body;
}
async function newDeployment(tenant: string, body: Record<string, unknown>): Promise<string> {
  const r = await a.post<{ id: string }>(`/admin/v1/tenants/${tenant}/deployments`, body);
  expect(r.status).toBe(201);
  return r.body.id;
}
const preflight = (origin: string, path = "/v1/jobs") =>
  fetch(`${s.url}${path}`, {
    method: "OPTIONS",
    headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type, idempotency-key" },
  });
const csv = (v: string | null) =>
  (v ?? "")
    .split(",")
    .map((x) => x.trim().toLowerCase())
    .filter(Boolean);

beforeAll(async () => {
  s = await startStack({ env: { MODEL_CATALOG_PATH: writeTestCatalog() } });
  a = apiClient(s.url, s.key);
  tenantId = (await a.post<{ id: string }>("/admin/v1/tenants", { name: "Web shop" })).body.id;
  widget = await newDeployment(tenantId, { name: "chat widget", type: "public", allowed_origins: [APP], rate_limits: roomy });
  pk = await newKey(tenantId, { name: "widget", kind: "publishable", deployment_id: widget });
  secret = apiClient(s.url, (await newKey(tenantId, { name: "backend", scopes: ["jobs:write", "jobs:read"] })).key);
  // Another tenant's public deployment allows OTHER, so OTHER is in the global preflight set.
  const other = (await a.post<{ id: string }>("/admin/v1/tenants", { name: "Other" })).body.id;
  await newDeployment(other, { name: "theirs", type: "public", allowed_origins: [OTHER] });
}, 60_000);
afterAll(async () => {
  await s?.stop();
});

describe("creating publishable keys", () => {
  test("sy_pk_ key bound to a public deployment, with exactly jobs:write and jobs:read", async () => {
    expect(pk.key).toMatch(new RegExp(`^sy_pk_${pk.id}_[A-Za-z0-9]{32,64}$`));
    expect(pk).toMatchObject({ kind: "publishable", deployment_id: widget, scopes: ["jobs:write", "jobs:read"] });
    const explicit = await newKey(tenantId, { name: "explicit", kind: "publishable", deployment_id: widget, scopes: ["jobs:read", "jobs:write"] });
    expect(explicit.scopes).toEqual(["jobs:write", "jobs:read"]);
  });

  test("the deployment must be this tenant's and public; other scopes are refused", async () => {
    const internal = await newDeployment(tenantId, { name: "internal", type: "internal" });
    const other = (await a.post<{ id: string; default_deployment_id: string }>("/admin/v1/tenants", { name: "Third" })).body;
    const otherPublic = await newDeployment(other.id, { name: "pub", type: "public" });
    const cases: Array<[string, Record<string, unknown>, number, string]> = [
      ["no deployment", { name: "x", kind: "publishable" }, 400, "deployment_id"],
      ["an internal deployment", { name: "x", kind: "publishable", deployment_id: internal }, 400, "deployment_id"],
      ["another tenant's deployment", { name: "x", kind: "publishable", deployment_id: otherPublic }, 404, "deployment_id"],
      ["a scope beyond jobs", { name: "x", kind: "publishable", deployment_id: widget, scopes: ["jobs:write", "documents:read"] }, 400, "scopes"],
      ["admin", { name: "x", kind: "publishable", deployment_id: widget, scopes: ["admin"] }, 400, "scopes"],
      ["an unknown kind", { name: "x", kind: "restricted", scopes: ["jobs:read"] }, 400, "kind"],
      ["a secret key without scopes", { name: "x" }, 400, "scopes"],
    ];
    for (const [name, body, status, param] of cases) {
      const r = await a.post<ErrorBody>(`/admin/v1/tenants/${tenantId}/api-keys`, body);
      expect([name, r.status, r.body.error.param]).toEqual([name, status, param]);
    }
    const internalMsg = await a.post<ErrorBody>(`/admin/v1/tenants/${tenantId}/api-keys`, { name: "x", kind: "publishable", deployment_id: internal });
    expect(internalMsg.body.error.message).toContain("public");
  });
});

describe("using publishable keys", () => {
  test("from an allowed Origin: 202, with CORS headers on the response", async () => {
    const c = apiClient(s.url, pk.key);
    const r = await c.post<Job>("/v1/jobs", msg("from the browser"), from(APP));
    expect(r.status).toBe(202);
    expect(r.body.status).toBe("queued");
    expect(r.headers.get("access-control-allow-origin")).toBe(APP);
    expect(csv(r.headers.get("vary"))).toContain("origin");
    expect(csv(r.headers.get("access-control-expose-headers"))).toEqual(
      expect.arrayContaining(["location", "x-switchyard-job-id", "idempotent-replayed", "retry-after", "ratelimit", "ratelimit-policy", "x-request-id"]),
    );
    const job = await c.get<Job>(`/v1/jobs/${r.body.id}`, from(APP));
    expect([job.status, job.body.id]).toEqual([200, r.body.id]);
    expect((await c.get("/v1/models", from(APP))).status).toBe(200);
  });

  test("from another Origin, or none, it is 403 origin_not_allowed", async () => {
    const c = apiClient(s.url, pk.key);
    for (const headers of [from(EVIL), from(OTHER), {}, from("null"), from(`${APP}.evil.com`), from("http://app.example.com")]) {
      const r = await c.post<ErrorBody>("/v1/jobs", msg(), headers);
      expect([headers, r.status, r.body.error?.type, r.body.error?.code]).toEqual([headers, 403, "permission_error", "origin_not_allowed"]);
    }
    const evil = await c.post<ErrorBody>("/v1/jobs", msg(), from(EVIL));
    expect(evil.headers.get("access-control-allow-origin")).toBeNull();
    expect(evil.body.error.message).toContain(EVIL);
    // Same rule on every route the key can reach.
    expect((await c.get<ErrorBody>("/v1/models", from(EVIL))).status).toBe(403);
    expect((await c.post<ErrorBody>("/v1/chat/completions", msg(), from(EVIL))).body.error.code).toBe("origin_not_allowed");
  });

  test("it reads only its own jobs: a secret key's job of the same tenant is 404", async () => {
    const c = apiClient(s.url, pk.key);
    const mine = (await c.post<Job>("/v1/jobs", msg("mine"), from(APP))).body.id;
    const theirs = await secret.post<Job>("/v1/jobs", msg("server side"));
    expect(theirs.status).toBe(202);
    for (const path of [`/v1/jobs/${theirs.body.id}`, `/v1/jobs/${theirs.body.id}/events`]) {
      const r = await c.get<ErrorBody>(path, from(APP));
      expect([path, r.status, r.body.error.code]).toEqual([path, 404, "job_not_found"]);
    }
    const cancel = await c.post<ErrorBody>(`/v1/jobs/${theirs.body.id}/cancel`, undefined, from(APP));
    expect(cancel.status).toBe(404);
    // A second publishable key of the same deployment doesn't see the first one's job either.
    const twin = apiClient(s.url, (await newKey(tenantId, { name: "twin", kind: "publishable", deployment_id: widget })).key);
    expect((await twin.get(`/v1/jobs/${mine}`, from(APP))).status).toBe(404);
    expect((await c.get(`/v1/jobs/${mine}`, from(APP))).status).toBe(200);
    // The tenant's secret key sees both (it is the tenant's server).
    expect((await secret.get(`/v1/jobs/${mine}`)).status).toBe(200);
    // And the secret key's job stayed alive.
    expect((await secret.get<Job>(`/v1/jobs/${theirs.body.id}`)).body.status).not.toBe("canceled");
  });

  test("a publishable key is 403 on admin routes", async () => {
    const c = apiClient(s.url, pk.key);
    expect((await c.get<ErrorBody>("/admin/v1/audit", from(APP))).body.error.code).toBe("insufficient_scope");
    expect((await c.post<ErrorBody>(`/admin/v1/tenants/${tenantId}/api-keys`, { name: "x", scopes: ["jobs:read"] }, from(APP))).status).toBe(403);
  });

  test("secret keys are for servers: no Origin needed", async () => {
    const r = await secret.post<Job>("/v1/jobs", msg("server"));
    expect(r.status).toBe(202);
    expect(r.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("CORS preflight", () => {
  test("an allowed origin gets the CORS headers, exactly its own origin", async () => {
    const r = await preflight(APP);
    expect(r.status).toBe(204);
    expect(r.headers.get("access-control-allow-origin")).toBe(APP);
    expect(csv(r.headers.get("vary"))).toContain("origin");
    expect(csv(r.headers.get("access-control-allow-methods"))).toEqual(expect.arrayContaining(["get", "post"]));
    expect(csv(r.headers.get("access-control-allow-headers")).sort()).toEqual(["authorization", "content-type", "idempotency-key", "last-event-id"]);
    expect(Number(r.headers.get("access-control-max-age"))).toBeGreaterThan(0);
    expect(csv(r.headers.get("access-control-expose-headers"))).toEqual(
      expect.arrayContaining(["location", "x-switchyard-job-id", "retry-after", "x-request-id"]),
    );
    // Any deployment's origin passes the preflight (it carries no key); the key decides later.
    expect((await preflight(OTHER, "/v1/jobs/job_x/events")).headers.get("access-control-allow-origin")).toBe(OTHER);
  });

  test("a foreign origin gets a bare 204", async () => {
    for (const origin of [EVIL, "null", `${APP}:8443`]) {
      const r = await preflight(origin);
      expect(r.status).toBe(204);
      for (const h of ["access-control-allow-origin", "access-control-allow-methods", "access-control-allow-headers", "access-control-max-age"]) {
        expect([origin, h, r.headers.get(h)]).toEqual([origin, h, null]);
      }
    }
  });

  test("origin changes reach preflights and keys within ~1 s; a deployment made non-public stops its keys", async () => {
    const NEW = "https://new.example.com";
    const dep = await newDeployment(tenantId, { name: "moving", type: "public", allowed_origins: [APP], rate_limits: roomy });
    const c = apiClient(s.url, (await newKey(tenantId, { name: "moving", kind: "publishable", deployment_id: dep })).key);
    expect((await c.get("/v1/jobs/job_x0000000000", from(APP))).status).toBe(404);
    expect((await preflight(NEW)).headers.get("access-control-allow-origin")).toBeNull();
    const patched = await a.call<{ allowed_origins: string[] }>("PATCH", `/admin/v1/deployments/${dep}`, { body: { allowed_origins: [NEW] } });
    expect(patched.body.allowed_origins).toEqual([NEW]);
    const at = Date.now();
    await waitFor(async () => ((await preflight(NEW)).headers.get("access-control-allow-origin") === NEW ? true : undefined), 3000);
    await waitFor(async () => ((await c.get("/v1/jobs/job_x0000000000", from(NEW))).status === 404 ? true : undefined), 3000);
    await waitFor(async () => ((await c.get("/v1/jobs/job_x0000000000", from(APP))).status === 403 ? true : undefined), 3000);
    expect(Date.now() - at).toBeLessThanOrEqual(1300);
    // APP is still the widget's, so the preflight still passes for it.
    expect((await preflight(APP)).headers.get("access-control-allow-origin")).toBe(APP);

    await a.call("PATCH", `/admin/v1/deployments/${dep}`, { body: { type: "internal" } });
    const denied = await waitFor(async () => {
      const r = await c.get<ErrorBody>("/v1/jobs/job_x0000000000", from(NEW));
      return r.status === 401 ? r : undefined;
    }, 3000);
    expect(denied.body.error.code).toBe("invalid_api_key");
  });
});

describe("key material", () => {
  test("no publishable or secret key is stored in the database or printed", async () => {
    expect(issued.length).toBeGreaterThanOrEqual(4);
    const keys = JSON.stringify(await s.database.db.selectFrom("api_keys").selectAll().execute());
    const audit = JSON.stringify(await s.database.db.selectFrom("audit_log").selectAll().execute());
    const logs = s.apps.get("gateway")!.output();
    for (const key of issued) {
      const secretPart = key.split("_").pop()!;
      expect(secretPart.length).toBeGreaterThanOrEqual(32);
      for (const where of [keys, audit, logs]) expect(where).not.toContain(secretPart);
    }
  });
});
