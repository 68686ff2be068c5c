import type { Kysely } from "kysely";
import type { Database } from "./schema";

/**
 * The source domains a deployment's retrievals are limited to (`allowed_source_domains`), or null
 * when there is no such deployment (retrieval is then not limited by domain).
 */
export async function deploymentSourceDomains(db: Kysely<Database>, deploymentId: string): Promise<string[] | null> {
  const row = await db.selectFrom("deployments").select("allowed_source_domains").where("id", "=", deploymentId).executeTakeFirst();
  return row?.allowed_source_domains ?? null;
}

/** Ids of a collection's documents still waiting to be indexed (pending, or failed before), at most `limit`. */
export async function pendingDocumentIds(db: Kysely<Database>, tenantId: string, collection: string, limit = 100): Promise<string[]> {
  const rows = await db
    .selectFrom("documents")
    .select("id")
    .where("tenant_id", "=", tenantId)
    .where("collection", "=", collection)
    .where("status", "in", ["pending", "failed"])
    .limit(limit)
    .execute();
  return rows.map((r) => r.id);
}
