import { CreateJobRequest } from "@switchyard/contracts";
import { Router } from "express";
import type { Authenticator } from "../middleware/authenticate";
import { requireScopes } from "../middleware/authenticate";
import { principalOf } from "../middleware/request-context";
import type { GatewayResources } from "../resources";
import { cancelJob, getJob, submitJobTraced } from "../services/job-service";
import { parseBody } from "../services/validation";
import { streamJobEvents } from "./job-events";

export function jobsRouter(r: GatewayResources, auth: Authenticator): Router {
  const router = Router();

  router.post("/v1/jobs", requireScopes(auth, "jobs:write"), async (req, res) => {
    const body = parseBody(CreateJobRequest, req.body);
    const result = await submitJobTraced(r, principalOf(req), body, req.get("idempotency-key"));
    res.setHeader("Location", result.job.links.self);
    for (const [k, v] of Object.entries(result.headers ?? {})) res.setHeader(k, v);
    if (result.replayed) {
      res.setHeader("Idempotent-Replayed", "true");
      res.status(200).json(result.job);
    } else {
      res.status(202).json(result.job);
    }
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
