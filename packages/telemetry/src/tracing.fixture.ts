/**
 * Run by tracing.int.test.ts as a child process: jest's module sandbox cannot run the dynamic
 * `import("http")` the OTLP exporter sends with, so exporting is tested in a real process, as
 * the apps run. argv: endpoint, scenario (`nested` | `buffered` | `dead` | `ratio0`).
 */
import { injectTraceContext, SpanKind, startSpan, withExtractedContext } from "./tracing";
import { initTracing } from "./tracing-sdk";

async function main(): Promise<void> {
  const [endpoint, scenario] = process.argv.slice(2);
  if (!endpoint || !scenario) throw new Error("usage: tracing.fixture.ts <endpoint> <nested|buffered|dead|ratio0>");
  if (scenario === "nested") {
    initTracing({ serviceName: "exporter-test", endpoint, scheduledDelayMillis: 50 });
    const carrier = await startSpan(
      "submit",
      { "switchyard.job.id": "job_x", n: 3, ok: true, list: ["a", "b"] },
      async () => injectTraceContext(),
      SpanKind.SERVER,
    );
    await withExtractedContext(carrier, () =>
      startSpan("route", {}, async () => {
        await startSpan("call", {}, async () => Promise.reject(new Error("upstream 503"))).catch(() => undefined);
      }),
    );
    // No flush: the batch timer must send them. Stay alive until the parent has seen them.
    await new Promise((r) => setTimeout(r, 2000));
    process.exit(0);
  }
  if (scenario === "ratio0") {
    // No new trace is sampled here; one carried in sampled is still recorded.
    const tracing = initTracing({ serviceName: "ratio0-test", endpoint, sampler: "parentbased_traceidratio", sampleRatio: 0 });
    await startSpan("new trace", {}, async () => undefined);
    await withExtractedContext({ traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" }, () =>
      startSpan("carried trace", {}, async () => undefined),
    );
    await tracing.shutdown(5000);
    return;
  }
  const tracing = initTracing({ serviceName: `${scenario}-test`, endpoint, scheduledDelayMillis: 60_000, exportTimeoutMillis: 30_000 });
  await startSpan("late", {}, async () => undefined);
  const t0 = Date.now();
  await tracing.shutdown(500);
  process.stdout.write(`${JSON.stringify({ shutdownMs: Date.now() - t0 })}\n`);
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? err.message}\n`);
  process.exit(1);
});
