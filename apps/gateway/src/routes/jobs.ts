import type { IncomingMessage, ServerResponse } from "node:http";
import { CreateJobRequest, ListJobsQuery } from "@switchyard/contracts";
import { Router } from "express";
import type { Authenticator } from "../middleware/authenticate";
import { requireScopes } from "../middleware/authenticate";
import type { Principal } from "@switchyard/contracts";
import { principalOf } from "../middleware/request-context";
import { header, sendJson } from "../services/http-json";
import type { GatewayResources } from "../resources";
import { listJobs } from "../services/job-list";
import { cancelJob, getJob, submitJobTraced } from "../services/job-service";
import { parseBody } from "../services/validation";
import { streamJobEvents } from "./job-events";

/** `POST /v1/jobs` once the caller is known (express's route and the lean path both end here): 202 with the job, 200 for a replay. */
export async function postJob(r: GatewayResources, p: Principal, body: unknown, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const result = await submitJobTraced(r, p, parseBody(CreateJobRequest, body), header(req, "idempotency-key"), "/v1/jobs");
  const headers: Record<string, string> = { Location: result.job.links.self, ...result.headers };
  if (result.replayed) headers["Idempotent-Replayed"] = "true";
  sendJson(res, result.replayed ? 200 : 202, result.job, headers);
}

export function jobsRouter(r: GatewayResources, auth: Authenticator): Router {
  const router = Router();

  router.post("/v1/jobs", requireScopes(auth, "jobs:write"), (req, res) => postJob(r, principalOf(req), req.body, req, res));

  router.get("/v1/jobs", requireScopes(auth, "jobs:read"), async (req, res) => {
    res.json(await listJobs(r, principalOf(req), parseBody(ListJobsQuery, req.query)));
  });

  router.get("/v1/jobs/:id", requireScopes(auth, "jobs:read"), async (req, res) => {
    res.json(await getJob(r, principalOf(req), String(req.params.id)));
  });

  router.post("/v1/jobs/:id/cancel", requireScopes(auth, "jobs:write"), async (req, res) => {
    res.json(await cancelJob(r, principalOf(req), String(req.params.id)));
  });

  router.get("/v1/jobs/:id/events", requireScopes(auth, "jobs:read"), async (req, res) => {
    await streamJobEvents(r, principalOf(req), String(req.params.id), req, res);
  });

  return router;
}
