import { ApiError } from "@switchyard/contracts";
import { daysBetween, getDailyReport, isIsoDay, reportToCsv, usageSummary, USAGE_GROUP_BY } from "@switchyard/db";
import { Router, type Request } from "express";
import { z } from "zod";
import type { Authenticator } from "../middleware/authenticate";
import { requireScopes } from "../middleware/authenticate";
import { principalOf } from "../middleware/request-context";
import type { GatewayResources } from "../resources";
import { parseBody } from "../services/validation";

/** Longest range `GET /v1/usage` answers, in days (inclusive): a leap year. */
export const MAX_USAGE_RANGE_DAYS = 366;

/** A calendar day `YYYY-MM-DD` (UTC), as every dated query takes it. */
export const Day = z.string().refine(isIsoDay, "must be a calendar day YYYY-MM-DD");

/** A query's `from`..`to` (inclusive UTC days): not reversed, at most {@link MAX_USAGE_RANGE_DAYS}. Shared by the usage, analytics and ops usage routes. */
export function checkDayRange(q: { from: string; to: string }, ctx: z.RefinementCtx): void {
  const days = daysBetween(q.from, q.to) + 1;
  if (days < 1) ctx.addIssue({ code: "custom", path: ["from"], message: `must not be after to (${q.to})` });
  else if (days > MAX_USAGE_RANGE_DAYS) ctx.addIssue({ code: "custom", path: ["to"], message: `the range spans ${days} days; at most ${MAX_USAGE_RANGE_DAYS}` });
}

// Strict, so a misspelt parameter (`groupBy=model`) is a 400 rather than silently the default.
const UsageQuery = z.strictObject({ from: Day, to: Day, group_by: z.enum(USAGE_GROUP_BY).default("day") }).superRefine(checkDayRange);

const ReportQuery = z.strictObject({ date: Day, format: z.enum(["json", "csv"]).optional() });

/** `?format=` wins; otherwise CSV only when the client prefers `text/csv` to JSON. */
function wantsCsv(req: Request, format: "json" | "csv" | undefined): boolean {
  if (format) return format === "csv";
  return req.accepts(["application/json", "text/csv"]) === "text/csv";
}

/**
 * Usage and reports for the key's tenant (never another's):
 * - `GET /v1/usage?from=&to=&group_by=day|model|deployment` (scope `usage:read`): the daily
 *   rollups summed per group, `{"object":"list","data":[{key, requests, errors, input_tokens,
 *   output_tokens, cost_usd}]}`, groups without usage left out; `from`/`to` are inclusive UTC
 *   days, at most {@link MAX_USAGE_RANGE_DAYS} apart; `group_by` defaults to `day`.
 * - `GET /v1/reports/daily?date=&format=json|csv` (scope `reports:read`): the stored daily
 *   summary, as JSON or (with `format=csv` or `Accept: text/csv`) as a CSV download; 404 when
 *   that day's report has not been generated.
 */
export function usageReportsRouter(r: GatewayResources, auth: Authenticator): Router {
  const router = Router();

  router.get("/v1/usage", requireScopes(auth, "usage:read"), async (req, res) => {
    const q = parseBody(UsageQuery, req.query);
    const data = await usageSummary(r.db, principalOf(req).tenantId, { from: q.from, to: q.to, groupBy: q.group_by });
    res.json({ object: "list", data });
  });

  router.get("/v1/reports/daily", requireScopes(auth, "reports:read"), async (req, res) => {
    const q = parseBody(ReportQuery, req.query);
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
