/** The usage routes: budgets, usage and the daily report of the key's tenant. */
import { json, type RouteContract } from "./route-contract";
import { BudgetList, DailyReport, DailyReportQuery, UsageQuery, UsageSummary } from "./tenant-api";
import { USAGE } from "./tenant-route-common";

/** `/v1/budgets`, `/v1/usage` and `/v1/reports/daily`. */
export const USAGE_ROUTES: readonly RouteContract[] = [
  {
    method: "get",
    path: "/v1/budgets",
    operationId: "budgets",
    summary: "The key's deployment and tenant budgets, this period",
    tag: USAGE,
    auth: { scope: "usage:read" },
    responses: { 200: json(BudgetList, "each budget that applies") },
  },
  {
    method: "get",
    path: "/v1/usage",
    operationId: "usage",
    summary: "The tenant's usage per day, model or deployment",
    tag: USAGE,
    auth: { scope: "usage:read" },
    query: UsageQuery,
    responses: { 200: json(UsageSummary, "one row per group with usage") },
  },
  {
    method: "get",
    path: "/v1/reports/daily",
    operationId: "dailyReport",
    summary: "The stored daily summary (JSON, or CSV with format=csv or Accept: text/csv)",
    tag: USAGE,
    auth: { scope: "reports:read" },
    query: DailyReportQuery,
    responses: {
      200: {
        description: "the report",
        content: [
          { type: "application/json", schema: DailyReport },
          { type: "text/csv", description: "one line per deployment, as a download" },
        ],
      },
    },
    errors: [404],
  },
];
