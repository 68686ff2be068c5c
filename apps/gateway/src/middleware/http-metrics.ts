import type { NextFunction, Request, Response } from "express";
import type { OpsMetrics } from "@switchyard/telemetry";

/**
 * Counts and times every request by its route pattern (never the raw path, so job ids don't
 * explode label cardinality). Timed until the response's `close`, so SSE streams count until the
 * client or the server ends them. The listener is added with `on`, not `once` ('close' comes once
 * per response anyway, and `once`'s wrapper cost as much again as the rest of adding it); a
 * closure per request measured cheaper than one shared listener reading the start time from a
 * property added to the response. What recording costs is in `HttpRequestRecorder`.
 */
export function httpMetrics(metrics: Pick<OpsMetrics, "http">) {
  const recorder = metrics.http;
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = performance.now();
    res.on("close", () => {
      const path = (req.route as { path?: string | RegExp } | undefined)?.path;
      const route = path ? `${req.baseUrl}${path.toString()}` : "unmatched";
      recorder.record(req.method, route, res.statusCode, (performance.now() - started) / 1000);
    });
    next();
  };
}
