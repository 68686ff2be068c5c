import type { BudgetScopeRef } from "@switchyard/admission";
import type { Database } from "@switchyard/db";
import { sql, type Kysely } from "kysely";

/** Spend of a budget scope in [start, end) from the usage ledger: how Redis rebuilds a period it lost. */
export async function loadSpent(db: Kysely<Database>, scope: BudgetScopeRef, start: Date, end: Date): Promise<{ usd: number; tokens: number }> {
  const column = scope.scope === "tenant" ? "tenant_id" : "deployment_id";
  const r = await db
    .selectFrom("usage_events")
    .select([sql<string>`coalesce(sum(cost_usd), 0)`.as("usd"), sql<string>`coalesce(sum(input_tokens + output_tokens), 0)`.as("tokens")])
    .where(column, "=", scope.id)
    .where("occurred_at", ">=", start)
    .where("occurred_at", "<", end)
    .executeTakeFirstOrThrow();
  return { usd: Number(r.usd), tokens: Number(r.tokens) };
}
