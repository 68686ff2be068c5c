import type { ApiKeyView } from "@switchyard/contracts";
import { keyStatus } from "./keys";
import { runAdmin } from "./admin-io.test-helpers";

const view: ApiKeyView = {
  id: "key_1",
  object: "api_key",
  tenant_id: "ten_1",
  deployment_id: null,
  name: "ci",
  kind: "secret",
  scopes: ["jobs:write", "jobs:read"],
  expires_at: null,
  revoked_at: null,
  last_used_at: null,
  replaced_by: null,
  created_at: "2026-03-01T00:00:00.000Z",
};

describe("switchyard keys", () => {
  it("create splits --scopes and prints the secret once, on its own line", async () => {
    const r = await runAdmin(["keys", "create", "ten_1", "ci", "--scopes", "jobs:write, jobs:read"], () => ({
      status: 201,
      body: { ...view, key: "sy_live_key_1_s3cret" },
    }));
    expect(r.code).toBe(0);
    expect(r.requests[0]).toMatchObject({
      method: "POST",
      url: "http://127.0.0.1:8080/admin/v1/tenants/ten_1/api-keys",
      body: { name: "ci", scopes: ["jobs:write", "jobs:read"] },
    });
    expect(r.out).toBe(
      'created API key key_1 "ci" (secret; scopes jobs:write jobs:read; deployment tenant default)\nkey: sy_live_key_1_s3cret\nstore it now: the key is shown only once\n',
    );
  });

  it("--publishable asks for a publishable key for the deployment; scopes may be left out", async () => {
    const r = await runAdmin(["keys", "create", "ten_1", "web", "--publishable", "--deployment", "dep_pub"], () => ({
      status: 201,
      body: { ...view, kind: "publishable", key: "sy_pk_x" },
    }));
    expect(r.requests[0]!.body).toEqual({ name: "web", kind: "publishable", deployment_id: "dep_pub" });
  });

  it.each([
    [["keys", "create", "ten_1", "ci"], "--scopes is required for a secret key"],
    [["keys", "create", "ten_1", "ci", "--scopes", ","], "--scopes must list at least one scope"],
    [["keys", "rotate", "key_1", "--overlap-seconds", "soon"], '--overlap-seconds must be a whole number ≥ 0, got "soon"'],
    [["keys", "revoke"], "missing <id>"],
  ])("%j is exit 2: %s", async (args, message) => {
    const r = await runAdmin(args);
    expect(r).toMatchObject({ code: 2, requests: [] });
    expect(r.err).toContain(message);
  });

  it("list prints a table with each key's state; rotate sends the overlap and says how long the old key lasts", async () => {
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const keys = [view, { ...view, id: "key_2", revoked_at: "2026-03-02T00:00:00.000Z" }, { ...view, id: "key_3", replaced_by: "key_4", expires_at: later }];
    const list = await runAdmin(["keys", "list", "ten_1"], () => ({ body: { object: "list", data: keys } }));
    expect(list.out.split("\n")[0]).toMatch(/^ID +NAME +KIND +SCOPES +DEPLOYMENT +LAST USED +STATUS$/);
    expect(list.out).toMatch(/^key_1 +ci +secret +jobs:write,jobs:read +default +- +active$/m);
    expect(list.out).toMatch(/^key_2 .* revoked$/m);
    expect(list.out).toContain(`replaced by key_4, works until ${later}`);

    const rot = await runAdmin(["keys", "rotate", "key_3", "--overlap-seconds", "3600"], () => ({
      status: 201,
      body: { ...view, id: "key_5", key: "sy_live_new", previous_key: { ...view, id: "key_3", replaced_by: "key_5", expires_at: later } },
    }));
    expect(rot.requests[0]).toMatchObject({ method: "POST", url: "http://127.0.0.1:8080/admin/v1/api-keys/key_3/rotate", body: { overlap_seconds: 3600 } });
    expect(rot.out).toContain(`rotated API key key_3: the old key keeps working until ${later}\nnew API key key_5`);
    expect(rot.out).toContain("key: sy_live_new\n");
  });

  it("keyStatus: an expired key, and a replaced one past its overlap", () => {
    const now = Date.parse("2026-03-10T00:00:00Z");
    expect(keyStatus({ ...view, expires_at: "2026-03-01T00:00:00.000Z" }, now)).toBe("expired");
    expect(keyStatus({ ...view, replaced_by: "key_9", expires_at: "2026-03-01T00:00:00.000Z" }, now)).toBe("replaced by key_9");
    expect(keyStatus({ ...view, expires_at: "2026-04-01T00:00:00.000Z" }, now)).toBe("active until 2026-04-01T00:00:00.000Z");
  });
});
