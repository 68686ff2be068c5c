import { context, trace, TraceFlags, type Context, type Span, type SpanOptions, type Tracer, type TracerProvider } from "@opentelemetry/api";
import { RandomIdGenerator } from "@opentelemetry/sdk-trace";

/**
 * The tracer provider `initTracing` registers when no collector is configured: it records
 * nothing (no span objects with attributes and timings, no processors), but trace ids still flow,
 * so log lines and job payloads carry them.
 *
 * - A span inside a trace (a job's carried context, or a span started here) carries that context
 *   unchanged: same trace id, span id and sampled flag, as the OpenTelemetry API does with no SDK.
 *   A process in the middle of a trace that exports nothing therefore neither drops the trace nor
 *   leaves a gap in its parent chain; the next exporting process's spans hang off the last
 *   exported one.
 * - A span without a parent starts a trace: fresh ids, flagged not sampled (nothing here records
 *   it, so a parent-based sampler downstream drops it too rather than exporting a trace whose root
 *   is missing). Its ids still reach the log lines and, through `injectTraceContext`, the workers.
 */
export class NonRecordingTracerProvider implements TracerProvider {
  private readonly tracer = new NonRecordingTracer();

  getTracer(): Tracer {
    return this.tracer;
  }
}

class NonRecordingTracer implements Tracer {
  private readonly ids = new RandomIdGenerator();

  startSpan(_name: string, options?: SpanOptions, ctx: Context = context.active()): Span {
    const parent = options?.root ? undefined : trace.getSpanContext(ctx);
    if (parent && trace.isSpanContextValid(parent)) return trace.wrapSpanContext(parent);
    return trace.wrapSpanContext({ traceId: this.ids.generateTraceId(), spanId: this.ids.generateSpanId(), traceFlags: TraceFlags.NONE });
  }

  startActiveSpan<F extends (span: Span) => unknown>(name: string, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(name: string, options: SpanOptions, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(name: string, options: SpanOptions, ctx: Context, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(name: string, a: SpanOptions | F, b?: Context | F, c?: F): ReturnType<F> {
    const fn = (c ?? (typeof b === "function" ? b : a)) as F;
    const options = typeof a === "function" ? undefined : a;
    const given = typeof b === "function" ? undefined : b;
    const parentCtx = given ?? context.active();
    const span = this.startSpan(name, options, parentCtx);
    // A span that carries the active context's own span context changes nothing that is active:
    // skip the context switch (one AsyncLocalStorage.run less per span in a worker).
    if (given === undefined && span.spanContext() === trace.getSpanContext(parentCtx)) return fn(span) as ReturnType<F>;
    return context.with(trace.setSpan(parentCtx, span), fn as (span: Span) => ReturnType<F>, undefined, span);
  }
}
