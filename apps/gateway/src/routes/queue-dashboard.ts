import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { ExpressAdapter } from "@bull-board/express";
import { ApiError } from "@switchyard/contracts";
import { Router, type NextFunction, type Request, type RequestHandler, type Response } from "express";
import type { Authenticator } from "../middleware/authenticate";
import { basicAdminAuth } from "../middleware/basic-admin-auth";
import type { GatewayResources } from "../resources";

/** Where the BullMQ dashboard is served. */
export const QUEUE_DASHBOARD_PATH = "/admin/queues";

/**
 * The page's own assets only: bull-board's HTML links a web font from a CDN, which an offline
 * gateway cannot reach and an operator's browser should not be sent to; it falls back to local fonts.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'self'",
  "form-action 'none'",
].join("; ");

/**
 * Read-only: the dashboard may show everything but change nothing. Its buttons would add jobs
 * that skip admission (budgets, validation), or retry/clean/pause/obliterate without an audit row.
 * Mutations go through `/admin/v1/queues/…`, which are audited. bull-board enforces `readOnlyMode`
 * itself; this refuses every write before it reaches bull-board as well.
 */
function readOnly(req: Request, _res: Response, next: NextFunction): void {
  if (req.method !== "GET" && req.method !== "HEAD") {
    throw new ApiError("feature_disabled", "the queue dashboard is read-only: use POST /admin/v1/queues/{queue}/retry-failed or /clean-stuck (audited)");
  }
  next();
}

function securityHeaders(_req: Request, res: Response, next: NextFunction): void {
  res.setHeader("Content-Security-Policy", CSP);
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.setHeader("Referrer-Policy", "no-referrer");
  res.setHeader("Cache-Control", "no-store");
  next();
}

/**
 * `/admin/queues`: bull-board over every queue in the catalog, for operators in a browser. HTTP
 * Basic auth with an `admin` key as the password (or a Bearer admin key).
 */
export function queueDashboardRouter(r: GatewayResources, auth: Authenticator): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(QUEUE_DASHBOARD_PATH);
  createBullBoard({
    queues: r.queues.dashboardQueues().map((q) => new BullMQAdapter(q, { readOnlyMode: true })),
    serverAdapter,
    options: { uiConfig: { boardTitle: "Switchyard queues" } },
  });
  // bull-board types its router as any; it is express middleware.
  const board = serverAdapter.getRouter() as RequestHandler;
  const router = Router();
  router.use(QUEUE_DASHBOARD_PATH, basicAdminAuth(auth), readOnly, securityHeaders, board);
  return router;
}
