import { CreateBatchRequest, ListBatchesQuery } from "@switchyard/contracts";
import { Router } from "express";
import type { Authenticator } from "../middleware/authenticate";
import { requireScopes } from "../middleware/authenticate";
import { principalOf } from "../middleware/request-context";
import type { GatewayResources } from "../resources";
import { cancelBatch, createBatch, getBatch, listBatchesPage } from "../services/batches-service";
import { parseBody } from "../services/validation";

/**
 * OpenAI's Batch API: create (from a `batch` file), retrieve, cancel, list. The work itself is the
 * batch runner's (`services/batch-runner.ts`): each line a job at the lowest priority.
 */
export function batchesRouter(r: GatewayResources, auth: Authenticator): Router {
  const router = Router();

  router.post("/v1/batches", requireScopes(auth, "jobs:write"), async (req, res) => {
    res.json(await createBatch(r, principalOf(req), parseBody(CreateBatchRequest, req.body)));
  });

  router.get("/v1/batches", requireScopes(auth, "jobs:read"), async (req, res) => {
    res.json(await listBatchesPage(r, principalOf(req), parseBody(ListBatchesQuery, { ...req.query })));
  });

  router.get("/v1/batches/:id", requireScopes(auth, "jobs:read"), async (req, res) => {
    res.json(await getBatch(r, principalOf(req), String(req.params.id)));
  });

  router.post("/v1/batches/:id/cancel", requireScopes(auth, "jobs:write"), async (req, res) => {
    res.json(await cancelBatch(r, principalOf(req), String(req.params.id)));
  });

  return router;
}
