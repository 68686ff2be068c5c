import { OpenAIEmbeddingRequest } from "@switchyard/contracts";
import { AttrNames, SpanKind, startSpan } from "@switchyard/telemetry";
import { Router } from "express";
import type { Authenticator } from "../middleware/authenticate";
import { requireScopes } from "../middleware/authenticate";
import { principalOf } from "../middleware/request-context";
import type { GatewayResources } from "../resources";
import { createEmbeddings } from "../services/embeddings";
import { parseBody } from "../services/validation";

/**
 * OpenAI's `POST /v1/embeddings`, answered inline (see `services/embeddings.ts`). It spends, so it
 * needs `jobs:write`, like every other way to spend.
 */
export function embeddingsRouter(r: GatewayResources, auth: Authenticator): Router {
  const router = Router();

  router.post("/v1/embeddings", requireScopes(auth, "jobs:write"), async (req, res) => {
    const body = parseBody(OpenAIEmbeddingRequest, req.body);
    const p = principalOf(req);
    const ac = new AbortController();
    // The client went away: stop the upstream call (its reservation is released, nothing billed).
    res.once("close", () => {
      if (!res.writableFinished) ac.abort();
    });
    const answer = await startSpan(
      "create embeddings",
      { [AttrNames.tenantId]: p.tenantId, [AttrNames.deploymentId]: p.deploymentId, "http.request.method": "POST", "http.route": "/v1/embeddings" },
      () => createEmbeddings(r, p, body, ac.signal),
      SpanKind.SERVER,
    );
    // Not x-switchyard-job-id: no job exists; this names the request's row in the usage ledger.
    res.set({ ...answer.headers, "x-switchyard-usage-id": answer.id }).json(answer.body);
  });

  return router;
}
