import { runAdmin } from "./admin-io.test-helpers";

const features = {
  smartRouting: true,
  multiModelComparison: false,
  modelPreference: false,
  ragEnabled: true,
  knowledgeBaseEnabled: true,
  visionEnabled: false,
  streamingEnabled: true,
  feedbackEnabled: true,
  analyticsEnabled: true,
};
const dep = {
  id: "dep_2",
  object: "deployment",
  tenant_id: "ten_1",
  name: "site",
  type: "public",
  is_default: false,
  features,
  rate_limits: {},
  effective_rate_limits: {
    requests_per_minute: 10,
    requests_per_hour: 100,
    requests_per_day: 1000,
    tokens_per_request: 4000,
    tokens_per_day: 50000,
    windows: [],
  },
  budget: null,
  model_preference: null,
  allowed_models: null,
  allowed_origins: [],
  allowed_source_domains: [],
  created_at: "2026-03-01T00:00:00.000Z",
  updated_at: "2026-03-01T00:00:00.000Z",
};

describe("switchyard deployments", () => {
  it("create sends name, type and preset, and prints the deployment", async () => {
    const r = await runAdmin(["deployments", "create", "ten_1", "site", "--type", "public", "--preset", "standard"], () => ({ status: 201, body: dep }));
    expect(r.requests[0]).toMatchObject({
      method: "POST",
      url: "http://127.0.0.1:8080/admin/v1/tenants/ten_1/deployments",
      body: { name: "site", type: "public", preset: "standard" },
    });
    expect(r.out).toContain("created deployment dep_2\n");
    expect(r.out).toMatch(/^features on +smartRouting, ragEnabled, knowledgeBaseEnabled, streamingEnabled, feedbackEnabled, analyticsEnabled$/m);
    expect(r.out).toMatch(/^requests\/min +10$/m);
  });

  it("feature sends enabled true/false to the feature's path; preset sends the preset", async () => {
    const off = await runAdmin(["deployments", "feature", "dep_2", "ragEnabled", "off"], () => ({
      body: { ...dep, features: { ...features, ragEnabled: false } },
    }));
    expect(off.requests[0]).toMatchObject({
      method: "POST",
      url: "http://127.0.0.1:8080/admin/v1/deployments/dep_2/features/ragEnabled",
      body: { enabled: false },
    });
    expect(off.out).toBe("deployment dep_2: ragEnabled off\n");
    const p = await runAdmin(["deployments", "preset", "dep_2", "minimal", "--json"], () => ({ body: dep }));
    expect(p.requests[0]).toMatchObject({ url: "http://127.0.0.1:8080/admin/v1/deployments/dep_2/preset", body: { preset: "minimal" } });
    expect(JSON.parse(p.out)).toEqual(dep);
  });

  it.each([
    [["deployments", "create", "ten_1", "site"], "--type is required: one of public, internal, hybrid"],
    [["deployments", "create", "ten_1", "site", "--type", "private"], '--type must be one of public, internal, hybrid, got "private"'],
    [["deployments", "feature", "dep_2", "ragEnabled", "maybe"], 'the last argument must be on or off, got "maybe"'],
    [["deployments", "feature", "dep_2", "ragEnabled"], "missing <on|off>"],
  ])("%j is exit 2: %s", async (args, message) => {
    const r = await runAdmin(args);
    expect(r).toMatchObject({ code: 2, requests: [] });
    expect(r.err).toContain(message);
  });
});
