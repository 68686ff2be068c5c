import type { Meter } from "@opentelemetry/api";
import { MetricNames } from "./metric-names";

/** What the gateway's SSE event hub counts since it started. */
export interface SseHubCounters {
  jobs: number;
  noticesRead: number;
  streamReads: number;
  eventsDelivered: number;
  resyncs: number;
  /** Job-event streams cut because the client read too slowly. */
  slowCut: number;
}

/**
 * The gateway's SSE fan-out: jobs followed, notices read, stream reads, events handed to
 * followers, full re-reads after lost notices (read from `stats` at each scrape), and the delivery
 * lag histogram: how old an event is (its stream id's time) when the hub hands it on, observed
 * once per stream read, not per follower.
 */
export function registerSseHubMetrics(meter: Meter, stats: () => SseHubCounters): { lag: { record(seconds: number): void } } {
  meter
    .createObservableGauge(MetricNames.sseFollowedJobs, { description: "Jobs this gateway's SSE followers follow" })
    .addCallback((o) => o.observe(stats().jobs));
  const counter = (name: string, description: string, read: (s: SseHubCounters) => number) =>
    meter.createObservableCounter(name, { description }).addCallback((o) => o.observe(read(stats())));
  counter(MetricNames.sseNoticesRead, "Event notices read by the SSE hub's tail", (s) => s.noticesRead);
  counter(MetricNames.sseStreamReads, "Job event streams read for SSE followers (one per moved job per round trip)", (s) => s.streamReads);
  counter(MetricNames.sseEventsDelivered, "Events handed to SSE followers (one per follower)", (s) => s.eventsDelivered);
  counter(MetricNames.sseResyncs, "Full re-reads of every followed stream after notices may have been lost", (s) => s.resyncs);
  counter(MetricNames.sseSlowCut, "Job-event streams cut because the client read slower than its job wrote (SSE_MAX_BUFFERED_BYTES)", (s) => s.slowCut);
  const lag = meter.createHistogram(MetricNames.sseDeliveryLag, {
    description: "Age of an event (its stream id) when the SSE hub hands it to followers, seconds",
    unit: "s",
    advice: { explicitBucketBoundaries: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] },
  });
  return { lag };
}
