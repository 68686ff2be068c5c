import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createMetricsRegistry, type MetricsRegistry } from "./metrics";
import { createOpsMetrics, recordHttpRequest } from "./ops-metrics";

let registry: MetricsRegistry;
let server: Server;
let url: string;

beforeEach(async () => {
  registry = createMetricsRegistry({ serviceName: "http-test" });
  server = createServer((req, res) => registry.handler(req, res));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
});
afterEach(async () => {
  await new Promise((r) => server.close(r));
  await registry.shutdown();
});

const scrape = async () => (await fetch(url)).text();

test("each (method, route, status) is its own series in both instruments, counted and timed per request", async () => {
  const metrics = createOpsMetrics(registry, { models: [] });
  const recorder = metrics.http;
  recorder.record("POST", "/v1/jobs", 202, 0.004);
  recorder.record("POST", "/v1/jobs", 202, 0.02);
  recorder.record("POST", "/v1/jobs", 429, 0.001);
  recorder.record("GET", "/v1/jobs/:id", 200, 3);
  recordHttpRequest(metrics, { method: "POST", route: "/v1/jobs", status: 202 }, process.hrtime.bigint());
  const text = await scrape();
  expect(text).toContain('http_requests_total{method="POST",route="/v1/jobs",status="202"} 3');
  expect(text).toContain('http_requests_total{method="POST",route="/v1/jobs",status="429"} 1');
  expect(text).toContain('http_requests_total{method="GET",route="/v1/jobs/:id",status="200"} 1');
  expect(text).toContain('http_request_duration_seconds_bucket{method="POST",route="/v1/jobs",status="202",le="0.005"} 2');
  expect(text).toContain('http_request_duration_seconds_bucket{method="POST",route="/v1/jobs",status="202",le="0.025"} 3');
  expect(text).toContain('http_request_duration_seconds_count{method="GET",route="/v1/jobs/:id",status="200"} 1');
  expect(text).toMatch(/http_request_duration_seconds_sum\{method="GET",route="\/v1\/jobs\/:id",status="200"\} 3\b/);
  // The request counter is reported at scrape time, as a counter like before, and keeps counting.
  expect(text).toContain("# TYPE http_requests_total counter");
  recorder.record("POST", "/v1/jobs", 202, 0.001);
  expect(await scrape()).toContain('http_requests_total{method="POST",route="/v1/jobs",status="202"} 4');
});
