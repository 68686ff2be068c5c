import type { NextFunction, Request, Response } from "express";
import type { GatewayMetrics } from "../gateway-metrics";

/**
 * Counts and times every request by its route pattern (never the raw path, so job ids don't
 * explode label cardinality). SSE streams are timed until they close.
 */
export function httpMetrics(metrics: GatewayMetrics) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const start = process.hrtime.bigint();
    res.once("close", () => {
      const route = req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : "unmatched";
      const labels = { method: req.method, route, status: String(res.statusCode) };
      metrics.httpRequests.add(1, labels);
      metrics.httpDuration.record(Number(process.hrtime.bigint() - start) / 1e9, labels);
    });
    next();
  };
}
