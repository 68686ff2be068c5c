import type { RequestListener } from "node:http";
import express, { type Express } from "express";
import { leanRoutes } from "./lean-routes";
import { Authenticator, authFailureRecorder } from "./middleware/authenticate";
import { AllowedOrigins, cors } from "./middleware/cors";
import { errorHandler, notFound } from "./middleware/error-handler";
import { httpMetrics } from "./middleware/http-metrics";
import { guardJsonBody, guardPathAndQuery } from "./middleware/input-guard";
import { requestId } from "./middleware/request-context";
import type { GatewayResources } from "./resources";
import { adminRouter } from "./routes/admin";
import { adminMaintenanceRouter } from "./routes/admin-maintenance";
import { adminUsageRouter } from "./routes/admin-usage";
import { healthRouter } from "./routes/health";
import { openapiRouter } from "./routes/openapi";
import { jobsRouter } from "./routes/jobs";
import { budgetsRouter } from "./routes/budgets";
import { documentsRouter } from "./routes/documents";
import { openaiCompatRouter } from "./routes/openai-compat";
import { responsesRouter } from "./routes/responses";
import { filesRouter } from "./routes/files";
import { batchesRouter } from "./routes/batches";
import { modelsRouter } from "./routes/models";
import { embeddingsRouter } from "./routes/embeddings";
import { usageReportsRouter } from "./routes/usage-reports";
import { feedbackAnalyticsRouter } from "./routes/feedback-analytics";
import { opsDashboardRouter } from "./routes/ops-dashboard";
import { queueDashboardRouter } from "./routes/queue-dashboard";

/** The gateway's request listener: the lean hot path in front of the express app (one `Authenticator` for both). */
export function createGatewayHandler(r: GatewayResources): RequestListener {
  const auth = new Authenticator(
    r.db,
    r.logger,
    r.deployments,
    authFailureRecorder(r.db, r.logger, (reason) => r.metrics.authFailures.add(1, { reason })),
  );
  return leanRoutes(r, auth, createGatewayApp(r, auth));
}

/** The gateway's express app; `main.ts` (or a test) owns the resources and the server. */
export function createGatewayApp(r: GatewayResources, auth = new Authenticator(r.db, r.logger, r.deployments)): Express {
  const app = express();
  app.disable("x-powered-by");
  // No ETags: API answers are live state (a job's status, a usage report), not cacheable
  // documents, and hashing every JSON body cost ~1 % of the submit path's CPU.
  app.set("etag", false);
  app.set("trust proxy", r.config.trustProxy);
  app.use(requestId);
  app.use(httpMetrics(r.metrics));
  // Before the body parser, so preflights are answered at once and body errors carry CORS headers.
  app.use(cors(new AllowedOrigins(r.db), r.logger));
  app.use(guardPathAndQuery);
  // Any JSON-ish content type is parsed; other bodies are left unparsed and rejected by the schema.
  app.use(express.json({ limit: r.config.bodyLimit, type: ["application/json", "application/*+json"], strict: true }));
  // NUL, unpaired surrogates and hostile nesting are refused here, before any route stores them.
  app.use(guardJsonBody);
  app.use(healthRouter(r));
  app.use(openapiRouter());
  app.use(jobsRouter(r, auth));
  app.use(openaiCompatRouter(r, auth));
  app.use(responsesRouter(r, auth));
  app.use(filesRouter(r, auth));
  app.use(batchesRouter(r, auth));
  app.use(modelsRouter(r, auth));
  app.use(embeddingsRouter(r, auth));
  app.use(budgetsRouter(r, auth));
  app.use(documentsRouter(r, auth));
  app.use(usageReportsRouter(r, auth));
  app.use(feedbackAnalyticsRouter(r, auth));
  // Browser pages (HTTP Basic or Bearer, admin): before the admin router's Bearer-only check.
  app.use(opsDashboardRouter(r, auth));
  app.use(queueDashboardRouter(r, auth));
  app.use(adminMaintenanceRouter(r, auth));
  app.use(adminUsageRouter(r, auth));
  app.use(adminRouter(r, auth));
  app.use(notFound);
  app.use(errorHandler(r.logger));
  return app;
}
