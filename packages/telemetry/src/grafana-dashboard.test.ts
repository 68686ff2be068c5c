/**
 * The Grafana dashboard Compose provisions (infra/grafana/dashboards/switchyard-overview.json):
 * valid JSON Grafana lays out as meant (unique panel ids, no two panels on the same cells, each
 * panel under a row), every metric its queries chart is one the processes emit (MetricNames),
 * and the "Queue fairness" row (issue 18) charts the queue wait p99 and the deepest tenants.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { MetricNames } from "./metric-names";

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Array<{ expr: string; legendFormat?: string }>;
}

const FILE = path.resolve(__dirname, "../../../infra/grafana/dashboards/switchyard-overview.json");
const dashboard = JSON.parse(readFileSync(FILE, "utf8")) as { uid: string; panels: Panel[] };
const panels = dashboard.panels;
/** Metrics every Node process or Prometheus itself provides, not Switchyard's own. */
const EXTERNAL = new Set(["up", "ALERTS", "nodejs_eventloop_lag_seconds"]);
/**
 * The fair scheduler's metrics (issue 18), charted by the Queue fairness row: named here as well
 * because they were added to MetricNames in a separate change from the dashboard's.
 */
const FAIR_SCHEDULING = new Set(["ai_queue_wait_seconds", "ai_queue_tenant_depth"]);
const PROMQL_WORDS = new Set([
  "sum",
  "max",
  "min",
  "avg",
  "count",
  "by",
  "without",
  "rate",
  "increase",
  "irate",
  "topk",
  "histogram_quantile",
  "clamp_min",
  "le",
]);

/** The metric names a PromQL expression reads (identifiers followed by `{`, `[`, `)` or the end, minus label names and functions). */
function metricsOf(expr: string): string[] {
  const noLabels = expr.replace(/\{[^}]*\}/g, "{}").replace(/\b(by|without) \([^)]*\)/g, "");
  return [...noLabels.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?=\{|\[|\)|,|$|\s*[-+*/><=])/g)]
    .map((m) => m[1]!)
    .filter((n) => !PROMQL_WORDS.has(n) && !/^[0-9]/.test(n));
}
const base = (name: string) => name.replace(/_(bucket|sum|count)$/, "");

describe("switchyard-overview dashboard", () => {
  test("panel ids are unique and no two panels share a cell of the 24-column grid", () => {
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    const taken = new Map<string, string>();
    const clashes: string[] = [];
    for (const p of panels) {
      const { x, y, w, h } = p.gridPos;
      expect([p.title, x + w <= 24]).toEqual([p.title, true]);
      for (let i = x; i < x + w; i++)
        for (let j = y; j < y + h; j++) {
          const cell = `${i},${j}`;
          if (taken.has(cell)) clashes.push(`${p.title} / ${taken.get(cell)!}`);
          taken.set(cell, p.title);
        }
    }
    expect([...new Set(clashes)]).toEqual([]);
  });

  test("panels are listed top to bottom and every panel sits under a row", () => {
    const ys = panels.map((p) => p.gridPos.y);
    expect(ys).toEqual([...ys].sort((a, b) => a - b));
    expect(panels[0]!.type).toBe("row");
  });

  test("every metric a query charts is one Switchyard emits (MetricNames) or a standard one", () => {
    const known = new Set<string>([...Object.values(MetricNames), ...FAIR_SCHEDULING]);
    const unknown = panels.flatMap((p) => (p.targets ?? []).flatMap((t) => metricsOf(t.expr).filter((m) => !known.has(base(m)) && !EXTERNAL.has(m))));
    expect(unknown).toEqual([]);
    // The extraction finds what it should (a check that cannot pass vacuously).
    expect(metricsOf("histogram_quantile(0.99, sum by (le, tenant_class, priority) (rate(ai_queue_wait_seconds_bucket[5m])))")).toEqual([
      "ai_queue_wait_seconds_bucket",
    ]);
    expect(metricsOf('max by (queue) (ai_queue_depth_total{state="failed"})')).toEqual(["ai_queue_depth_total"]);
  });

  test('a "Queue fairness" row charts the queue wait p99 by tenant class and priority and the ten deepest tenants', () => {
    const row = panels.findIndex((p) => p.type === "row" && p.title === "Queue fairness");
    expect(row).toBeGreaterThan(0);
    const next = panels.findIndex((p, i) => i > row && p.type === "row");
    const inRow = panels.slice(row + 1, next === -1 ? undefined : next);
    const exprs = inRow.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    expect(exprs).toEqual([
      "histogram_quantile(0.99, sum by (le, tenant_class, priority) (rate(ai_queue_wait_seconds_bucket[5m])))",
      "topk(10, ai_queue_tenant_depth)",
    ]);
    expect(inRow.map((p) => p.targets![0]!.legendFormat)).toEqual(["{{tenant_class}} {{priority}}", "{{tenant}}"]);
  });
});
