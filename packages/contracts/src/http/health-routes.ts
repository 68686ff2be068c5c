/** The health, metrics and OpenAPI routes: unauthenticated, for probes, scrapers and clients. */
import { HealthStatus, Readiness, AiHealth, DbHealth, IntegrationsHealth } from "./tenant-api";
import { json, type RouteContract } from "./route-contract";

const HEALTH = "Health";

/** Liveness, readiness and dependency health, Prometheus metrics and this API's OpenAPI document. */
export const HEALTH_ROUTES: readonly RouteContract[] = [
  {
    method: "get",
    path: "/health",
    operationId: "health",
    summary: "Liveness: the process answers",
    tag: HEALTH,
    auth: "none",
    responses: { 200: json(HealthStatus, "alive") },
  },
  {
    method: "get",
    path: "/health/ready",
    operationId: "healthReady",
    summary: "Readiness: Redis, Postgres and the schema",
    tag: HEALTH,
    auth: "none",
    responses: { 200: json(Readiness, "ready"), 503: json(Readiness, "not ready: `error` names the failing checks") },
  },
  {
    method: "get",
    path: "/health/ai",
    operationId: "healthAi",
    summary: "Model availability from the circuit breakers",
    tag: HEALTH,
    auth: "none",
    responses: { 200: json(AiHealth, "ok, degraded (some breakers open) or down (all open)") },
  },
  {
    method: "get",
    path: "/health/db",
    operationId: "healthDb",
    summary: "Postgres: answers, schema current, pool figures",
    tag: HEALTH,
    auth: "none",
    responses: { 200: json(DbHealth, "ok"), 503: json(DbHealth, "down") },
  },
  {
    method: "get",
    path: "/health/integrations",
    operationId: "healthIntegrations",
    summary: "Each provider from its models' circuit breakers",
    tag: HEALTH,
    auth: "none",
    responses: { 200: json(IntegrationsHealth, "ok or degraded"), 503: json(IntegrationsHealth, "every provider down") },
  },
  {
    method: "get",
    path: "/metrics",
    operationId: "metrics",
    summary: "Prometheus metrics of this gateway process",
    tag: HEALTH,
    auth: "none",
    responses: { 200: { description: "Prometheus text exposition format", content: [{ type: "text/plain", description: "Prometheus text format 0.0.4" }] } },
  },
  {
    method: "get",
    path: "/openapi.json",
    operationId: "openapi",
    summary: "This document: the HTTP API as OpenAPI 3.1",
    tag: HEALTH,
    auth: "none",
    responses: { 200: { description: "the OpenAPI 3.1 document", content: [{ type: "application/json" }] } },
  },
];
