import { Writable } from "node:stream";
import { createLogger } from "./logger";
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

describe("tracing without an endpoint (ids for logs and job payloads, nothing exported)", () => {
  let tracing: Tracing;
  beforeAll(() => {
    tracing = initTracing({ serviceName: "unit" });
  });
  afterAll(() => tracing.shutdown());

  it("spans nest across awaits; the injected traceparent names the innermost span", async () => {
    expect(tracing.exporting).toBe(false);
    const seen = await startSpan("outer", {}, async (outer) => {
      await new Promise((r) => setTimeout(r, 5));
      return startSpan("inner", {}, async (inner) => {
        await Promise.resolve();
        return { outer: outer.spanContext(), inner: inner.spanContext(), carrier: injectTraceContext() };
      });
    });
    expect(seen.inner.traceId).toBe(seen.outer.traceId);
    expect(seen.inner.spanId).not.toBe(seen.outer.spanId);
    const m = TRACEPARENT.exec(seen.carrier.traceparent ?? "");
    expect(m?.slice(1)).toEqual([seen.inner.traceId, seen.inner.spanId, "1"]);
  });

  it("a job's carried context makes the worker's span a child in the same trace", async () => {
    const carrier = await startSpan("gateway", {}, async () => injectTraceContext());
    const [, traceId, parentId] = TRACEPARENT.exec(carrier.traceparent ?? "")!;
    const worker = await withExtractedContext(carrier, () => startSpan("worker", {}, async (s) => ({ ctx: s.spanContext(), ids: activeTraceIds() })));
    expect(worker.ctx.traceId).toBe(traceId);
    expect(worker.ctx.spanId).not.toBe(parentId);
    expect(worker.ids).toEqual({ trace_id: traceId, span_id: worker.ctx.spanId });
    expect(injectTraceContext()).toEqual({}); // outside any span: nothing to carry
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
        OTEL_TRACES_SAMPLER_ARG: "0.25",
        OTEL_BSP_SCHEDULE_DELAY: "200",
        OTEL_EXPORTER_OTLP_TIMEOUT: "3000",
      }),
    ).toEqual({ endpoint: "http://collector:4318", tracesUrl: "https://traces.example/v1/traces", sampleRatio: 0.25, scheduledDelayMillis: 200, exportTimeoutMillis: 3000 });
  });
  it.each([
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" }, 'OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL, got "collector:4318"'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "grpc://collector:4317" }, "OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL"],
    [{ OTEL_TRACES_SAMPLER_ARG: "half" }, 'OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1, got "half"'],
    [{ OTEL_BSP_SCHEDULE_DELAY: "-1" }, "OTEL_BSP_SCHEDULE_DELAY must be a number from 0 to 600000"],
  ])("%j fails naming the variable", (env, message) => {
    expect(() => tracingEnv(env)).toThrow(message);
  });
});
