import { StoredDeploymentSettings, StoredScopes } from "@switchyard/contracts";
import { CorruptRowError, isCorruptRowError, parseRow } from "./parse-row";

describe("parseRow", () => {
  it("returns the parsed value of a sound column or row", () => {
    expect(parseRow(StoredScopes, ["jobs:read"], { table: "api_keys", key: "k1", column: "scopes" })).toEqual(["jobs:read"]);
    const row = {
      id: "dep_1",
      features: {},
      rate_limits: { requests_per_minute: 3 },
      budget: null,
      allowed_models: null,
      allowed_origins: [],
      allowed_source_domains: [],
      queue_weight: 1,
      max_concurrent_jobs: null,
      max_queue_ms: null,
    };
    // Columns the schema does not name are left out of what it returns.
    expect(parseRow(StoredDeploymentSettings, row, { table: "deployments", key: "dep_1" })).not.toHaveProperty("id");
  });

  it("names the table, the key and the column path of the first problem, counts the rest, and never quotes the value", () => {
    let caught: unknown;
    try {
      parseRow(
        StoredDeploymentSettings,
        {
          features: { x: "secret-value" },
          rate_limits: [],
          allowed_origins: [],
          allowed_source_domains: [],
          queue_weight: 1,
          max_concurrent_jobs: null,
          max_queue_ms: null,
        },
        { table: "deployments", key: "dep_9" },
      );
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(CorruptRowError);
    const err = caught as CorruptRowError;
    expect(err).toMatchObject({ name: "CorruptRowError", code: "corrupt_row", retryable: false, table: "deployments", key: "dep_9", column: "features.x" });
    expect(err.message).toMatch(/^corrupt row in deployments \(dep_9\): column features\.x: .+ \(and 3 more\)$/);
    expect(err.message).not.toContain("secret-value");
    expect(() => parseRow(StoredScopes, "admin", { table: "api_keys", key: "k1", column: "scopes" })).toThrow(
      /^corrupt row in api_keys \(k1\): column scopes: /,
    );
  });

  it("isCorruptRowError knows one by name and code (a second copy of the class), and nothing else", () => {
    const copy = Object.assign(new Error("corrupt row in t (k): column c: bad"), { name: "CorruptRowError", code: "corrupt_row" });
    expect(isCorruptRowError(copy)).toBe(true);
    expect(isCorruptRowError(new Error("corrupt_row"))).toBe(false);
    expect(isCorruptRowError({ name: "CorruptRowError", code: "corrupt_row" })).toBe(false);
  });
});
