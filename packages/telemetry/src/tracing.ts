import { context, propagation, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span } from "@opentelemetry/api";

export { SpanKind };

const tracer = () => trace.getTracer("switchyard");

/**
 * Run `fn` in a new span, active for everything `fn` awaits (so spans it starts are its
 * children), that records an exception and ends in `finally`. `kind` defaults to INTERNAL.
 */
export async function startSpan<T>(name: string, attributes: Attributes, fn: (span: Span) => Promise<T>, kind: SpanKind = SpanKind.INTERNAL): Promise<T> {
  return tracer().startActiveSpan(name, { attributes, kind }, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
      throw err;
    } finally {
      span.end();
    }
  });
}

/** The W3C trace context of the active span, to carry inside job data. */
export function injectTraceContext(): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier;
}

/** Run `fn` inside the context carried by a job. */
export function withExtractedContext<T>(carrier: Record<string, string>, fn: () => T): T {
  return context.with(propagation.extract(context.active(), carrier), fn);
}

/** The ids of the active span, for log lines; undefined outside a (valid) span. */
export function activeTraceIds(): { trace_id: string; span_id: string } | undefined {
  return traceIdsOf(context.active());
}

/** The ids of `ctx`'s span; undefined when it has no (valid) span. */
export function traceIdsOf(ctx: Context): { trace_id: string; span_id: string } | undefined {
  const sc = trace.getSpanContext(ctx);
  if (!sc || !trace.isSpanContextValid(sc)) return undefined;
  return { trace_id: sc.traceId, span_id: sc.spanId };
}
