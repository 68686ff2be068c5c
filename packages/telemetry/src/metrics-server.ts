import http from "node:http";
import type { MetricsRegistry } from "./metrics";
import { recordHttpRequest, type OpsMetrics } from "./ops-metrics";

/**
 * A worker's small HTTP server: `/metrics` (Prometheus) and `/health`, plus any extra GET
 * routes (e.g. `/health/ready`). Resolves once listening; `port` 0 picks a free one. With
 * `metrics`, its own requests are counted in `http_requests_total` like the gateway's.
 */
export async function startMetricsServer(opts: {
  port: number;
  host?: string;
  registry: MetricsRegistry;
  routes?: Record<string, () => Promise<{ status: number; body: unknown }>>;
  metrics?: Pick<OpsMetrics, "http">;
}): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const known = path === "/metrics" || path === "/health" || Boolean(opts.routes?.[path]);
    const start = process.hrtime.bigint();
    if (opts.metrics) {
      const m = opts.metrics;
      res.once("close", () => recordHttpRequest(m, { method: req.method ?? "GET", route: known ? path : "unmatched", status: res.statusCode }, start));
    }
    if (path === "/metrics") return opts.registry.handler(req, res);
    const route = path === "/health" ? async () => ({ status: 200, body: { status: "ok" } }) : opts.routes?.[path];
    if (!route) {
      res
        .writeHead(404, { "content-type": "application/json" })
        .end(JSON.stringify({ error: { type: "not_found_error", code: "not_found", message: `no route ${path}` } }));
      return;
    }
    route().then(
      (r) => res.writeHead(r.status, { "content-type": "application/json" }).end(JSON.stringify(r.body)),
      (err: Error) =>
        res
          .writeHead(500, { "content-type": "application/json" })
          .end(JSON.stringify({ error: { type: "api_error", code: "internal_error", message: err.message } })),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host ?? "0.0.0.0", () => resolve());
  });
  const addr = server.address();
  return {
    port: typeof addr === "object" && addr ? addr.port : opts.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
