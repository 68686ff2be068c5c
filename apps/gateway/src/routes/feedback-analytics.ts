import { AnalyticsQuery, ApiError, FeedbackRequest, isTerminalStatus, type AnalyticsReport, type JobFeedbackView } from "@switchyard/contracts";
import { findFeedback, jobAnalytics, saveFeedback, type JobFeedback } from "@switchyard/db";
import { Router } from "express";
import type { Authenticator } from "../middleware/authenticate";
import { requireScopes } from "../middleware/authenticate";
import type { Principal } from "@switchyard/contracts";
import { principalOf } from "../middleware/request-context";
import type { GatewayResources } from "../resources";
import { getJob } from "../services/job-service";
import { parseBody } from "../services/validation";

/** 403 unless the caller's deployment has `feature` on (these two default to off). */
async function requireFeature(r: GatewayResources, p: Principal, feature: "feedbackEnabled" | "analyticsEnabled"): Promise<void> {
  const d = await r.deployments.get(p.deploymentId);
  if (d.features[feature] !== true)
    throw new ApiError("feature_disabled", `${feature === "feedbackEnabled" ? "feedback" : "analytics"} needs the ${feature} feature on this deployment`);
}

const feedbackObject = (f: JobFeedback): JobFeedbackView => ({
  object: "job.feedback",
  job_id: f.job_id,
  rating: f.rating,
  comment: f.comment,
  created_at: f.created_at.toISOString(),
  updated_at: f.updated_at.toISOString(),
});

/**
 * Outcome feedback and analytics, the figures a model rollout compares:
 * - `POST /v1/jobs/{id}/feedback` {rating 1–5, comment?} (scope `jobs:write`, `feedbackEnabled`):
 *   on a finished job of the caller's tenant (409 while it runs); a second one replaces the first.
 *   `GET /v1/jobs/{id}/feedback` (scope `jobs:read`) reads it back (404 when none).
 * - `GET /v1/analytics?from=&to=&group_by=model|deployment|day` (scope `usage:read`,
 *   `analyticsEnabled`): per group jobs, succeeded, failed, rated, acceptance (rated 4–5 ÷ rated),
 *   latency and time-to-first-token p50/p95 of succeeded attempts, cost and cost per job.
 */
export function feedbackAnalyticsRouter(r: GatewayResources, auth: Authenticator): Router {
  const router = Router();
  const given = r.registry.meter.createCounter("ai_feedback_total", { description: "Feedback given on jobs, by rating (1-5)" });

  router.post("/v1/jobs/:id/feedback", requireScopes(auth, "jobs:write"), async (req, res) => {
    const body = parseBody(FeedbackRequest, req.body);
    const p = principalOf(req);
    const job = await getJob(r, p, String(req.params.id)); // another tenant's job is 404 before the feature is judged
    await requireFeature(r, p, "feedbackEnabled");
    if (!isTerminalStatus(job.status)) throw new ApiError("job_not_finished", `job ${job.id} is ${job.status}: feedback is for a finished job`, "id");
    const saved = await saveFeedback(r.db, {
      job_id: job.id,
      tenant_id: p.tenantId,
      deployment_id: p.deploymentId,
      api_key_id: p.keyId,
      rating: body.rating,
      comment: body.comment ?? null,
    });
    given.add(1, { rating: String(body.rating) });
    res.json(feedbackObject(saved));
  });

  router.get("/v1/jobs/:id/feedback", requireScopes(auth, "jobs:read"), async (req, res) => {
    const p = principalOf(req);
    const job = await getJob(r, p, String(req.params.id));
    const f = await findFeedback(r.db, p.tenantId, job.id);
    if (!f) throw new ApiError("not_found", `job ${job.id} has no feedback`, "id");
    res.json(feedbackObject(f));
  });

  router.get("/v1/analytics", requireScopes(auth, "usage:read"), async (req, res) => {
    const q = parseBody(AnalyticsQuery, req.query);
    const p = principalOf(req);
    await requireFeature(r, p, "analyticsEnabled");
    const data = await jobAnalytics(r.db, p.tenantId, { from: q.from, to: q.to, groupBy: q.group_by });
    const body: AnalyticsReport = { object: "list", group_by: q.group_by, from: q.from, to: q.to, data };
    res.json(body);
  });

  return router;
}
