import { startFakeOtlp, type FakeOtlp } from "@switchyard/testkit";
import { execFile } from "node:child_process";
import path from "node:path";

// Exporting runs in a child process (see tracing.fixture.ts): jest's sandbox cannot load the
// exporter's HTTP transport.
const FIXTURE = path.join(__dirname, "tracing.fixture.ts");
const run = (endpoint: string, scenario: string) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", FIXTURE, endpoint, scenario],
      { cwd: path.resolve(__dirname, "../../.."), timeout: 30_000 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr }),
    );
  });

let fake: FakeOtlp;
beforeAll(async () => {
  fake = await startFakeOtlp();
});
afterAll(() => fake.close());

test("spans reach an OTLP/HTTP collector as JSON with service name, parents, attributes and errors, on the batch timer", async () => {
  const r = await run(fake.url, "nested");
  expect(r).toMatchObject({ code: 0, stderr: "" });
  const spans = fake.spans.filter((s) => s.serviceName === "exporter-test");
  expect(spans.map((s) => s.name).sort()).toEqual(["call", "route", "submit"]);
  const by = (name: string) => spans.find((s) => s.name === name)!;
  expect(by("submit")).toMatchObject({ parentSpanId: null, kind: 2, attributes: { "switchyard.job.id": "job_x", n: 3, ok: true, list: ["a", "b"] } });
  expect(by("submit").traceId).toMatch(/^[0-9a-f]{32}$/);
  expect(by("route")).toMatchObject({ traceId: by("submit").traceId, parentSpanId: by("submit").spanId });
  expect(by("call")).toMatchObject({
    traceId: by("submit").traceId,
    parentSpanId: by("route").spanId,
    statusCode: 2,
    statusMessage: "upstream 503",
    events: ["exception"],
  });
});

test("shutdown flushes spans still buffered", async () => {
  const r = await run(fake.url, "buffered");
  expect(r.code).toBe(0);
  expect(fake.spans.filter((s) => s.serviceName === "buffered-test").map((s) => s.name)).toEqual(["late"]);
});

test("the sampler decides what is exported: parentbased_traceidratio at 0 drops new traces and keeps a sampled caller's", async () => {
  const r = await run(fake.url, "ratio0");
  expect(r).toMatchObject({ code: 0, stderr: "" });
  const spans = fake.spans.filter((s) => s.serviceName === "ratio0-test");
  expect(spans.map((s) => s.name)).toEqual(["carried trace"]);
  expect(spans[0]).toMatchObject({ traceId: "0af7651916cd43dd8448eb211c80319c", parentSpanId: "b7ad6b7169203331" });
});

test("shutdown does not hang on an unreachable collector", async () => {
  const r = await run("http://127.0.0.1:1", "dead");
  expect(r.code).toBe(0);
  expect((JSON.parse(r.stdout) as { shutdownMs: number }).shutdownMs).toBeLessThan(3000);
});
