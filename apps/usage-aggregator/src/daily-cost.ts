import type { AlertFirer, FireResult } from "@switchyard/admission";
import type { UsageEvent } from "@switchyard/contracts";
import type { Database } from "@switchyard/db";
import { sql, type Kysely } from "kysely";

const DAY_MS = 86_400_000;

/**
 * After a usage batch has committed: for each (tenant, UTC day) in the batch whose tenant has a
 * `daily_cost_alert_usd`, sum that day's cost from the `usage_daily` rollups and raise
 * `daily_cost_exceeded` when it has reached the threshold — once per (tenant, day), whatever the
 * number of batches or aggregators (the firer's claim). Returns what was fired.
 */
export async function checkDailyCost(
  db: Kysely<Database>,
  firer: AlertFirer,
  events: ReadonlyArray<Pick<UsageEvent, "tenant_id" | "occurred_at">>,
): Promise<FireResult[]> {
  // The rollups' day is the UTC day of occurred_at (see ingestUsageEvents).
  const pairs = new Set(events.map((e) => `${e.tenant_id}|${new Date(e.occurred_at).toISOString().slice(0, 10)}`));
  if (pairs.size === 0) return [];
  const tenants = [...new Set(events.map((e) => e.tenant_id))];
  const days = [...new Set([...pairs].map((p) => p.slice(p.lastIndexOf("|") + 1)))];
  const rows = await db
    .selectFrom("usage_daily as u")
    .innerJoin("tenants as t", "t.id", "u.tenant_id")
    .select([
      "u.tenant_id",
      sql<string>`to_char(u.day, 'YYYY-MM-DD')`.as("day"),
      sql<string>`sum(u.cost_usd)::text`.as("cost_usd"),
      sql<string>`t.daily_cost_alert_usd::text`.as("threshold_usd"),
    ])
    .where("t.daily_cost_alert_usd", "is not", null)
    .where("u.tenant_id", "in", tenants)
    .where(sql<boolean>`u.day IN (${sql.join(days.map((d) => sql`${d}::date`))})`)
    .groupBy(["u.tenant_id", "u.day", "t.daily_cost_alert_usd"])
    .having(sql<boolean>`sum(u.cost_usd) >= t.daily_cost_alert_usd`)
    .execute();
  const fired: FireResult[] = [];
  for (const r of rows) {
    if (!pairs.has(`${r.tenant_id}|${r.day}`)) continue;
    fired.push(
      await firer.fire({
        kind: "daily_cost_exceeded",
        tenantId: r.tenant_id,
        subject: `tenant:${r.tenant_id}`,
        period: r.day,
        threshold: 100,
        details: { day: r.day, cost_usd: Number(r.cost_usd), threshold_usd: Number(r.threshold_usd) },
        until: new Date(Date.parse(`${r.day}T00:00:00Z`) + DAY_MS),
      }),
    );
  }
  return fired;
}
