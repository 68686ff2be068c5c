import { MetricNames, type MetricsRegistry } from "@switchyard/telemetry";
import { registerQueueMetrics, type QueueSet } from "@switchyard/queue";
import { registerBreakerGauge, type CircuitBreakers } from "@switchyard/routing";

export { withTimeout } from "@switchyard/queue";

/** The gateway's instruments: HTTP, SSE connections, and the shared queue metrics. */
export function createGatewayMetrics(registry: MetricsRegistry, queues: QueueSet, breakers: CircuitBreakers, models: string[]) {
  const m = registry.meter;
  registerBreakerGauge(registry, breakers, models);
  return {
    httpRequests: m.createCounter(MetricNames.httpRequests, { description: "HTTP requests by method, route and status" }),
    httpDuration: m.createHistogram(MetricNames.httpRequestDuration, { description: "HTTP request duration", unit: "s" }),
    sse: m.createUpDownCounter(MetricNames.sseConnections, { description: "Open SSE connections" }),
    rateLimitRejections: m.createCounter(MetricNames.rateLimitRejections, { description: "Requests refused by a rate limit, by the limit" }),
    ...registerQueueMetrics(m, queues),
  };
}
export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;
