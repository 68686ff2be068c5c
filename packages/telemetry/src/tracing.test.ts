import { Writable } from "node:stream";
import { createLogger } from "./logger";
import { addLogContext, withLogContext } from "./log-context";
import { activeTraceIds, injectTraceContext, startSpan, withExtractedContext } from "./tracing";
import { initTracing, tracingEnv, type Tracing } from "./tracing-sdk";

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0([01])$/;

/** Log lines written to memory, parsed. */
function captured() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString("utf8").split("\n").filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { lines, logger: createLogger({ name: "test", destination }) };
}

describe("tracing without an endpoint (nothing recorded; ids for logs and job payloads)", () => {
  let tracing: Tracing;
  beforeAll(() => {
    tracing = initTracing({ serviceName: "unit" });
  });
  afterAll(() => tracing.shutdown());

  it("a span without a parent starts an unsampled trace that spans inside it carry, across awaits; the injected traceparent names it", async () => {
    expect(tracing.exporting).toBe(false);
    const seen = await startSpan("outer", {}, async (outer) => {
      await new Promise((r) => setTimeout(r, 5));
      return startSpan("inner", {}, async (inner) => {
        await Promise.resolve();
        return {
          outer: outer.spanContext(),
          inner: inner.spanContext(),
          recording: [outer.isRecording(), inner.isRecording()],
          ids: activeTraceIds(),
          carrier: injectTraceContext(),
        };
      });
    });
    expect(seen.recording).toEqual([false, false]);
    expect(seen.outer.traceId).toMatch(/^[0-9a-f]{32}$/);
    // Nothing is recorded here, so a nested span adds no span id of its own: it carries the outer one.
    expect(seen.inner).toEqual(seen.outer);
    expect(seen.ids).toEqual({ trace_id: seen.outer.traceId, span_id: seen.outer.spanId });
    const m = TRACEPARENT.exec(seen.carrier.traceparent ?? "");
    expect(m?.slice(1)).toEqual([seen.outer.traceId, seen.outer.spanId, "0"]);
    const other = await startSpan("another request", {}, async (s) => s.spanContext());
    expect(other.traceId).not.toBe(seen.outer.traceId);
  });

  it("a job's carried context reaches the worker's span and log ids unchanged, sampled flag included", async () => {
    // From a gateway that exports: sampled. The worker keeps the trace, the parent span and the flag,
    // so the next process (which may export) continues the same trace under the same parent.
    const carrier = { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" };
    const worker = await withExtractedContext(carrier, () =>
      startSpan("worker", {}, async (s) => ({ ctx: s.spanContext(), ids: activeTraceIds(), onward: injectTraceContext() })),
    );
    expect(worker.ctx).toMatchObject({ traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", traceFlags: 1 });
    expect(worker.ids).toEqual({ trace_id: "0af7651916cd43dd8448eb211c80319c", span_id: "b7ad6b7169203331" });
    expect(worker.onward).toEqual(carrier);
    // From a gateway that does not export: the worker's log lines carry the gateway's trace id.
    const fromGateway = await startSpan("gateway", {}, async () => injectTraceContext());
    const [, traceId] = TRACEPARENT.exec(fromGateway.traceparent ?? "")!;
    expect(await withExtractedContext(fromGateway, () => startSpan("worker", {}, async () => activeTraceIds()?.trace_id))).toBe(traceId);
    expect(injectTraceContext()).toEqual({}); // outside any span: nothing to carry
  });

  it("log context and span share one context: fields set outside a span are seen inside it, and after it", async () => {
    const { lines, logger } = captured();
    await withLogContext({ requestId: "req_1" }, async () => {
      const ids = await startSpan("submit", {}, async (s) => {
        addLogContext({ jobId: "job_9" });
        await new Promise((r) => setTimeout(r, 1));
        logger.info("inside");
        return s.spanContext();
      });
      logger.info("after the span");
      expect(lines[0]).toMatchObject({ msg: "inside", requestId: "req_1", jobId: "job_9", trace_id: ids.traceId });
    });
    expect(lines[1]).toMatchObject({ msg: "after the span", requestId: "req_1", jobId: "job_9" });
    expect(lines[1]).not.toHaveProperty("trace_id");
    // And the other way round: a log context opened inside a span keeps the span.
    const ids = await startSpan("route", {}, async (s) =>
      withLogContext({ jobId: "job_10" }, async () => {
        await Promise.resolve();
        logger.info("nested");
        return s.spanContext();
      }),
    );
    expect(lines[2]).toMatchObject({ msg: "nested", jobId: "job_10", trace_id: ids.traceId, span_id: ids.spanId });
    expect(lines[2]).not.toHaveProperty("requestId");
  });

  it("log lines inside a span carry trace_id and span_id; outside they do not; Authorization stays redacted", async () => {
    const { lines, logger } = captured();
    logger.info({ jobId: "job_1" }, "before");
    const ids = await startSpan("work", {}, async (s) => {
      logger.info({ jobId: "job_1", headers: { authorization: "Bearer sy_live_secret" } }, "inside");
      return s.spanContext();
    });
    expect(lines[0]).not.toHaveProperty("trace_id");
    expect(lines[1]).toMatchObject({ jobId: "job_1", trace_id: ids.traceId, span_id: ids.spanId, headers: { authorization: "[redacted]" } });
    expect(JSON.stringify(lines)).not.toContain("sy_live_secret");
  });

  it("startSpan rethrows and still ends the span", async () => {
    await expect(startSpan("boom", {}, async () => Promise.reject(new Error("kaput")))).rejects.toThrow("kaput");
    expect(activeTraceIds()).toBeUndefined();
  });
});

describe("sampling", () => {
  it("an unsampled trace still has ids for logs, and carries the not-sampled flag to workers", async () => {
    const tracing = initTracing({ serviceName: "unit", sampleRatio: 0 });
    try {
      const carrier = await startSpan("dropped", {}, async (s) => {
        expect(s.isRecording()).toBe(false);
        expect(activeTraceIds()?.trace_id).toMatch(/^[0-9a-f]{32}$/);
        return injectTraceContext();
      });
      expect(TRACEPARENT.exec(carrier.traceparent ?? "")?.[3]).toBe("0");
    } finally {
      await tracing.shutdown();
    }
  });
  it("rejects a ratio outside 0..1", () => {
    expect(() => initTracing({ serviceName: "unit", sampleRatio: 1.5 })).toThrow("sampleRatio must be between 0 and 1, got 1.5");
  });
});

describe("tracingEnv", () => {
  it("reads OpenTelemetry's standard variables; blank ones are unset", () => {
    expect(tracingEnv({})).toEqual({});
    expect(tracingEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: " ", OTEL_BSP_SCHEDULE_DELAY: "" })).toEqual({});
    expect(
      tracingEnv({
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://traces.example/v1/traces",
        OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
        OTEL_TRACES_SAMPLER_ARG: "0.25",
        OTEL_BSP_SCHEDULE_DELAY: "200",
        OTEL_EXPORTER_OTLP_TIMEOUT: "3000",
      }),
    ).toEqual({
      endpoint: "http://collector:4318",
      tracesUrl: "https://traces.example/v1/traces",
      sampler: "parentbased_traceidratio",
      sampleRatio: 0.25,
      scheduledDelayMillis: 200,
      exportTimeoutMillis: 3000,
    });
  });
  it("OTEL_TRACES_SAMPLER_ARG is read only for the ratio samplers (as the spec says)", () => {
    expect(tracingEnv({ OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "0" })).toEqual({ sampler: "traceidratio", sampleRatio: 0 });
    expect(tracingEnv({ OTEL_TRACES_SAMPLER: "traceidratio" })).toEqual({ sampler: "traceidratio" });
    expect(tracingEnv({ OTEL_TRACES_SAMPLER: "always_on", OTEL_TRACES_SAMPLER_ARG: "0.1" })).toEqual({ sampler: "always_on" });
    expect(tracingEnv({ OTEL_TRACES_SAMPLER: " parentbased_always_off " })).toEqual({ sampler: "parentbased_always_off" });
    // The ratio alone keeps meaning what it meant before the sampler could be named: parentbased_traceidratio.
    expect(tracingEnv({ OTEL_TRACES_SAMPLER_ARG: "0.1" })).toEqual({ sampleRatio: 0.1 });
  });
  it.each([
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" }, 'OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL, got "collector:4318"'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "grpc://collector:4317" }, "OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL"],
    [{ OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "half" }, 'OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1, got "half"'],
    [{ OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "1.5" }, 'OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1, got "1.5"'],
    [{ OTEL_TRACES_SAMPLER_ARG: "2" }, 'OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1, got "2"'],
    [
      { OTEL_TRACES_SAMPLER: "sometimes" },
      'OTEL_TRACES_SAMPLER must be one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio, got "sometimes"',
    ],
    [{ OTEL_TRACES_SAMPLER: "jaeger_remote" }, "OTEL_TRACES_SAMPLER must be one of"],
    [{ OTEL_TRACES_SAMPLER: "ALWAYS_ON" }, "OTEL_TRACES_SAMPLER must be one of"],
    [{ OTEL_BSP_SCHEDULE_DELAY: "-1" }, "OTEL_BSP_SCHEDULE_DELAY must be a number from 0 to 600000"],
  ])("%j fails naming the variable", (env, message) => {
    expect(() => tracingEnv(env)).toThrow(message);
  });
});
