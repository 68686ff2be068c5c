import { CreateApiKeyRequest, CreateTenantRequest, RotateApiKeyRequest, UpdateTenantRequest } from "../auth";
import { ApplyPresetRequest, CreateDeploymentRequest, UpdateDeploymentRequest } from "../deployments";
import { CreateDocumentRequest, SearchRequest } from "../documents";
import { OpenAIEmbeddingRequest, OpenAIEmbeddingResponse, OpenAIModel } from "../embeddings";
import { JobList } from "../job-list";
import { CreateJobRequest, CreateJobResponse, JobView } from "../jobs";
import { OpenAIChatRequest } from "../openai-compat";
import { ResponsesCreateRequest } from "../responses";
import { ReplayUsageDeadLetterRequest, UsageDeadLetterList, UsageDeadLetterReplay } from "../usage-dead-letters";
import {
  AuditEntry,
  AuditPage,
  BreakerForcedOpen,
  BreakerList,
  BreakerReset,
  CleanStuckRequest,
  CreditBalanceView,
  CreditGrant,
  CreditRecalculation,
  ForceOpenRequest,
  GrantCreditsRequest,
  MaintenanceView,
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
  DeploymentView,
  EndUserTierView,
  EndUserView,
  RotatedApiKey,
  SetEndUserTierRequest,
  TenantPage,
  TenantView,
  ToggleFeatureRequest,
} from "./admin-tenants";
import { EmptyBody } from "./common";
import { ADMIN_ROUTES } from "./admin-routes";
import { DOCUMENT_ROUTES } from "./document-routes";
import { FILES_BATCHES_REQUEST_SCHEMAS, FILES_BATCHES_RESPONSE_SCHEMAS, FILES_BATCHES_ROUTES } from "./files-batches";
import { HEALTH_ROUTES } from "./health-routes";
import { JOB_ROUTES } from "./job-routes";
import { ModelList, OPENAI_ROUTES } from "./openai-routes";
import { OPS_ROUTES } from "./ops-routes";
import type { RouteContract } from "./route-contract";
import {
  AiHealth,
  AnalyticsReport,
  BudgetList,
  ChatCompletion,
  DailyReport,
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
  UsageSummary,
} from "./tenant-api";
import { USAGE_ROUTES } from "./usage-routes";

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

/**
 * Every HTTP route the gateway mounts, one entry per (method, path). The gateway's route test fails
 * on a mounted route without an entry and on an entry nothing mounts; `/openapi.json` is built from this.
 */
export const HTTP_ROUTES: readonly RouteContract[] = [
  // ---- Health and metrics ----
  ...HEALTH_ROUTES,

  // ---- Jobs ----
  ...JOB_ROUTES,

  // ---- OpenAI-compatible ----
  ...OPENAI_ROUTES,

  // ---- Documents ----
  ...DOCUMENT_ROUTES,

  // ---- Usage ----
  ...USAGE_ROUTES,

  // ---- Operator pages ----
  ...OPS_ROUTES,

  ...ADMIN_ROUTES,

  // ---- Files and batches (OpenAI's Files and Batch APIs) ----
  ...FILES_BATCHES_ROUTES,
];
