import { readiness, readinessResponse } from "@switchyard/db";
import { Router } from "express";
import type { GatewayResources } from "../resources";
import { withTimeout } from "@switchyard/queue";
import { breakerStates } from "./admin-breakers";

const CHECK_TIMEOUT_MS = 1500;

export function healthRouter(r: GatewayResources): Router {
  const router = Router();
  router.get("/health", (_req, res) => {
    res.json({ status: "ok" });
  });
  router.get("/health/ready", async (_req, res) => {
    const { status, body } = readinessResponse(await readiness(r));
    res.status(status).json(body);
  });
  router.get("/health/ai", async (_req, res) => {
    const models = await withTimeout(breakerStates(r), CHECK_TIMEOUT_MS);
    const open = models.filter((m) => m.state !== "closed").map((m) => m.model);
    res.json({ status: open.length === 0 ? "ok" : models.every((m) => m.state === "open") ? "down" : "degraded", open, models: models.map(({ model, provider, tier, state, open_until }) => ({ model, provider, tier, state, open_until })) });
  });
  router.get("/metrics", (req, res) => r.registry.handler(req, res));
  return router;
}
