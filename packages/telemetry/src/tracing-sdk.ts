import { context, propagation, trace } from "@opentelemetry/api";
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { asyncContextManager } from "./async-context";
import { NonRecordingTracerProvider } from "./non-recording-tracer-provider";
import { samplerTakesRatio, TRACES_SAMPLERS, tracesSampler, type TracesSamplerName } from "./traces-sampler";

/** Options of {@link initTracing}. */
export interface TracingOptions {
  /** `service.name` of every span this process exports (`gateway`, `router-worker`, …). */
  serviceName: string;
  /**
   * Base URL of an OTLP/HTTP collector (`OTEL_EXPORTER_OTLP_ENDPOINT`, e.g.
   * `http://otel-collector:4318`); spans are POSTed as OTLP JSON to `<endpoint>/v1/traces`.
   * Unset (and no `tracesUrl`): no span is recorded, but trace ids still reach log lines and job
   * payloads (see {@link NonRecordingTracerProvider}).
   */
  endpoint?: string;
  /** Full URL spans are POSTed to (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`); wins over `endpoint`. */
  tracesUrl?: string;
  /**
   * Which spans are recorded and exported (`OTEL_TRACES_SAMPLER`). Default
   * `parentbased_always_on` (every trace started here; a span with a parent follows the parent's
   * sampled flag, so a trace is kept or dropped whole), or `parentbased_traceidratio` when only
   * `sampleRatio` is given. Ignored without a collector: then nothing is recorded.
   */
  sampler?: TracesSamplerName;
  /** The ratio of the `traceidratio` samplers (`OTEL_TRACES_SAMPLER_ARG`), 0..1. Default 1. */
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
 * provider for `@opentelemetry/api`, W3C trace-context (and baggage) propagation, and the
 * AsyncLocalStorage context manager the log context shares (`async-context.ts`), so a span started
 * inside another's callback is its child, across `await`s.
 *
 * With a collector, spans the sampler keeps go to it in batches over OTLP/HTTP (JSON). Without
 * one, nothing is recorded at all. (Until 2026-12 the SDK provider with an always-on sampler
 * built, timed and dropped a full span for every `startSpan` here: ~3 % of the gateway's CPU
 * under `POST /v1/jobs` load, ~1 % now.) Spans are then non-recording carriers of the trace they
 * are in, or of fresh, unsampled ids where none was carried in, so log lines still carry
 * `trace_id` and a job's payload still carries the caller's context to the workers (see
 * {@link NonRecordingTracerProvider}).
 */
export function initTracing(opts: TracingOptions): Tracing {
  // Built (and so checked) with or without a collector: a bad setting fails at start either way.
  const sampler = tracesSampler(opts);
  const url = opts.tracesUrl ?? (opts.endpoint ? `${opts.endpoint.replace(/\/+$/, "")}/v1/traces` : undefined);
  let sdk: TracerProvider | undefined;
  if (url) {
    const exporter = new OTLPTraceExporter({ url, timeoutMillis: opts.exportTimeoutMillis ?? 10_000 });
    sdk = new TracerProvider({
      resource: resourceFromAttributes({ "service.name": opts.serviceName }),
      sampler,
      spanProcessors: [
        new BatchSpanProcessor({ exporter, scheduledDelayMillis: opts.scheduledDelayMillis ?? 5000, exportTimeoutMillis: opts.exportTimeoutMillis ?? 10_000 }),
      ],
    });
  }
  const provider = sdk ?? new NonRecordingTracerProvider();
  // The API refuses to replace a registered global (and says so on its diag logger): replace on purpose.
  context.disable();
  propagation.disable();
  trace.disable();
  context.setGlobalContextManager(asyncContextManager);
  propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));
  trace.setGlobalTracerProvider(provider);

  let closing: Promise<void> | null = null;
  return {
    exporting: sdk !== undefined,
    forceFlush: async () => sdk?.forceFlush(),
    shutdown: (timeoutMs = 5000) =>
      (closing ??= (async () => {
        let timer: NodeJS.Timeout | undefined;
        const giveUp = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs).unref()));
        await Promise.race([sdk?.shutdown().catch(() => undefined), giveUp]);
        clearTimeout(timer);
        trace.disable();
        propagation.disable();
        context.disable();
      })()),
  };
}

/**
 * Tracing settings from OpenTelemetry's standard variables (`OTEL_EXPORTER_OTLP_ENDPOINT`,
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG`,
 * `OTEL_BSP_SCHEDULE_DELAY`, `OTEL_EXPORTER_OTLP_TIMEOUT`), for an app's `main.ts` to pass to
 * {@link initTracing}. Blank values count as unset; a malformed one throws, naming it, so the app
 * fails at start (where the spec would have an SDK log it and carry on with the default).
 *
 * `OTEL_TRACES_SAMPLER_ARG` is the ratio of `traceidratio` and `parentbased_traceidratio` and, as
 * the spec says, is not used by the other samplers. Given without `OTEL_TRACES_SAMPLER` it means
 * `parentbased_traceidratio` (what it meant here before the sampler could be named), rather than
 * being ignored: a deployment that set only the ratio keeps sampling that ratio.
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
  const samplerValue = str("OTEL_TRACES_SAMPLER");
  if (samplerValue !== undefined && !(TRACES_SAMPLERS as readonly string[]).includes(samplerValue)) {
    throw new Error(`OTEL_TRACES_SAMPLER must be one of ${TRACES_SAMPLERS.join(", ")}, got ${JSON.stringify(samplerValue)}`);
  }
  const sampler = samplerValue as TracesSamplerName | undefined;
  const sampleRatio = sampler === undefined || samplerTakesRatio(sampler) ? num("OTEL_TRACES_SAMPLER_ARG", 0, 1) : undefined;
  const scheduledDelayMillis = num("OTEL_BSP_SCHEDULE_DELAY", 0, 600_000);
  const exportTimeoutMillis = num("OTEL_EXPORTER_OTLP_TIMEOUT", 1, 600_000);
  if (endpoint !== undefined) out.endpoint = endpoint;
  if (tracesUrl !== undefined) out.tracesUrl = tracesUrl;
  if (sampler !== undefined) out.sampler = sampler;
  if (sampleRatio !== undefined) out.sampleRatio = sampleRatio;
  if (scheduledDelayMillis !== undefined) out.scheduledDelayMillis = scheduledDelayMillis;
  if (exportTimeoutMillis !== undefined) out.exportTimeoutMillis = exportTimeoutMillis;
  return out;
}
