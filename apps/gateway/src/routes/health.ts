import { pendingMigrations } from "@switchyard/db";
import { sql } from "kysely";
import { Router } from "express";
import type { GatewayResources } from "../resources";
import { withTimeout } from "../gateway-metrics";
import { breakerStates } from "./admin-breakers";

const CHECK_TIMEOUT_MS = 1500;

async function check(fn: () => Promise<unknown>): Promise<{ ok: boolean; error?: string }> {
  try {
    await withTimeout(fn(), CHECK_TIMEOUT_MS);
    return { ok: true };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

/**
 * Readiness of Redis, Postgres and the schema, checked live on every call (so it turns 503 when a
 * dependency goes away and 200 again when it is back, without a restart).
 */
export async function readiness(r: Pick<GatewayResources, "redis" | "db">) {
  const [redis, postgres] = await Promise.all([
    check(async () => {
      if (r.redis.status !== "ready") throw new Error(`redis connection is ${r.redis.status}`);
      await r.redis.ping();
    }),
    check(() => sql`select 1`.execute(r.db)),
  ]);
  const migrations = postgres.ok
    ? await check(async () => {
        const pending = await pendingMigrations(r.db);
        if (pending.length) throw new Error(`pending migrations: ${pending.join(", ")}`);
      })
    : { ok: false, error: "postgres unavailable" };
  const checks = { redis, postgres, migrations };
  const failing = Object.entries(checks).filter(([, c]) => !c.ok).map(([k]) => k);
  return { ready: failing.length === 0, checks, failing };
}

export function healthRouter(r: GatewayResources): Router {
  const router = Router();
  router.get("/health", (_req, res) => {
    res.json({ status: "ok" });
  });
  router.get("/health/ready", async (_req, res) => {
    const { ready, checks, failing } = await readiness(r);
    res.status(ready ? 200 : 503).json(ready ? { ready, checks } : { ready, checks, error: { type: "api_error", code: "not_ready", message: `not ready: ${failing.join(", ")} failing` } });
  });
  router.get("/health/ai", async (_req, res) => {
    const models = await withTimeout(breakerStates(r), CHECK_TIMEOUT_MS);
    const open = models.filter((m) => m.state !== "closed").map((m) => m.model);
    res.json({ status: open.length === 0 ? "ok" : models.every((m) => m.state === "open") ? "down" : "degraded", open, models: models.map(({ model, provider, tier, state, open_until }) => ({ model, provider, tier, state, open_until })) });
  });
  router.get("/metrics", (req, res) => r.registry.handler(req, res));
  return router;
}
