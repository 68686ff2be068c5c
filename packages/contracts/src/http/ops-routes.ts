/** The operator pages (dashboard, queue dashboard) and what they read: overview, maintenance, usage across tenants. */
import { MaintenanceView, OpsUsageQuery, OpsUsageReport, SetMaintenanceRequest } from "./admin-ops";
import { OpsOverview } from "./admin-overview";
import { json, OPS, type RouteContract } from "./route-contract";

/** The dashboard pages, `/admin/v1/overview`, maintenance mode and `/admin/v1/usage`. */
export const OPS_ROUTES: readonly RouteContract[] = [
  {
    method: "get",
    path: "/dashboard",
    operationId: "dashboard",
    summary: "The ops dashboard page",
    tag: OPS,
    auth: "admin-basic",
    responses: { 200: { description: "an HTML page", content: [{ type: "text/html" }] } },
  },
  {
    method: "get",
    path: "/admin/queues",
    prefix: true,
    operationId: "queueDashboard",
    summary: "The BullMQ queue dashboard (read-only; everything under this path)",
    tag: OPS,
    auth: "admin-basic",
    responses: { 200: { description: "bull-board's pages and their JSON", content: [{ type: "text/html" }] } },
  },
  {
    method: "get",
    path: "/admin/v1/overview",
    operationId: "opsOverview",
    summary: "What the dashboard shows: queues, throughput, errors, breakers, spend",
    tag: OPS,
    auth: "admin-basic",
    responses: { 200: json(OpsOverview, "the overview") },
  },
  {
    method: "get",
    path: "/admin/v1/maintenance",
    operationId: "getMaintenance",
    summary: "Maintenance mode",
    tag: OPS,
    auth: { scope: "admin" },
    responses: { 200: json(MaintenanceView, "on or off") },
  },
  {
    method: "post",
    path: "/admin/v1/maintenance",
    operationId: "setMaintenance",
    summary: "Switch maintenance mode (new work gets 503 while on)",
    tag: OPS,
    auth: { scope: "admin" },
    body: SetMaintenanceRequest,
    responses: { 200: json(MaintenanceView, "the new state") },
  },
  {
    method: "get",
    path: "/admin/v1/usage",
    operationId: "opsUsage",
    summary: "Usage across tenants",
    tag: OPS,
    auth: { scope: "admin" },
    query: OpsUsageQuery,
    responses: { 200: json(OpsUsageReport, "biggest spenders first") },
  },
];
