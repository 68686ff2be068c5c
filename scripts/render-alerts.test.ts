import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ALERTS_PATH, loadThresholds, parseOverrides, renderAlerts, resolveThresholds, TEMPLATE_PATH } from "./render-alerts";

const template = readFileSync(TEMPLATE_PATH, "utf8");
const defaults = loadThresholds();
const render = (overrides: Record<string, number> = {}) => renderAlerts(template, resolveThresholds(defaults, overrides));

/** The rules of a rendered file, in order: each `- alert:` block's name and text (the template's fixed layout). */
function rules(yaml: string): Array<{ alert: string; text: string }> {
  return yaml
    .split(/^(?= {6}- alert: )/m)
    .slice(1)
    .map((block) => ({ alert: /^ {6}- alert: (\S+)/.exec(block)![1]!, text: block.split(/^ {2}- name: /m)[0]! }));
}
const exprOf = (text: string) => /^ {8}expr: (\|\n(?: {10}.*\n)+|.*\n)/m.exec(text)![1]!;

describe("alert thresholds rendered from the template", () => {
  test("the alerts.yml checked in is the render of the defaults", () => {
    expect(readFileSync(ALERTS_PATH, "utf8")).toBe(render());
  });

  test("an override changes that rule's expression (and its text), and no other rule", () => {
    const before = rules(render());
    const after = rules(render({ AuthFailuresHigh: 20 }));
    expect(after.map((r) => r.alert)).toEqual(before.map((r) => r.alert));
    const changed = after.filter((r, i) => r.text !== before[i]!.text);
    expect(changed.map((r) => r.alert)).toEqual(["AuthFailuresHigh"]);
    const old = before.find((r) => r.alert === "AuthFailuresHigh")!;
    expect(exprOf(old.text)).toBe("sum(rate(ai_auth_failures_total[5m])) * 60 > 30\n");
    expect(exprOf(changed[0]!.text)).toBe("sum(rate(ai_auth_failures_total[5m])) * 60 > 20\n");
    expect(changed[0]!.text).toContain('description: "More than 20 requests a minute have failed authentication');
    // Ratios show as per cent in the text, and keep their ratio in the expression.
    const rag = rules(render({ RAGMissRateHigh: 0.35 })).find((r) => r.alert === "RAGMissRateHigh")!.text;
    expect(exprOf(rag)).toMatch(/> 0\.35\n$/);
    expect(rag).toContain("More than 35 % of retrievals");
  });

  test("of two rules of one alert name, only the overridden tier's changes", () => {
    const before = rules(render());
    const after = rules(render({ "TimeToFirstTokenP95AboveSLO.pro": 3 }));
    const changed = after.flatMap((r, i) => (r.text !== before[i]!.text ? [r] : []));
    expect(changed).toHaveLength(1);
    expect(changed[0]!.text).toContain("tier: pro");
    expect(exprOf(changed[0]!.text)).toMatch(/\) > 3\n$/);
  });

  test("unknown names, values out of bounds and bands out of order are refused", () => {
    expect(() => resolveThresholds(defaults, { AuthFailureHigh: 1 })).toThrow(/unknown threshold AuthFailureHigh/);
    expect(() => resolveThresholds(defaults, { AuthFailuresHigh: 0 })).toThrow(/above 0/);
    expect(() => resolveThresholds(defaults, { HTTP5xxRateHigh: 5 })).toThrow(/at most 1/);
    expect(() => resolveThresholds(defaults, { SSEConnectionsHigh: 250 })).toThrow(/below SSEConnectionsCritical/);
    expect(() => parseOverrides(["AuthFailuresHigh=lots"])).toThrow(/Name=number/);
    expect(() => renderAlerts(template.replace("${AuthFailuresHigh}", "${AuthFailuresHi}"), resolveThresholds(defaults))).toThrow(/AuthFailuresHi/);
  });

  test("the command line: --set and --file overrides, --out, --check", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "alerts-"));
    const file = path.join(dir, "overrides.json");
    writeFileSync(file, JSON.stringify({ QueueDepthHigh: 5000, AuthFailuresHigh: 10 }));
    const run = (...args: string[]) =>
      execFileSync(process.execPath, ["--import", "tsx", path.join(__dirname, "render-alerts.ts"), ...args], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      });
    const out = run("--file", file, "--set", "AuthFailuresHigh=20", "--out", "-");
    expect(out).toBe(render({ QueueDepthHigh: 5000, AuthFailuresHigh: 20 }));
    const target = path.join(dir, "alerts.yml");
    run("--set", "CreditRefusalsHigh=3", "--out", target);
    expect(readFileSync(target, "utf8")).toBe(render({ CreditRefusalsHigh: 3 }));
    expect(run("--check")).toBe("");
  });
});
