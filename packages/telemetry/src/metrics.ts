import type { IncomingMessage, ServerResponse } from "node:http";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { AggregationType, InstrumentType, MeterProvider, type ViewOptions } from "@opentelemetry/sdk-metrics";
import type { Meter } from "@opentelemetry/api";
import { MetricNames } from "./metric-names";

/** Buckets (seconds) for request and job latency histograms. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface MetricsRegistry {
  meter: Meter;
  /** Serves the Prometheus text format. */
  handler(req: IncomingMessage, res: ServerResponse): void;
  shutdown(): Promise<void>;
}

/**
 * A fresh meter provider with the Prometheus exporter (no server of its own: the app mounts
 * `handler`). One per process; tests make their own.
 */
export function createMetricsRegistry(opts: { serviceName: string }): MetricsRegistry {
  const exporter = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true, withoutTargetInfo: true });
  const views: ViewOptions[] = [MetricNames.httpRequestDuration, MetricNames.jobTtft, MetricNames.jobDuration].map((name) => ({
    instrumentName: name,
    instrumentType: InstrumentType.HISTOGRAM,
    aggregation: { type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM, options: { boundaries: LATENCY_BUCKETS } },
  }));
  const provider = new MeterProvider({ resource: resourceFromAttributes({ "service.name": opts.serviceName }), readers: [exporter], views });
  const meter = provider.getMeter("switchyard");
  const stopLag = observeEventLoopLag(meter);
  return {
    meter,
    handler: (req, res) => exporter.getMetricsRequestHandler(req, res),
    shutdown: async () => {
      stopLag();
      await provider.shutdown();
    },
  };
}

/**
 * Event-loop delay sampling period (ms) of `nodejs_eventloop_lag_seconds` (and the batch
 * throttle's lag signal). Each tick wakes an idle process: at 10 ms that alone cost 0.75 % of a
 * core per process (Node 24, measured with process.cpuUsage over 20 s), at 50 ms 0.16 %; a lag
 * worth alerting on (100 ms) still shows in full.
 */
export const LAG_RESOLUTION_MS = 50;

/**
 * `nodejs_eventloop_lag_seconds{quantile="0.5"|"0.99"|"max"}`: how late the event loop ran a
 * 50 ms timer (perf_hooks' `monitorEventLoopDelay`, which records the time between ticks; the
 * 50 ms itself is taken off, so an idle loop reads ~0), since the previous scrape, which resets it
 * (as prom-client's default metrics do; with two scrapers each sees the lag since either's last
 * scrape). 0 before the first sample. Every process has a registry, so every `/metrics` carries
 * it. Returns the function that stops sampling.
 */
function observeEventLoopLag(meter: Meter): () => void {
  const h = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
  h.enable();
  const late = (ns: number) => (h.count === 0 ? 0 : Math.max(0, ns / 1e9 - LAG_RESOLUTION_MS / 1e3));
  meter
    .createObservableGauge(MetricNames.eventLoopLag, {
      description: "How late the event loop ran a 50 ms timer since the previous scrape, seconds, by quantile (0.5, 0.99, max)",
    })
    .addCallback((obs) => {
      obs.observe(late(h.percentile(50)), { quantile: "0.5" });
      obs.observe(late(h.percentile(99)), { quantile: "0.99" });
      obs.observe(late(h.max), { quantile: "max" });
      h.reset();
    });
  return () => h.disable();
}
