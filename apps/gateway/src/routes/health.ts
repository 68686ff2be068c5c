import type { AiHealth, DbHealth, IntegrationsHealth } from "@switchyard/contracts";
import { databaseChecks, poolStats, readiness, readinessResponse } from "@switchyard/db";
import { Router } from "express";
import type { GatewayResources } from "../resources";
import { withTimeout } from "@switchyard/queue";
import { breakerStates } from "../services/breaker-views";

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
    const body: AiHealth = {
      status: open.length === 0 ? "ok" : models.every((m) => m.state === "open") ? "down" : "degraded",
      open,
      models: models.map(({ model, provider, tier, state, open_until }) => ({ model, provider, tier, state, open_until })),
    };
    res.json(body);
  });
  // Postgres as the runbooks check it: answers (and how fast), schema current, pool figures.
  router.get("/health/db", async (_req, res) => {
    const started = performance.now();
    const { postgres, migrations } = await databaseChecks(r.db);
    const latency = Math.round((performance.now() - started) * 10) / 10;
    const ok = postgres.ok && migrations.ok;
    const body: DbHealth = { status: ok ? "ok" : "down", postgres, migrations, latency_ms: latency, pool: poolStats(r.db) ?? null };
    res.status(ok ? 200 : 503).json(body);
  });
  // Each provider the catalog names, from its circuit breakers' view: ok, degraded (some models' breakers open) or down (all open).
  router.get("/health/integrations", async (_req, res) => {
    const models = await withTimeout(breakerStates(r), CHECK_TIMEOUT_MS);
    const providers = new Map<string, { models: string[]; open: string[]; simulated: boolean }>();
    for (const m of models) {
      const entry = r.catalog.models.find((c) => c.id === m.model)!;
      const p = providers.get(m.provider) ?? { models: [], open: [], simulated: r.providers.forModel(entry).simulated };
      p.models.push(m.model);
      if (m.state !== "closed") p.open.push(m.model);
      providers.set(m.provider, p);
    }
    const data: IntegrationsHealth["providers"] = [...providers].map(([provider, p]) => ({
      provider,
      status: p.open.length === 0 ? "ok" : p.open.length === p.models.length ? "down" : "degraded",
      simulated: p.simulated,
      models: p.models,
      open: p.open,
    }));
    const status = data.every((d) => d.status === "ok") ? "ok" : data.every((d) => d.status === "down") ? "down" : "degraded";
    res.status(status === "down" ? 503 : 200).json({ status, providers: data });
  });
  router.get("/metrics", (req, res) => r.registry.handler(req, res));
  return router;
}
