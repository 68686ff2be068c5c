import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createMetricsRegistry, type MetricsRegistry } from "./metrics";

/** `nodejs_eventloop_lag_seconds` on a fresh registry, served the way every process serves `/metrics`. */
let registry: MetricsRegistry;
let server: Server;
let url: string;

beforeEach(async () => {
  registry = createMetricsRegistry({ serviceName: "lag-test" });
  server = createServer((req, res) => registry.handler(req, res));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
});
afterEach(async () => {
  await new Promise((r) => server.close(r));
  await registry.shutdown();
});

const lag = async (quantile: string) => {
  const text = await (await fetch(url)).text();
  const m = new RegExp(`^nodejs_eventloop_lag_seconds\\{quantile="${quantile}"\\} (\\S+)$`, "m").exec(text);
  if (!m) throw new Error(`no nodejs_eventloop_lag_seconds{quantile="${quantile}"} in:\n${text}`);
  return Number(m[1]);
};
const busy = (ms: number) => {
  const until = Date.now() + ms;
  while (Date.now() < until);
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("a blocked event loop shows in max and p99, an idle one reads near 0, and each scrape starts afresh", async () => {
  // Ticks every LAG_RESOLUTION_MS (50): a 400 ms block makes the next one at least 350 ms late.
  await sleep(120);
  await lag("max"); // drop start-up
  // A scrape resets the histogram and the next tick only re-arms it: let one tick pass before blocking.
  await sleep(70);
  busy(400);
  await sleep(70);
  expect(await lag("max")).toBeGreaterThanOrEqual(0.3);
  await sleep(70);
  busy(400);
  await sleep(70);
  // A few samples, one of them 350+ ms late: that one is the p99.
  expect(await lag("0.99")).toBeGreaterThanOrEqual(0.3);
  await sleep(300);
  expect(await lag("max")).toBeLessThan(0.25);
  await sleep(300);
  expect(await lag("0.5")).toBeLessThan(0.05);
});
