import { ROOT_CONTEXT, type Attributes, type Histogram, type Meter } from "@opentelemetry/api";
import { MetricNames } from "./metric-names";

/**
 * Distinct (method, route, status) series kept, as the SDK's default cardinality limit; later
 * ones are counted together under `otel.metric.overflow`, as the SDK would.
 */
const MAX_SERIES = 2000;
const OVERFLOW: Attributes = Object.freeze({ "otel.metric.overflow": true });

interface Series {
  attributes: Attributes;
  count: number;
}

/**
 * `http_requests_total{method,route,status}` and `http_request_duration_seconds` (routes are
 * patterns, never raw paths with ids in them). Built by `createOpsMetrics`, one per registry.
 *
 * Each SDK `add`/`record` call hashes its attributes (sorting the keys and JSON-encoding them),
 * about half of what a request's metrics cost; caching the attribute objects does not avoid it.
 * So the request counter is kept here, one number per series, and reported through an
 * observable counter when `/metrics` is scraped (same name, labels and type in the output);
 * only the histogram is recorded through the SDK per request.
 */
export class HttpRequestRecorder {
  private readonly byRoute = new Map<string, Map<string, Map<number, Series>>>();
  private readonly all: Series[] = [];
  private readonly overflow: Series = { attributes: OVERFLOW, count: 0 };
  private readonly duration: Histogram;

  constructor(meter: Meter) {
    this.duration = meter.createHistogram(MetricNames.httpRequestDuration, { description: "HTTP request duration", unit: "s" });
    meter.createObservableCounter(MetricNames.httpRequests, { description: "HTTP requests by method, route and status" }).addCallback((result) => {
      for (const s of this.all) result.observe(s.count, s.attributes);
      if (this.overflow.count > 0) result.observe(this.overflow.count, OVERFLOW);
    });
  }

  /** One request to `route`, answered with `status` after `seconds`. */
  record(method: string, route: string, status: number, seconds: number): void {
    const series = this.series(method, route, status);
    series.count++;
    // An explicit context spares the SDK a lookup of the active one (only attribute processors
    // reading baggage would use it; these instruments have none).
    this.duration.record(seconds, series.attributes, ROOT_CONTEXT);
  }

  private series(method: string, route: string, status: number): Series {
    let byMethod = this.byRoute.get(route);
    let byStatus = byMethod?.get(method);
    const hit = byStatus?.get(status);
    if (hit) return hit;
    if (this.all.length >= MAX_SERIES) return this.overflow;
    const series: Series = { attributes: Object.freeze({ method, route, status: String(status) }), count: 0 };
    if (!byMethod) this.byRoute.set(route, (byMethod = new Map<string, Map<number, Series>>()));
    if (!byStatus) byMethod.set(method, (byStatus = new Map<number, Series>()));
    byStatus.set(status, series);
    this.all.push(series);
    return series;
  }
}
