import type { CreateApiKeyRequest } from "@switchyard/contracts";
import type { Kysely } from "kysely";
import { generateApiKey, hashSecret, parseApiKey } from "./api-key-material";
import { writeAudit, type AuditActor } from "./audit";
import type { Database } from "./schema";

export interface ApiKeyRecord {
  id: string;
  tenant_id: string;
  deployment_id: string | null;
  name: string;
  kind: "secret" | "publishable";
  secret_hash: string;
  scopes: string[];
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
  created_at: Date;
}

/** Public view of a key: never the hash, never the secret. */
export function apiKeyView(k: ApiKeyRecord) {
  return {
    id: k.id,
    object: "api_key" as const,
    tenant_id: k.tenant_id,
    deployment_id: k.deployment_id,
    name: k.name,
    scopes: k.scopes,
    expires_at: k.expires_at?.toISOString() ?? null,
    revoked_at: k.revoked_at?.toISOString() ?? null,
    last_used_at: k.last_used_at?.toISOString() ?? null,
    created_at: k.created_at.toISOString(),
  };
}

/**
 * Create a key; the full key is returned once and only its hash is stored. `presetKey` lets the
 * seed install a known bootstrap key.
 */
export async function createApiKey(
  db: Kysely<Database>,
  tenantId: string,
  input: CreateApiKeyRequest,
  actor: AuditActor,
  presetKey?: string,
): Promise<{ record: ApiKeyRecord; key: string }> {
  let material: { id: string; key: string; secretHash: string };
  if (presetKey) {
    const parsed = parseApiKey(presetKey);
    if (!parsed || parsed.kind !== "secret") throw new Error("bootstrap key must look like sy_live_<id>_<secret> (id 16-32 lowercase alphanumerics, secret 32-64 alphanumerics)");
    material = { id: parsed.id, key: presetKey, secretHash: hashSecret(parsed.secret) };
  } else {
    material = generateApiKey("secret");
  }
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .insertInto("api_keys")
      .values({
        id: material.id,
        tenant_id: tenantId,
        deployment_id: input.deployment_id ?? null,
        name: input.name,
        kind: "secret",
        secret_hash: material.secretHash,
        scopes: JSON.stringify(input.scopes),
        expires_at: input.expires_at ?? null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    const record = row as ApiKeyRecord;
    await writeAudit(trx, actor, { tenant_id: tenantId, action: "api_key.create", target_type: "api_key", target_id: record.id, before: null, after: apiKeyView(record) });
    return { record, key: material.key };
  });
}

export async function findApiKey(db: Kysely<Database>, id: string): Promise<ApiKeyRecord | undefined> {
  return (await db.selectFrom("api_keys").selectAll().where("id", "=", id).executeTakeFirst()) as ApiKeyRecord | undefined;
}

export async function revokeApiKey(db: Kysely<Database>, id: string, actor: AuditActor): Promise<ApiKeyRecord | undefined> {
  return db.transaction().execute(async (trx) => {
    const before = (await trx.selectFrom("api_keys").selectAll().where("id", "=", id).forUpdate().executeTakeFirst()) as ApiKeyRecord | undefined;
    if (!before) return undefined;
    const after = (await trx.updateTable("api_keys").set({ revoked_at: before.revoked_at ?? new Date() }).where("id", "=", id).returningAll().executeTakeFirstOrThrow()) as ApiKeyRecord;
    await writeAudit(trx, actor, { tenant_id: before.tenant_id, action: "api_key.revoke", target_type: "api_key", target_id: id, before: apiKeyView(before), after: apiKeyView(after) });
    return after;
  });
}

/** Record use; callers throttle this so a busy key is not a write per request. */
export async function touchApiKey(db: Kysely<Database>, id: string, at: Date): Promise<void> {
  await db.updateTable("api_keys").set({ last_used_at: at }).where("id", "=", id).execute();
}
