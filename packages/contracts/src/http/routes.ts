import { z } from "zod";
import { CreateApiKeyRequest, CreateTenantRequest, RotateApiKeyRequest, UpdateTenantRequest } from "../auth";
import { ApplyPresetRequest, CreateDeploymentRequest, UpdateDeploymentRequest } from "../deployments";
import { CreateDocumentRequest, SearchRequest } from "../documents";
import { OpenAIEmbeddingRequest, OpenAIEmbeddingResponse, OpenAIModel } from "../embeddings";
import { JobList, ListJobsQuery } from "../job-list";
import { CreateJobRequest, CreateJobResponse, JobView } from "../jobs";
import { OpenAIChatRequest } from "../openai-compat";
import { ResponsesCreateRequest, ResponsesInputItemsQuery, ResponsesRetrieveQuery } from "../responses";
import { ReplayUsageDeadLetterRequest, UsageDeadLetterList, UsageDeadLetterReplay } from "../usage-dead-letters";
import {
  AuditEntry,
  AuditQuery,
  BreakerForcedOpen,
  BreakerList,
  BreakerReset,
  CleanStuckRequest,
  CreditBalanceView,
  CreditGrant,
  CreditRecalculation,
  CreditsQuery,
  DeadLettersQuery,
  ForceOpenRequest,
  GrantCreditsRequest,
  MaintenanceView,
  OpsUsageQuery,
  OpsUsageReport,
  QueueClean,
  QueueList,
  QueueRetry,
  SetMaintenanceRequest,
} from "./admin-ops";
import { OpsOverview } from "./admin-overview";
import {
  ApiKeyList,
  ApiKeyView,
  CreatedApiKey,
  DeploymentList,
  DeploymentPage,
  DeploymentsQuery,
  DeploymentView,
  EndUserTierView,
  EndUserView,
  RotatedApiKey,
  SetEndUserTierRequest,
  TenantPage,
  TenantsQuery,
  TenantView,
  ToggleFeatureRequest,
} from "./admin-tenants";
import { EmptyBody, NoQuery, pageOf } from "./common";
import { FILES_BATCHES_REQUEST_SCHEMAS, FILES_BATCHES_RESPONSE_SCHEMAS, FILES_BATCHES_ROUTES } from "./files-batches";
import { json, type RouteContract, type RouteResponse } from "./route-contract";
import {
  AiHealth,
  AnalyticsQuery,
  AnalyticsReport,
  BudgetList,
  ChatCompletion,
  DailyReport,
  DailyReportQuery,
  DbHealth,
  DocumentAccepted,
  DocumentDeleted,
  DocumentView,
  FeedbackRequest,
  HealthStatus,
  IntegrationsHealth,
  JobFeedbackView,
  Readiness,
  ResponseDeleted,
  ResponseInputItems,
  ResponseObject,
  SearchResults,
  UsageQuery,
  UsageSummary,
} from "./tenant-api";

export const AuditPage = pageOf(AuditEntry);
export type AuditPage = z.infer<typeof AuditPage>;
export const ModelList = z.object({ object: z.literal("list"), data: z.array(OpenAIModel) });
export type ModelList = z.infer<typeof ModelList>;

/** Response schemas by the name the OpenAPI document gives them (`#/components/schemas/<name>`). */
export const HTTP_RESPONSE_SCHEMAS = {
  HealthStatus,
  Readiness,
  AiHealth,
  DbHealth,
  IntegrationsHealth,
  CreateJobResponse,
  JobView,
  JobList,
  JobFeedbackView,
  AnalyticsReport,
  ChatCompletion,
  ResponseObject,
  ResponseDeleted,
  ResponseInputItems,
  ModelList,
  OpenAIModel,
  OpenAIEmbeddingResponse,
  BudgetList,
  DocumentAccepted,
  DocumentView,
  DocumentDeleted,
  SearchResults,
  UsageSummary,
  DailyReport,
  OpsOverview,
  MaintenanceView,
  OpsUsageReport,
  TenantView,
  TenantPage,
  DeploymentView,
  DeploymentList,
  DeploymentPage,
  EndUserView,
  EndUserTierView,
  ApiKeyView,
  ApiKeyList,
  CreatedApiKey,
  RotatedApiKey,
  AuditEntry,
  AuditPage,
  BreakerList,
  BreakerReset,
  BreakerForcedOpen,
  CreditGrant,
  CreditBalanceView,
  CreditRecalculation,
  QueueList,
  QueueClean,
  QueueRetry,
  UsageDeadLetterList,
  UsageDeadLetterReplay,
  ...FILES_BATCHES_RESPONSE_SCHEMAS,
} as const;

/** Request body schemas by component name. */
export const HTTP_REQUEST_SCHEMAS = {
  CreateJobRequest,
  FeedbackRequest,
  OpenAIChatRequest,
  ResponsesCreateRequest,
  OpenAIEmbeddingRequest,
  CreateDocumentRequest,
  SearchRequest,
  SetMaintenanceRequest,
  CreateTenantRequest,
  UpdateTenantRequest,
  CreateDeploymentRequest,
  UpdateDeploymentRequest,
  ApplyPresetRequest,
  ToggleFeatureRequest,
  SetEndUserTierRequest,
  CreateApiKeyRequest,
  RotateApiKeyRequest,
  ForceOpenRequest,
  GrantCreditsRequest,
  CleanStuckRequest,
  ReplayUsageDeadLetterRequest,
  EmptyBody,
  ...FILES_BATCHES_REQUEST_SCHEMAS,
} as const;

const sse = (description: string): RouteResponse => ({ description, content: [{ type: "text/event-stream", description }] });
const SSE_HEADERS = { "X-Accel-Buffering": "no: proxies must not buffer the stream" };
const IDEMPOTENCY = { "Idempotency-Key": "at most 255 characters; the same key and body within 24 h give the same job (200, Idempotent-Replayed: true)" };
const REPLAYED = { "Idempotent-Replayed": "true when the answer is a replay of an earlier request with the same Idempotency-Key" };
/** The deadline of a request that waits for its answer (non-stream chat completions and Responses). */
const DEADLINE = {
  "X-Request-Timeout": "seconds (over 0, at most 3600) this request waits for its answer without stream; past it: 503 (the job waits for an unavailable upstream) or 504 request_timeout, with Retry-After and error.job_id",
  "X-Stainless-Timeout": "the OpenAI SDK's timeout in seconds, read like X-Request-Timeout (the sooner of the two wins)",
};
/** What refusing new work answers with (rate limits, maintenance). */
const SUBMIT_ERRORS = [402, 403, 422, 429, 503];

const JOBS = "Jobs";
const OPENAI = "OpenAI-compatible";
const DOCS = "Documents";
const USAGE = "Usage and reports";
const HEALTH = "Health";
const ADMIN = "Admin";
const OPS = "Operations";

/**
 * Every HTTP route the gateway mounts, one entry per (method, path). The gateway's route test fails
 * on a mounted route without an entry and on an entry nothing mounts; `/openapi.json` is built from this.
 */
export const HTTP_ROUTES: readonly RouteContract[] = [
  // ---- Health and metrics ----
  { method: "get", path: "/health", operationId: "health", summary: "Liveness: the process answers", tag: HEALTH, auth: "none", responses: { 200: json(HealthStatus, "alive") } },
  {
    method: "get",
    path: "/health/ready",
    operationId: "healthReady",
    summary: "Readiness: Redis, Postgres and the schema",
    tag: HEALTH,
    auth: "none",
    responses: { 200: json(Readiness, "ready"), 503: json(Readiness, "not ready: `error` names the failing checks") },
  },
  { method: "get", path: "/health/ai", operationId: "healthAi", summary: "Model availability from the circuit breakers", tag: HEALTH, auth: "none", responses: { 200: json(AiHealth, "ok, degraded (some breakers open) or down (all open)") } },
  { method: "get", path: "/health/db", operationId: "healthDb", summary: "Postgres: answers, schema current, pool figures", tag: HEALTH, auth: "none", responses: { 200: json(DbHealth, "ok"), 503: json(DbHealth, "down") } },
  {
    method: "get",
    path: "/health/integrations",
    operationId: "healthIntegrations",
    summary: "Each provider from its models' circuit breakers",
    tag: HEALTH,
    auth: "none",
    responses: { 200: json(IntegrationsHealth, "ok or degraded"), 503: json(IntegrationsHealth, "every provider down") },
  },
  { method: "get", path: "/metrics", operationId: "metrics", summary: "Prometheus metrics of this gateway process", tag: HEALTH, auth: "none", responses: { 200: { description: "Prometheus text exposition format", content: [{ type: "text/plain", description: "Prometheus text format 0.0.4" }] } } },
  { method: "get", path: "/openapi.json", operationId: "openapi", summary: "This document: the HTTP API as OpenAPI 3.1", tag: HEALTH, auth: "none", responses: { 200: { description: "the OpenAPI 3.1 document", content: [{ type: "application/json" }] } } },

  // ---- Jobs ----
  {
    method: "post",
    path: "/v1/jobs",
    operationId: "createJob",
    summary: "Submit a job",
    tag: JOBS,
    auth: { scope: "jobs:write" },
    body: CreateJobRequest,
    headers: IDEMPOTENCY,
    responses: { 202: json(CreateJobResponse, "queued", { Location: "the job's URL" }), 200: json(CreateJobResponse, "a replay (same Idempotency-Key, same body)", REPLAYED) },
    errors: SUBMIT_ERRORS,
  },
  { method: "get", path: "/v1/jobs", operationId: "listJobs", summary: "The tenant's jobs, newest first", tag: JOBS, auth: { scope: "jobs:read" }, query: ListJobsQuery, responses: { 200: json(JobList, "one page") } },
  { method: "get", path: "/v1/jobs/:id", operationId: "getJob", summary: "A job: status, output, usage, routing", tag: JOBS, auth: { scope: "jobs:read" }, params: { id: "the job's id (job_…)" }, responses: { 200: json(JobView, "the job") } },
  {
    method: "post",
    path: "/v1/jobs/:id/cancel",
    operationId: "cancelJob",
    summary: "Cancel a job (aborts the upstream call)",
    tag: JOBS,
    auth: { scope: "jobs:write" },
    params: { id: "the job's id" },
    responses: { 200: json(JobView, "canceled") },
    errors: [409],
  },
  {
    method: "get",
    path: "/v1/jobs/:id/events",
    operationId: "jobEvents",
    summary: "A job's events as server-sent events",
    description: "Events `status`, `delta`, `tool_call`, `citations`, `restart`, `usage`, then one terminal `done` or `error`; each with an `id:`. Resume with `Last-Event-ID` or `?after=`. Heartbeat comments keep the connection open.",
    tag: JOBS,
    auth: { scope: "jobs:read" },
    params: { id: "the job's id" },
    query: z.object({ after: z.string().optional().describe("resume after this event id (Last-Event-ID wins)") }),
    headers: { "Last-Event-ID": "resume after this event id" },
    responses: { 200: { ...sse("`event:` is the event type, `data:` its JSON"), headers: SSE_HEADERS } },
  },
  {
    method: "post",
    path: "/v1/jobs/:id/feedback",
    operationId: "giveFeedback",
    summary: "Rate a finished job (feedbackEnabled)",
    tag: JOBS,
    auth: { scope: "jobs:write" },
    params: { id: "the job's id" },
    body: FeedbackRequest,
    responses: { 200: json(JobFeedbackView, "stored (a second rating replaces the first)") },
    errors: [409],
  },
  { method: "get", path: "/v1/jobs/:id/feedback", operationId: "getFeedback", summary: "A job's feedback", tag: JOBS, auth: { scope: "jobs:read" }, params: { id: "the job's id" }, responses: { 200: json(JobFeedbackView, "the feedback") } },
  { method: "get", path: "/v1/analytics", operationId: "analytics", summary: "Job outcomes per model, deployment or day (analyticsEnabled)", tag: USAGE, auth: { scope: "usage:read" }, query: AnalyticsQuery, responses: { 200: json(AnalyticsReport, "one row per group with usage") } },

  // ---- OpenAI-compatible ----
  {
    method: "post",
    path: "/v1/chat/completions",
    operationId: "createChatCompletion",
    summary: "OpenAI chat completion, through the same admission and queue as jobs",
    tag: OPENAI,
    auth: { scope: "jobs:write" },
    body: OpenAIChatRequest,
    headers: { ...IDEMPOTENCY, ...DEADLINE },
    responses: {
      200: {
        description: "`chat.completion`, or with `stream: true` `chat.completion.chunk` events ending with `data: [DONE]`",
        content: [{ type: "application/json", schema: ChatCompletion }, { type: "text/event-stream", description: "`data:` chat.completion.chunk JSON, then `data: [DONE]`" }],
        headers: { "x-switchyard-job-id": "the job that answered" },
      },
    },
    errors: [...SUBMIT_ERRORS, 409, 502, 504],
  },
  {
    method: "post",
    path: "/v1/responses",
    operationId: "createResponse",
    summary: "OpenAI Responses API: create (background, streamed or waited for)",
    tag: OPENAI,
    auth: { scope: "jobs:write" },
    body: ResponsesCreateRequest,
    headers: { ...IDEMPOTENCY, ...DEADLINE },
    responses: { 200: { description: "the Response, or with `stream: true` its events", content: [{ type: "application/json", schema: ResponseObject }, { type: "text/event-stream", description: "`event:` the type, `data:` the event" }] } },
    errors: [...SUBMIT_ERRORS, 504],
  },
  {
    method: "get",
    path: "/v1/responses/:id",
    operationId: "getResponse",
    summary: "A Response (or, with stream=true, its event stream from starting_after)",
    tag: OPENAI,
    auth: { scope: "jobs:read" },
    params: { id: "the response's id (resp_…)" },
    query: ResponsesRetrieveQuery,
    responses: { 200: { description: "the Response, or its events", content: [{ type: "application/json", schema: ResponseObject }, { type: "text/event-stream", description: "`event:` the type, `data:` the event" }] } },
  },
  { method: "post", path: "/v1/responses/:id/cancel", operationId: "cancelResponse", summary: "Cancel a background Response", tag: OPENAI, auth: { scope: "jobs:write" }, params: { id: "the response's id" }, responses: { 200: json(ResponseObject, "the Response as it now is") } },
  { method: "delete", path: "/v1/responses/:id", operationId: "deleteResponse", summary: "Delete a stored Response", tag: OPENAI, auth: { scope: "jobs:write" }, params: { id: "the response's id" }, responses: { 200: json(ResponseDeleted, "deleted") } },
  {
    method: "get",
    path: "/v1/responses/:id/input_items",
    operationId: "listResponseInputItems",
    summary: "A Response's input items",
    tag: OPENAI,
    auth: { scope: "jobs:read" },
    params: { id: "the response's id" },
    query: ResponsesInputItemsQuery,
    responses: { 200: json(ResponseInputItems, "one page") },
  },
  { method: "get", path: "/v1/models", operationId: "listModels", summary: "Models the key's deployment may use", tag: OPENAI, auth: { scope: "jobs:read" }, responses: { 200: json(ModelList, "the models") } },
  { method: "get", path: "/v1/models/:model", operationId: "getModel", summary: "One model", tag: OPENAI, auth: { scope: "jobs:read" }, params: { model: "a catalog model id" }, responses: { 200: json(OpenAIModel, "the model") } },
  {
    method: "post",
    path: "/v1/embeddings",
    operationId: "createEmbeddings",
    summary: "OpenAI embeddings, answered inline",
    tag: OPENAI,
    auth: { scope: "jobs:write" },
    body: OpenAIEmbeddingRequest,
    responses: { 200: json(OpenAIEmbeddingResponse, "vectors in input order", { "x-switchyard-usage-id": "the request's row in the usage ledger" }) },
    errors: [...SUBMIT_ERRORS, 502, 504],
  },

  // ---- Documents ----
  {
    method: "post",
    path: "/v1/collections/:collection/documents",
    operationId: "putDocument",
    summary: "Write a document (queued for indexing; knowledgeBaseEnabled)",
    tag: DOCS,
    auth: { scope: "documents:write" },
    params: { collection: "the collection's name" },
    body: CreateDocumentRequest,
    responses: { 202: json(DocumentAccepted, "accepted") },
    errors: [503],
  },
  { method: "get", path: "/v1/collections/:collection/documents/:id", operationId: "getDocument", summary: "A document and its indexing state", tag: DOCS, auth: { scope: "documents:read" }, params: { collection: "the collection's name", id: "the document's id" }, responses: { 200: json(DocumentView, "the document") } },
  { method: "delete", path: "/v1/collections/:collection/documents/:id", operationId: "deleteDocument", summary: "Delete a document and its chunks", tag: DOCS, auth: { scope: "documents:write" }, params: { collection: "the collection's name", id: "the document's id" }, responses: { 200: json(DocumentDeleted, "deleted") } },
  { method: "post", path: "/v1/collections/:collection/search", operationId: "searchCollection", summary: "Retrieval alone, no model call (ragEnabled)", tag: DOCS, auth: { scope: "documents:read" }, params: { collection: "the collection's name" }, body: SearchRequest, responses: { 200: json(SearchResults, "the best chunks") } },

  // ---- Usage ----
  { method: "get", path: "/v1/budgets", operationId: "budgets", summary: "The key's deployment and tenant budgets, this period", tag: USAGE, auth: { scope: "usage:read" }, responses: { 200: json(BudgetList, "each budget that applies") } },
  { method: "get", path: "/v1/usage", operationId: "usage", summary: "The tenant's usage per day, model or deployment", tag: USAGE, auth: { scope: "usage:read" }, query: UsageQuery, responses: { 200: json(UsageSummary, "one row per group with usage") } },
  {
    method: "get",
    path: "/v1/reports/daily",
    operationId: "dailyReport",
    summary: "The stored daily summary (JSON, or CSV with format=csv or Accept: text/csv)",
    tag: USAGE,
    auth: { scope: "reports:read" },
    query: DailyReportQuery,
    responses: { 200: { description: "the report", content: [{ type: "application/json", schema: DailyReport }, { type: "text/csv", description: "one line per deployment, as a download" }] } },
    errors: [404],
  },

  // ---- Operator pages ----
  { method: "get", path: "/dashboard", operationId: "dashboard", summary: "The ops dashboard page", tag: OPS, auth: "admin-basic", responses: { 200: { description: "an HTML page", content: [{ type: "text/html" }] } } },
  { method: "get", path: "/admin/queues", prefix: true, operationId: "queueDashboard", summary: "The BullMQ queue dashboard (read-only; everything under this path)", tag: OPS, auth: "admin-basic", responses: { 200: { description: "bull-board's pages and their JSON", content: [{ type: "text/html" }] } } },
  { method: "get", path: "/admin/v1/overview", operationId: "opsOverview", summary: "What the dashboard shows: queues, throughput, errors, breakers, spend", tag: OPS, auth: "admin-basic", responses: { 200: json(OpsOverview, "the overview") } },
  { method: "get", path: "/admin/v1/maintenance", operationId: "getMaintenance", summary: "Maintenance mode", tag: OPS, auth: { scope: "admin" }, responses: { 200: json(MaintenanceView, "on or off") } },
  { method: "post", path: "/admin/v1/maintenance", operationId: "setMaintenance", summary: "Switch maintenance mode (new work gets 503 while on)", tag: OPS, auth: { scope: "admin" }, body: SetMaintenanceRequest, responses: { 200: json(MaintenanceView, "the new state") } },
  { method: "get", path: "/admin/v1/usage", operationId: "opsUsage", summary: "Usage across tenants", tag: OPS, auth: { scope: "admin" }, query: OpsUsageQuery, responses: { 200: json(OpsUsageReport, "biggest spenders first") } },

  // ---- Admin: tenants, deployments, end users ----
  { method: "post", path: "/admin/v1/tenants", operationId: "createTenant", summary: "Create a tenant (and its default deployment)", tag: ADMIN, auth: { scope: "admin" }, body: CreateTenantRequest, responses: { 201: json(TenantView, "created") } },
  { method: "get", path: "/admin/v1/tenants", operationId: "listTenants", summary: "Tenants, newest first", tag: ADMIN, auth: { scope: "admin" }, query: TenantsQuery, responses: { 200: json(TenantPage, "one page") } },
  { method: "get", path: "/admin/v1/tenants/:id", operationId: "getTenant", summary: "A tenant", tag: ADMIN, auth: { scope: "admin" }, params: { id: "the tenant's id" }, responses: { 200: json(TenantView, "the tenant") } },
  { method: "patch", path: "/admin/v1/tenants/:id", operationId: "updateTenant", summary: "Change a tenant", tag: ADMIN, auth: { scope: "admin" }, params: { id: "the tenant's id" }, body: UpdateTenantRequest, responses: { 200: json(TenantView, "the tenant as changed") } },
  { method: "post", path: "/admin/v1/tenants/:id/deployments", operationId: "createDeployment", summary: "Create a deployment", tag: ADMIN, auth: { scope: "admin" }, params: { id: "the tenant's id" }, body: CreateDeploymentRequest, responses: { 201: json(DeploymentView, "created") } },
  { method: "get", path: "/admin/v1/tenants/:id/deployments", operationId: "listTenantDeployments", summary: "A tenant's deployments", tag: ADMIN, auth: { scope: "admin" }, params: { id: "the tenant's id" }, responses: { 200: json(DeploymentList, "all of them") } },
  { method: "get", path: "/admin/v1/deployments", operationId: "listDeployments", summary: "Deployments across tenants, newest first", tag: ADMIN, auth: { scope: "admin" }, query: DeploymentsQuery, responses: { 200: json(DeploymentPage, "one page") }, errors: [404] },
  { method: "get", path: "/admin/v1/deployments/:id", operationId: "getDeployment", summary: "A deployment", tag: ADMIN, auth: { scope: "admin" }, params: { id: "the deployment's id" }, responses: { 200: json(DeploymentView, "the deployment") } },
  { method: "patch", path: "/admin/v1/deployments/:id", operationId: "updateDeployment", summary: "Change a deployment (features merge)", tag: ADMIN, auth: { scope: "admin" }, params: { id: "the deployment's id" }, body: UpdateDeploymentRequest, responses: { 200: json(DeploymentView, "the deployment as changed") } },
  { method: "post", path: "/admin/v1/deployments/:id/preset", operationId: "applyPreset", summary: "Set a deployment's features from a preset", tag: ADMIN, auth: { scope: "admin" }, params: { id: "the deployment's id" }, body: ApplyPresetRequest, responses: { 200: json(DeploymentView, "the deployment as changed") } },
  {
    method: "post",
    path: "/admin/v1/deployments/:id/features/:feature",
    operationId: "toggleFeature",
    summary: "Turn one feature on or off",
    tag: ADMIN,
    auth: { scope: "admin" },
    params: { id: "the deployment's id", feature: "a feature name" },
    body: ToggleFeatureRequest,
    responses: { 200: json(DeploymentView, "the deployment as changed") },
  },
  {
    method: "get",
    path: "/admin/v1/deployments/:id/end-users/:user_id",
    operationId: "getEndUser",
    summary: "An end user's tier and messages used (day and month)",
    tag: ADMIN,
    auth: { scope: "admin" },
    params: { id: "the deployment's id", user_id: "the end user's id (the request's `user`)" },
    query: NoQuery,
    responses: { 200: json(EndUserView, "the end user") },
  },
  {
    method: "put",
    path: "/admin/v1/deployments/:id/end-users/:user_id",
    operationId: "setEndUserTier",
    summary: "Set an end user's tier",
    tag: ADMIN,
    auth: { scope: "admin" },
    params: { id: "the deployment's id", user_id: "the end user's id" },
    body: SetEndUserTierRequest,
    responses: { 200: json(EndUserTierView, "set") },
  },

  // ---- Admin: keys ----
  { method: "post", path: "/admin/v1/tenants/:id/api-keys", operationId: "createApiKey", summary: "Create an API key (secret or publishable)", tag: ADMIN, auth: { scope: "admin" }, params: { id: "the tenant's id" }, body: CreateApiKeyRequest, responses: { 201: json(CreatedApiKey, "created; `key` is shown this once") } },
  { method: "get", path: "/admin/v1/tenants/:id/api-keys", operationId: "listApiKeys", summary: "A tenant's API keys", tag: ADMIN, auth: { scope: "admin" }, params: { id: "the tenant's id" }, responses: { 200: json(ApiKeyList, "all of them") } },
  { method: "get", path: "/admin/v1/api-keys/:id", operationId: "getApiKey", summary: "An API key", tag: ADMIN, auth: { scope: "admin" }, params: { id: "the key's id" }, responses: { 200: json(ApiKeyView, "the key") } },
  {
    method: "post",
    path: "/admin/v1/api-keys/:id/rotate",
    operationId: "rotateApiKey",
    summary: "Rotate a key (the old one keeps working for overlap_seconds)",
    tag: ADMIN,
    auth: { scope: "admin" },
    params: { id: "the key's id" },
    body: RotateApiKeyRequest,
    bodyOptional: true,
    responses: { 201: json(RotatedApiKey, "the new key (shown once) and the old one") },
    errors: [409],
  },
  { method: "delete", path: "/admin/v1/api-keys/:id", operationId: "revokeApiKey", summary: "Revoke a key", tag: ADMIN, auth: { scope: "admin" }, params: { id: "the key's id" }, responses: { 200: json(ApiKeyView, "the key, revoked") } },

  // ---- Admin: audit, breakers, credits, queues, dead letters ----
  { method: "get", path: "/admin/v1/audit", operationId: "listAudit", summary: "The audit log, newest first", tag: ADMIN, auth: { scope: "admin" }, query: AuditQuery, responses: { 200: json(AuditPage, "one page") } },
  { method: "get", path: "/admin/v1/circuit-breakers", operationId: "listBreakers", summary: "Every catalog model's circuit breaker", tag: OPS, auth: { scope: "admin" }, responses: { 200: json(BreakerList, "all of them") } },
  { method: "post", path: "/admin/v1/circuit-breakers/:model/reset", operationId: "resetBreaker", summary: "Close a breaker", tag: OPS, auth: { scope: "admin" }, params: { model: "a catalog model id" }, body: EmptyBody, bodyOptional: true, responses: { 200: json(BreakerReset, "reset") } },
  { method: "post", path: "/admin/v1/circuit-breakers/:model/force-open", operationId: "forceOpenBreaker", summary: "Open a breaker for a while", tag: OPS, auth: { scope: "admin" }, params: { model: "a catalog model id" }, body: ForceOpenRequest, responses: { 200: json(BreakerForcedOpen, "open") } },
  {
    method: "post",
    path: "/admin/v1/tenants/:id/credits",
    operationId: "grantCredits",
    summary: "Grant (or take back) prepaid credits",
    tag: ADMIN,
    auth: { scope: "admin" },
    params: { id: "the tenant's id" },
    body: GrantCreditsRequest,
    headers: { "Idempotency-Key": "required: a retried grant is not counted twice" },
    responses: { 201: json(CreditGrant, "granted"), 200: json(CreditGrant, "a replay of an earlier grant", REPLAYED) },
  },
  { method: "get", path: "/admin/v1/tenants/:id/credits", operationId: "getCredits", summary: "A tenant's credit balance and ledger", tag: ADMIN, auth: { scope: "admin" }, params: { id: "the tenant's id" }, query: CreditsQuery, responses: { 200: json(CreditBalanceView, "balance and one page of entries") } },
  { method: "post", path: "/admin/v1/tenants/:id/credits/recalculate", operationId: "recalculateCredits", summary: "Rebuild a tenant's balance from its ledger", tag: ADMIN, auth: { scope: "admin" }, params: { id: "the tenant's id" }, body: EmptyBody, bodyOptional: true, responses: { 200: json(CreditRecalculation, "the rebuilt balance") } },
  { method: "get", path: "/admin/v1/queues", operationId: "listQueues", summary: "Jobs per queue and state", tag: OPS, auth: { scope: "admin" }, responses: { 200: json(QueueList, "every queue") } },
  { method: "post", path: "/admin/v1/queues/:queue/clean-stuck", operationId: "cleanStuck", summary: "Remove queue jobs whose Switchyard job already ended", tag: OPS, auth: { scope: "admin" }, params: { queue: "a queue name" }, body: CleanStuckRequest, bodyOptional: true, responses: { 200: json(QueueClean, "what was removed and skipped") } },
  { method: "post", path: "/admin/v1/queues/:queue/retry-failed", operationId: "retryFailed", summary: "Retry a queue's failed jobs", tag: OPS, auth: { scope: "admin" }, params: { queue: "a queue name" }, body: EmptyBody, bodyOptional: true, responses: { 200: json(QueueRetry, "how many were retried") } },
  { method: "get", path: "/admin/v1/usage-dead-letters", operationId: "listUsageDeadLetters", summary: "Usage events the ledger could not store", tag: OPS, auth: { scope: "admin" }, query: DeadLettersQuery, responses: { 200: json(UsageDeadLetterList, "one page") } },
  {
    method: "post",
    path: "/admin/v1/usage-dead-letters/:id/replay",
    operationId: "replayUsageDeadLetter",
    summary: "Replay a usage dead letter into the ledger",
    tag: OPS,
    auth: { scope: "admin" },
    params: { id: "the dead letter's id" },
    body: ReplayUsageDeadLetterRequest,
    bodyOptional: true,
    responses: { 200: json(UsageDeadLetterReplay, "enqueued") },
    errors: [409, 422],
  },

  // ---- Files and batches (OpenAI's Files and Batch APIs) ----
  ...FILES_BATCHES_ROUTES,
];
