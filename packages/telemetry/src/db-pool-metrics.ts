import type { Meter } from "@opentelemetry/api";
import { MetricNames } from "./metric-names";

/** A Postgres connection pool's figures at a scrape. */
export interface DbPoolFigures {
  total: number;
  idle: number;
  waiting: number;
  max: number;
}

/**
 * `db_pool_connections{state="idle|in_use"}`, `db_pool_waiting_requests` and
 * `db_pool_max_connections`, read from `stats` at each scrape (nothing is observed when the
 * process has no pool, e.g. on an embedded database).
 */
export function registerDbPoolMetrics(meter: Meter, stats: () => DbPoolFigures | undefined): void {
  meter.createObservableGauge(MetricNames.dbPoolConnections, { description: "Postgres connections of this process's pool, by state" }).addCallback((o) => {
    const s = stats();
    if (!s) return;
    o.observe(s.idle, { state: "idle" });
    o.observe(s.total - s.idle, { state: "in_use" });
  });
  meter
    .createObservableGauge(MetricNames.dbPoolWaiting, { description: "Queries waiting for a Postgres connection from this process's pool" })
    .addCallback((o) => {
      const s = stats();
      if (s) o.observe(s.waiting);
    });
  meter.createObservableGauge(MetricNames.dbPoolMax, { description: "Most Postgres connections this process's pool opens" }).addCallback((o) => {
    const s = stats();
    if (s) o.observe(s.max);
  });
}
