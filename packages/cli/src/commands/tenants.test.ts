import { runAdmin } from "./admin-io.test-helpers";

const tenant = {
  id: "ten_1",
  object: "tenant",
  name: "Acme",
  timezone: "Europe/Berlin",
  billing_mode: "prepaid",
  budget: null,
  daily_cost_alert_usd: null,
  default_deployment_id: "dep_1",
  created_at: "2026-03-01T00:00:00.000Z",
};

describe("switchyard tenants", () => {
  it("create POSTs the name and options with the admin key, and prints the tenant", async () => {
    const r = await runAdmin(["tenants", "create", "Acme", "--timezone", "Europe/Berlin", "--billing-mode=prepaid"], () => ({ status: 201, body: tenant }));
    expect(r).toMatchObject({ code: 0, err: "" });
    expect(r.requests).toEqual([
      {
        method: "POST",
        url: "http://127.0.0.1:8080/admin/v1/tenants",
        headers: expect.objectContaining({ authorization: "Bearer sy_live_admin_secret", "content-type": "application/json" }),
        body: { name: "Acme", timezone: "Europe/Berlin", billing_mode: "prepaid" },
      },
    ]);
    expect(r.out).toBe(
      [
        "created tenant ten_1",
        "id                    ten_1",
        "name                  Acme",
        "timezone              Europe/Berlin",
        "billing_mode          prepaid",
        "default_deployment    dep_1",
        "daily_cost_alert_usd  -",
        "created_at            2026-03-01T00:00:00.000Z",
        "",
      ].join("\n"),
    );
  });

  it("--json prints the API's answer as one document; --url and SWITCHYARD_URL pick the gateway", async () => {
    const r = await runAdmin(["tenants", "get", "ten 1", "--json", "--url", "http://gw.internal:9000/"], () => ({ body: tenant }));
    expect(JSON.parse(r.out)).toEqual(tenant);
    expect(r.requests[0]!.url).toBe("http://gw.internal:9000/admin/v1/tenants/ten%201");
    const env = await runAdmin(["tenants", "get", "ten_1"], () => ({ body: tenant }), { SWITCHYARD_URL: "https://sy.example.com", SWITCHYARD_ADMIN_KEY: "k" });
    expect(env.requests[0]).toMatchObject({
      method: "GET",
      url: "https://sy.example.com/admin/v1/tenants/ten_1",
      headers: expect.objectContaining({ authorization: "Bearer k" }),
      body: undefined,
    });
  });

  it("an API error is exit 1 with the API's message, status and code", async () => {
    const r = await runAdmin(["tenants", "get", "ten_nope"], () => ({
      status: 404,
      body: { error: { type: "not_found_error", code: "tenant_not_found", message: "no tenant ten_nope", param: "id", request_id: "req_1" } },
    }));
    expect(r).toMatchObject({ code: 1, out: "", err: "switchyard: no tenant ten_nope (404 tenant_not_found)\n" });
  });

  it("a wrong key says to check it; an unreachable gateway says where it looked", async () => {
    const denied = await runAdmin(["tenants", "get", "ten_1"], () => ({
      status: 401,
      body: { error: { type: "authentication_error", code: "invalid_api_key", message: "invalid API key" } },
    }));
    expect(denied.err).toBe("switchyard: invalid API key (401 invalid_api_key; check SWITCHYARD_ADMIN_KEY)\n");
    const down = await runAdmin(["tenants", "get", "ten_1"], () => {
      throw Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNREFUSED" } });
    });
    expect(down).toMatchObject({
      code: 1,
      err: "switchyard: cannot reach the gateway at http://127.0.0.1:8080 (ECONNREFUSED); is it running? set SWITCHYARD_URL or --url\n",
    });
  });

  it.each([
    [["tenants", "create"], {}, "missing <name>"],
    [["tenants", "create", "A", "B"], {}, 'unexpected argument "B"'],
    [["tenants", "create", "A", "--billing-mode", "free"], {}, '--billing-mode must be one of postpaid, prepaid, got "free"'],
    [["tenants", "get", "ten_1"], { SWITCHYARD_ADMIN_KEY: undefined }, "SWITCHYARD_ADMIN_KEY is not set"],
    [["tenants", "get", "ten_1", "--url", "gw:8080"], {}, "--url must be an http(s) URL"],
    [["tenants", "get", "ten_1"], { SWITCHYARD_URL: "not a url" }, 'SWITCHYARD_URL is not a URL: expected http(s)://host:port, got "not a url"'],
  ])("%j is exit 2 before any request: %s", async (args, env, message) => {
    const r = await runAdmin(args, undefined, { SWITCHYARD_ADMIN_KEY: "k", ...env });
    expect(r.code).toBe(2);
    expect(r.err).toContain(message);
    expect(r.requests).toEqual([]);
  });

  it("the key never appears in an error", async () => {
    const r = await runAdmin(["tenants", "get", "ten_1"], () => ({ status: 500, body: "oops" }));
    expect(r.code).toBe(1);
    expect(r.err).not.toContain("sy_live_admin_secret");
  });
});
