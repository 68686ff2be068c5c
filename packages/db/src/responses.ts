import { StoredResponse } from "@switchyard/contracts";
import type { Kysely } from "kysely";
import { toJsonb } from "./jsonb";
import { parseRow } from "./parse-row";
import type { Database } from "./schema";

/** Store a response's record; a replay of the same create (same id) changes nothing. */
export async function insertResponse(db: Kysely<Database>, r: StoredResponse): Promise<void> {
  await db
    .insertInto("responses")
    .values({
      id: r.id,
      job_id: r.job_id,
      tenant_id: r.tenant_id,
      api_key_id: r.api_key_id,
      background: r.background,
      store: r.store,
      previous_response_id: r.previous_response_id,
      params: toJsonb(r.params),
      input_items: toJsonb(r.input_items),
      final: r.final ? toJsonb(r.final) : null,
      created_at: r.created_at,
    })
    .onConflict((oc) => oc.column("id").doNothing())
    .execute();
}

/**
 * A stored response of `tenantId` (another tenant's is "not found"), and with `apiKeyId` only if
 * that key created it (publishable keys see their own alone). Rows are parsed, not cast.
 */
export async function findResponse(db: Kysely<Database>, tenantId: string, id: string, opts: { apiKeyId?: string } = {}): Promise<StoredResponse | undefined> {
  let q = db.selectFrom("responses").selectAll().where("id", "=", id).where("tenant_id", "=", tenantId);
  if (opts.apiKeyId) q = q.where("api_key_id", "=", opts.apiKeyId);
  const row = await q.executeTakeFirst();
  if (!row) return undefined;
  return parseRow(StoredResponse, { ...row, created_at: row.created_at.toISOString() }, { table: "responses", key: row.id });
}

/** Keep the final Response object the first time it is rendered (later renderings are identical). */
export async function saveFinalResponse(db: Kysely<Database>, id: string, final: Record<string, unknown>): Promise<void> {
  await db
    .updateTable("responses")
    .set({ final: toJsonb(final) })
    .where("id", "=", id)
    .where("final", "is", null)
    .execute();
}

/** Delete a response's record; false when there was none for this tenant. */
export async function deleteResponse(db: Kysely<Database>, tenantId: string, id: string): Promise<boolean> {
  const r = await db.deleteFrom("responses").where("id", "=", id).where("tenant_id", "=", tenantId).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}
