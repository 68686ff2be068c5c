import type { NextFunction, Request, Response } from "express";
import { recordHttpRequest, type OpsMetrics } from "@switchyard/telemetry";

/**
 * Counts and times every request by its route pattern (never the raw path, so job ids don't
 * explode label cardinality). SSE streams are timed until they close.
 */
export function httpMetrics(metrics: Pick<OpsMetrics, "httpRequests" | "httpDuration">) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const start = process.hrtime.bigint();
    res.once("close", () => {
      const route = req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : "unmatched";
      recordHttpRequest(metrics, { method: req.method, route, status: res.statusCode }, start);
    });
    next();
  };
}
