import { buildOpenApiDocument } from "@switchyard/contracts";
import { Router } from "express";

/**
 * `GET /openapi.json` (no auth): the HTTP API as OpenAPI 3.1, built from the route registry in
 * `contracts` (`HTTP_ROUTES`) once, when the router is made. The gateway's route test checks the
 * registry against what express mounts, so this document names every route there is.
 */
export function openapiRouter(): Router {
  const body = JSON.stringify(buildOpenApiDocument());
  const router = Router();
  router.get("/openapi.json", (_req, res) => {
    res.setHeader("Cache-Control", "public, max-age=300");
    res.type("application/json").send(body);
  });
  return router;
}
