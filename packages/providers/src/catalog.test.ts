import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadCatalog } from "./catalog";

const defaultCatalog = join(__dirname, "../../../config/models.json");

function writeTemp(content: string): string {
  const path = join(mkdtempSync(join(tmpdir(), "catalog-")), "models.json");
  writeFileSync(path, content);
  return path;
}

describe("loadCatalog", () => {
  it("loads the default catalog with every tier for simulated, OpenAI, Anthropic and Gemini models", () => {
    const c = loadCatalog(defaultCatalog);
    expect(c.default_model).toBe("sim-flash");
    const byId = new Map(c.models.map((m) => [m.id, m]));
    expect([...byId.keys()].sort()).toEqual([
      "claude-haiku-4-5",
      "claude-opus-4-5",
      "claude-sonnet-4-5",
      "gemini-2.5-flash",
      "gemini-2.5-flash-lite",
      "gemini-2.5-pro",
      "gpt-4.1",
      "gpt-4.1-nano",
      "gpt-4o-mini",
      "sim-flash",
      "sim-lite",
      "sim-pro",
    ]);
    expect(["sim-lite", "sim-flash", "sim-pro"].map((id) => byId.get(id)?.tier)).toEqual(["lite", "flash", "pro"]);
    expect(["gpt-4.1-nano", "gpt-4o-mini", "gpt-4.1"].map((id) => byId.get(id)?.tier)).toEqual(["lite", "flash", "pro"]);
    expect(["claude-haiku-4-5", "claude-sonnet-4-5", "claude-opus-4-5"].map((id) => byId.get(id)?.tier)).toEqual(["lite", "flash", "pro"]);
    expect(["gemini-2.5-flash-lite", "gemini-2.5-flash", "gemini-2.5-pro"].map((id) => byId.get(id)?.tier)).toEqual(["lite", "flash", "pro"]);
    // Every real-provider entry can be served by `simulated` when its provider has no key.
    for (const m of c.models.filter((x) => x.provider !== "simulated")) expect(m.simulated).toBeDefined();
    for (const m of c.models.filter((x) => x.provider === "simulated")) {
      expect(m.simulated?.ttft_ms).toBeGreaterThanOrEqual(30);
      expect(m.simulated?.ttft_ms).toBeLessThanOrEqual(150);
      expect(m.simulated?.tokens_per_second).toBeGreaterThanOrEqual(150);
      expect(m.simulated?.tokens_per_second).toBeLessThanOrEqual(400);
      expect(m.simulated?.failure_rate).toBe(0);
    }
    expect(byId.get("gpt-4o-mini")?.pricing).toEqual({ input: 0.15, output: 0.6, cached_input: 0.075 });
  });

  it("names the file and the offending field", () => {
    const c = JSON.parse(JSON.stringify(loadCatalog(defaultCatalog))) as { models: Array<{ pricing: { input: unknown } }> };
    c.models[2]!.pricing.input = "cheap";
    const path = writeTemp(JSON.stringify(c));
    expect(() => loadCatalog(path)).toThrow(path);
    expect(() => loadCatalog(path)).toThrow(/models\[2\]\.pricing\.input: /);
  });

  it("reports a default_model that is not in the list, and broken JSON, with the file name", () => {
    const c = { ...loadCatalog(defaultCatalog), default_model: "nope" };
    const path = writeTemp(JSON.stringify(c));
    expect(() => loadCatalog(path)).toThrow(/default_model: default_model nope is not in models/);
    const broken = writeTemp("{ not json");
    expect(() => loadCatalog(broken)).toThrow(`model catalog ${broken} is not valid JSON`);
    expect(() => loadCatalog("/nonexistent/models.json")).toThrow("cannot read model catalog /nonexistent/models.json");
  });
});
