import type { IncomingMessage, ServerResponse } from "node:http";
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
  return {
    meter: provider.getMeter("switchyard"),
    handler: (req, res) => exporter.getMetricsRequestHandler(req, res),
    shutdown: () => provider.shutdown(),
  };
}
