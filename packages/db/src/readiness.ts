import { withTimeout } from "@switchyard/contracts";
import { sql, type Kysely } from "kysely";
import { pendingMigrations } from "./migrate";
import type { Database } from "./schema";

const CHECK_TIMEOUT_MS = 1500;

export interface ReadinessCheck {
  ok: boolean;
  error?: string;
}
export interface Readiness {
  ready: boolean;
  checks: Partial<Record<"redis" | "postgres" | "migrations", ReadinessCheck>>;
  failing: string[];
}

async function check(fn: () => Promise<unknown>): Promise<ReadinessCheck> {
  try {
    await withTimeout(fn(), CHECK_TIMEOUT_MS);
    return { ok: true };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

/**
 * Readiness of the dependencies a process uses (Redis; Postgres and its schema when it has a
 * database), checked live on every call, so it turns false when one goes away and true again when
 * it is back, without a restart.
 */
export async function readiness(deps: { redis: { status: string; ping(): Promise<unknown> }; db?: Kysely<Database> }): Promise<Readiness> {
  const { redis: client, db } = deps;
  const redis = check(async () => {
    if (client.status !== "ready") throw new Error(`redis connection is ${client.status}`);
    await client.ping();
  });
  const database = db ? await databaseChecks(db) : {};
  const checks: Readiness["checks"] = { redis: await redis, ...database };
  const failing = Object.entries(checks)
    .filter(([, c]) => !c.ok)
    .map(([k]) => k);
  return { ready: failing.length === 0, checks, failing };
}

/** Postgres answers, and the schema has no pending migration (not asked when Postgres is down). */
export async function databaseChecks(db: Kysely<Database>): Promise<{ postgres: ReadinessCheck; migrations: ReadinessCheck }> {
  const postgres = await check(() => sql`select 1`.execute(db));
  const migrations = postgres.ok
    ? await check(async () => {
        const pending = await pendingMigrations(db);
        if (pending.length) throw new Error(`pending migrations: ${pending.join(", ")}`);
      })
    : { ok: false, error: "postgres unavailable" };
  return { postgres, migrations };
}

/** `GET /health/ready`: 200 `{ready, checks}` or 503 naming the failing checks. */
export function readinessResponse(r: Readiness): { status: number; body: unknown } {
  if (r.ready) return { status: 200, body: { ready: true, checks: r.checks } };
  return {
    status: 503,
    body: { ready: false, checks: r.checks, error: { type: "api_error", code: "not_ready", message: `not ready: ${r.failing.join(", ")} failing` } },
  };
}
