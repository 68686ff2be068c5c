import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { Router } from "express";
import type { Authenticator } from "../middleware/authenticate";
import { basicAdminAuth } from "../middleware/basic-admin-auth";
import type { GatewayResources } from "../resources";
import { OpsOverview } from "../services/ops-overview";

/**
 * One HTML file with its CSS and JS inline: no CDN (gateways often run offline). From source it is
 * `src/static/`; the production bundle (`pnpm build`) has a copy in `dist/static/`.
 */
const PAGE =
  [path.join(__dirname, "../static/dashboard.html"), path.join(__dirname, "static/dashboard.html")].find((p) => existsSync(p)) ??
  path.join(__dirname, "../static/dashboard.html");

/** Only the page itself and same-origin fetches; the inline script and style are the page's own. */
const CSP = [
  "default-src 'none'",
  "script-src 'unsafe-inline'",
  "style-src 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join("; ");

/**
 * `/dashboard`, the ops page, and `GET /admin/v1/overview`, the JSON it polls every 2 s. Both take
 * HTTP Basic auth with an `admin` key as the password (what a browser can send once it has
 * prompted), or a Bearer admin key. Mounted before the admin router, whose Bearer-only check would
 * otherwise refuse the browser's fetch of the overview.
 */
export function opsDashboardRouter(r: GatewayResources, auth: Authenticator): Router {
  const html = readFileSync(PAGE, "utf8");
  const overview = new OpsOverview(r);
  const guard = basicAdminAuth(auth);
  const router = Router();

  router.get("/dashboard", guard, (_req, res) => {
    res.setHeader("Content-Security-Policy", CSP);
    res.setHeader("X-Content-Type-Options", "nosniff");
    res.setHeader("Referrer-Policy", "no-referrer");
    res.setHeader("Cache-Control", "no-store");
    res.type("html").send(html);
  });

  router.get("/admin/v1/overview", guard, async (_req, res) => {
    res.setHeader("Cache-Control", "no-store");
    res.json(await overview.build());
  });

  return router;
}
