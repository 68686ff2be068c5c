import { ApiError, DailyReportQuery, UsageQuery, type UsageSummary } from "@switchyard/contracts";
import { getDailyReport, reportToCsv, usageSummary } from "@switchyard/db";
import { Router, type Request } from "express";
import type { Authenticator } from "../middleware/authenticate";
import { requireScopes } from "../middleware/authenticate";
import { principalOf } from "../middleware/request-context";
import type { GatewayResources } from "../resources";
import { parseBody } from "../services/validation";

/** `?format=` wins; otherwise CSV only when the client prefers `text/csv` to JSON. */
function wantsCsv(req: Request, format: "json" | "csv" | undefined): boolean {
  if (format) return format === "csv";
  return req.accepts(["application/json", "text/csv"]) === "text/csv";
}

/**
 * Usage and reports for the key's tenant (never another's):
 * - `GET /v1/usage?from=&to=&group_by=day|model|deployment|end_user` (scope `usage:read`): the
 *   daily rollups summed per group, `{"object":"list","data":[{key, requests, errors, input_tokens,
 *   output_tokens, cost_usd}]}`, groups without usage left out; `from`/`to` are inclusive UTC
 *   days, at most `MAX_USAGE_RANGE_DAYS` (contracts) apart; `group_by` defaults to `day`. Per end user
 *   (the request's `user`), usage that named none is the row with key null.
 * - `GET /v1/reports/daily?date=&format=json|csv` (scope `reports:read`): the stored daily
 *   summary, as JSON or (with `format=csv` or `Accept: text/csv`) as a CSV download; 404 when
 *   that day's report has not been generated.
 */
export function usageReportsRouter(r: GatewayResources, auth: Authenticator): Router {
  const router = Router();

  router.get("/v1/usage", requireScopes(auth, "usage:read"), async (req, res) => {
    const q = parseBody(UsageQuery, req.query);
    const data = await usageSummary(r.db, principalOf(req).tenantId, { from: q.from, to: q.to, groupBy: q.group_by });
    const body: UsageSummary = { object: "list", data };
    res.json(body);
  });

  router.get("/v1/reports/daily", requireScopes(auth, "reports:read"), async (req, res) => {
    const q = parseBody(DailyReportQuery, req.query);
    const stored = await getDailyReport(r.db, principalOf(req).tenantId, q.date);
    res.vary("Accept");
    if (!stored) throw new ApiError("not_found", `no daily report for ${q.date}: reports are generated after the UTC day ends`, "date");
    res.setHeader("Last-Modified", stored.generatedAt.toUTCString());
    if (wantsCsv(req, q.format)) {
      res.setHeader("Content-Type", "text/csv; charset=utf-8");
      res.setHeader("Content-Disposition", `attachment; filename=switchyard-daily-${q.date}.csv`);
      res.send(reportToCsv(stored.report));
      return;
    }
    res.json(stored.report);
  });

  return router;
}
