import { context, propagation, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { AlwaysOnSampler, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, TracerProvider, type SpanProcessor } from "@opentelemetry/sdk-trace";

/** Options of {@link initTracing}. */
export interface TracingOptions {
  /** `service.name` of every span this process exports (`gateway`, `router-worker`, …). */
  serviceName: string;
  /**
   * Base URL of an OTLP/HTTP collector (`OTEL_EXPORTER_OTLP_ENDPOINT`, e.g.
   * `http://otel-collector:4318`); spans are POSTed as OTLP JSON to `<endpoint>/v1/traces`.
   * Unset: spans are made (trace ids reach logs and job payloads) but exported nowhere.
   */
  endpoint?: string;
  /** Full URL spans are POSTed to (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`); wins over `endpoint`. */
  tracesUrl?: string;
  /**
   * Share of new traces (started here, without a sampled parent) that are recorded, 0..1.
   * Default 1. Spans with a parent follow the parent's decision, so a trace is kept or dropped whole.
   */
  sampleRatio?: number;
  /** Batch span processor: longest wait before spans are sent (`OTEL_BSP_SCHEDULE_DELAY`). Default 5000 ms. */
  scheduledDelayMillis?: number;
  /** Give up on one export after this long (`OTEL_EXPORTER_OTLP_TIMEOUT`). Default 10000 ms. */
  exportTimeoutMillis?: number;
}

/** A process's tracing, from {@link initTracing}. */
export interface Tracing {
  /** True when spans are exported (an endpoint was given). */
  exporting: boolean;
  /** Send the spans still buffered. */
  forceFlush(): Promise<void>;
  /**
   * Flush what is buffered (waiting at most `timeoutMs`, default 5000, so an unreachable
   * collector cannot hold up a shutdown), stop exporting and unregister the global provider,
   * propagator and context manager.
   */
  shutdown(timeoutMs?: number): Promise<void>;
}

/**
 * Register this process's tracing globally (call once, first thing in `main.ts`): a tracer
 * provider for `@opentelemetry/api`, W3C trace-context (and baggage) propagation, and an
 * AsyncLocalStorage context manager so a span started inside another's callback is its child,
 * across `await`s. With an endpoint, finished spans go to the collector in batches over OTLP/HTTP
 * (JSON); without one they are dropped, but ids still exist for logs and job payloads.
 */
export function initTracing(opts: TracingOptions): Tracing {
  const ratio = opts.sampleRatio ?? 1;
  if (!(ratio >= 0 && ratio <= 1)) throw new Error(`tracing: sampleRatio must be between 0 and 1, got ${ratio}`);
  const url = opts.tracesUrl ?? (opts.endpoint ? `${opts.endpoint.replace(/\/+$/, "")}/v1/traces` : undefined);
  const processors: SpanProcessor[] = [];
  if (url) {
    const exporter = new OTLPTraceExporter({ url, timeoutMillis: opts.exportTimeoutMillis ?? 10_000 });
    processors.push(new BatchSpanProcessor({ exporter, scheduledDelayMillis: opts.scheduledDelayMillis ?? 5000, exportTimeoutMillis: opts.exportTimeoutMillis ?? 10_000 }));
  }
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ "service.name": opts.serviceName }),
    sampler: new ParentBasedSampler({ root: ratio === 1 ? new AlwaysOnSampler() : new TraceIdRatioBasedSampler(ratio) }),
    spanProcessors: processors,
  });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  // The API refuses to replace a registered global (and says so on its diag logger): replace on purpose.
  context.disable();
  propagation.disable();
  trace.disable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));
  trace.setGlobalTracerProvider(provider);

  let closing: Promise<void> | null = null;
  return {
    exporting: url !== undefined,
    forceFlush: () => provider.forceFlush(),
    shutdown: (timeoutMs = 5000) =>
      (closing ??= (async () => {
        let timer: NodeJS.Timeout | undefined;
        const giveUp = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs).unref()));
        await Promise.race([provider.shutdown().catch(() => undefined), giveUp]);
        clearTimeout(timer);
        trace.disable();
        propagation.disable();
        context.disable();
      })()),
  };
}

/**
 * Tracing settings from OpenTelemetry's standard variables (`OTEL_EXPORTER_OTLP_ENDPOINT`,
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `OTEL_TRACES_SAMPLER_ARG`, `OTEL_BSP_SCHEDULE_DELAY`,
 * `OTEL_EXPORTER_OTLP_TIMEOUT`), for an app's `main.ts` to pass to {@link initTracing}. Blank
 * values count as unset; a malformed one throws, naming it, so the app fails at start.
 */
export function tracingEnv(env: Readonly<Record<string, string | undefined>>): Omit<TracingOptions, "serviceName"> {
  const str = (name: string) => {
    const v = env[name]?.trim();
    return v ? v : undefined;
  };
  const url = (name: string) => {
    const v = str(name);
    if (v === undefined) return undefined;
    let protocol: string;
    try {
      protocol = new URL(v).protocol;
    } catch {
      throw new Error(`${name} must be an http(s) URL, got ${JSON.stringify(v)}`);
    }
    if (protocol !== "http:" && protocol !== "https:") throw new Error(`${name} must be an http(s) URL, got ${JSON.stringify(v)}`);
    return v;
  };
  const num = (name: string, min: number, max: number) => {
    const v = str(name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) throw new Error(`${name} must be a number from ${min} to ${max}, got ${JSON.stringify(v)}`);
    return n;
  };
  const out: Omit<TracingOptions, "serviceName"> = {};
  const endpoint = url("OTEL_EXPORTER_OTLP_ENDPOINT");
  const tracesUrl = url("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
  const sampleRatio = num("OTEL_TRACES_SAMPLER_ARG", 0, 1);
  const scheduledDelayMillis = num("OTEL_BSP_SCHEDULE_DELAY", 0, 600_000);
  const exportTimeoutMillis = num("OTEL_EXPORTER_OTLP_TIMEOUT", 1, 600_000);
  if (endpoint !== undefined) out.endpoint = endpoint;
  if (tracesUrl !== undefined) out.tracesUrl = tracesUrl;
  if (sampleRatio !== undefined) out.sampleRatio = sampleRatio;
  if (scheduledDelayMillis !== undefined) out.scheduledDelayMillis = scheduledDelayMillis;
  if (exportTimeoutMillis !== undefined) out.exportTimeoutMillis = exportTimeoutMillis;
  return out;
}
