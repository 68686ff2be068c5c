import { ApiError, isTerminalStatus } from "@switchyard/contracts";
import { ANALYTICS_GROUP_BY, findFeedback, jobAnalytics, saveFeedback, type JobFeedback } from "@switchyard/db";
import { Router } from "express";
import { z } from "zod";
import type { Authenticator } from "../middleware/authenticate";
import { requireScopes } from "../middleware/authenticate";
import { principalOf, type Principal } from "../middleware/request-context";
import type { GatewayResources } from "../resources";
import { getJob } from "../services/job-service";
import { parseBody } from "../services/validation";
import { checkDayRange, Day } from "./usage-reports";

const FeedbackBody = z.strictObject({
  rating: z.number().int().min(1).max(5),
  comment: z.string().max(4000).nullable().optional(),
});

const AnalyticsQuery = z.strictObject({ from: Day, to: Day, group_by: z.enum(ANALYTICS_GROUP_BY).default("model") }).superRefine(checkDayRange);

/** 403 unless the caller's deployment has `feature` on (these two default to off). */
async function requireFeature(r: GatewayResources, p: Principal, feature: "feedbackEnabled" | "analyticsEnabled"): Promise<void> {
  const d = await r.deployments.get(p.deploymentId);
  if (d.features[feature] !== true) throw new ApiError("feature_disabled", `${feature === "feedbackEnabled" ? "feedback" : "analytics"} needs the ${feature} feature on this deployment`);
}

const feedbackObject = (f: JobFeedback) => ({ object: "job.feedback", job_id: f.job_id, rating: f.rating, comment: f.comment, created_at: f.created_at.toISOString(), updated_at: f.updated_at.toISOString() });

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
    const body = parseBody(FeedbackBody, req.body);
    const p = principalOf(req);
    const job = await getJob(r, p, String(req.params.id)); // another tenant's job is 404 before the feature is judged
    await requireFeature(r, p, "feedbackEnabled");
    if (!isTerminalStatus(job.status)) throw new ApiError("job_not_finished", `job ${job.id} is ${job.status}: feedback is for a finished job`, "id");
    const saved = await saveFeedback(r.db, { job_id: job.id, tenant_id: p.tenantId, deployment_id: p.deploymentId, api_key_id: p.keyId, rating: body.rating, comment: body.comment ?? null });
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
    res.json({ object: "list", group_by: q.group_by, from: q.from, to: q.to, data });
  });

  return router;
}
