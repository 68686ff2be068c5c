import type { BudgetUsage } from "./budget-ledger";
import { BudgetUsedRatios } from "./budget-used-ratios";

const usage = (used_ratio: number, period_end: string, scope: "tenant" | "deployment" = "deployment"): BudgetUsage => ({
  scope,
  id: "x",
  period: "day",
  period_key: "k",
  period_start: "2026-11-23T00:00:00.000Z",
  period_end,
  spent_usd: 0,
  spent_tokens: 0,
  reserved_usd: 0,
  reserved_tokens: 0,
  used_ratio,
});
const NOW = Date.parse("2026-11-23T12:00:00Z");

test("a deployment reports the highest ratio among its budgets' current periods", () => {
  const r = new BudgetUsedRatios();
  r.note("dep_a", [usage(0.4, "2026-11-24T00:00:00.000Z"), usage(0.85, "2026-12-01T00:00:00.000Z", "tenant")]);
  r.note("dep_b", []);
  expect(r.current(NOW)).toEqual(
    new Map([
      ["dep_a", 0.85],
      ["dep_b", 0],
    ]),
  );
});

test("a period that has ended stops counting, so the gauge falls when the day rolls over", () => {
  const r = new BudgetUsedRatios();
  r.note("dep_a", [usage(0.95, "2026-11-24T00:00:00.000Z"), usage(0.3, "2026-12-01T00:00:00.000Z", "tenant")]);
  expect(r.current(NOW).get("dep_a")).toBe(0.95);
  expect(r.current(Date.parse("2026-11-24T00:00:01Z")).get("dep_a")).toBe(0.3);
  expect(r.current(Date.parse("2026-12-01T00:00:01Z")).get("dep_a")).toBe(0);
});

test("the newest note replaces the last, and the least recently noted deployment goes past the bound", () => {
  const r = new BudgetUsedRatios(2);
  r.note("dep_a", [usage(0.5, "2026-11-24T00:00:00.000Z")]);
  r.note("dep_b", [usage(0.6, "2026-11-24T00:00:00.000Z")]);
  r.note("dep_a", [usage(0.7, "2026-11-24T00:00:00.000Z")]);
  r.note("dep_c", [usage(0.1, "2026-11-24T00:00:00.000Z")]);
  expect([...r.current(NOW)]).toEqual([
    ["dep_a", 0.7],
    ["dep_c", 0.1],
  ]);
});
