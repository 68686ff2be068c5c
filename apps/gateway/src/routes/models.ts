import { ApiError, type ModelList, type OpenAIModel } from "@switchyard/contracts";
import { Router } from "express";
import type { Authenticator } from "../middleware/authenticate";
import { requireScopes } from "../middleware/authenticate";
import { principalOf } from "../middleware/request-context";
import type { GatewayResources } from "../resources";

/**
 * OpenAI's models endpoints: `GET /v1/models` and `GET /v1/models/{model}`, over the catalog's
 * chat and embedding models that the key's deployment may use (`allowed_models`). A model it may
 * not use is not found, as one that does not exist.
 */
export function modelsRouter(r: GatewayResources, auth: Authenticator): Router {
  const router = Router();
  // The catalog is loaded once at start: that is when this gateway began serving its models.
  const created = Math.floor(Date.now() / 1000);
  const all = [...r.catalog.models, ...(r.catalog.embedding_models ?? [])].map((m): OpenAIModel => ({
    id: m.id,
    object: "model",
    created,
    owned_by: m.provider,
  }));

  async function usable(deploymentId: string): Promise<OpenAIModel[]> {
    const allowed = (await r.deployments.get(deploymentId)).allowedModels;
    return all.filter((m) => !allowed || allowed.includes(m.id));
  }

  router.get("/v1/models", requireScopes(auth, "jobs:read"), async (req, res) => {
    const body: ModelList = { object: "list", data: await usable(principalOf(req).deploymentId) };
    res.json(body);
  });

  router.get("/v1/models/:model", requireScopes(auth, "jobs:read"), async (req, res) => {
    const id = String(req.params.model);
    const model = (await usable(principalOf(req).deploymentId)).find((m) => m.id === id);
    if (!model) throw new ApiError("model_not_found", `The model '${id}' does not exist or this key's deployment may not use it`, "model");
    res.json(model);
  });

  return router;
}
