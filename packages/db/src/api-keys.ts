import { StoredScopes } from "@switchyard/contracts";
import type { Kysely, Selectable, Transaction } from "kysely";
import { generateApiKey, hashSecret, parseApiKey, type ApiKeyKind } from "./api-key-material";
import { writeAudit, type AuditActor } from "./audit";
import { parseRow } from "./parse-row";
import type { ApiKeysTable, Database } from "./schema";

export interface ApiKeyRecord {
  id: string;
  tenant_id: string;
  deployment_id: string | null;
  name: string;
  kind: ApiKeyKind;
  secret_hash: string;
  scopes: string[];
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
  /** Set by rotation: the key that replaces this one. */
  replaced_by: string | null;
  created_at: Date;
}

/** What `createApiKey` stores (the HTTP body, already validated, or the seed's bootstrap key). */
export interface NewApiKey {
  name: string;
  scopes: readonly string[];
  /** Default `secret`. */
  kind?: ApiKeyKind;
  deployment_id?: string | null;
  expires_at?: string | Date | null;
}

/** Public view of a key: never the hash, never the secret. */
export function apiKeyView(k: ApiKeyRecord) {
  return {
    id: k.id,
    object: "api_key" as const,
    tenant_id: k.tenant_id,
    deployment_id: k.deployment_id,
    name: k.name,
    kind: k.kind,
    scopes: k.scopes,
    expires_at: k.expires_at?.toISOString() ?? null,
    revoked_at: k.revoked_at?.toISOString() ?? null,
    last_used_at: k.last_used_at?.toISOString() ?? null,
    replaced_by: k.replaced_by ?? null,
    created_at: k.created_at.toISOString(),
  };
}
export type ApiKeyView = ReturnType<typeof apiKeyView>;

type Db = Kysely<Database> | Transaction<Database>;

/**
 * A row as read, `scopes` parsed (StoredScopes; a row that does not parse throws CorruptRowError
 * naming the key). Cheap: the authenticator reads a key once per cache period.
 */
function toApiKeyRecord(r: Selectable<ApiKeysTable>): ApiKeyRecord {
  return { ...r, scopes: parseRow(StoredScopes, r.scopes, { table: "api_keys", key: r.id, column: "scopes" }) };
}

async function insertKey(trx: Db, tenantId: string, input: NewApiKey, material: { id: string; secretHash: string }): Promise<ApiKeyRecord> {
  const row = await trx
    .insertInto("api_keys")
    .values({
      id: material.id,
      tenant_id: tenantId,
      deployment_id: input.deployment_id ?? null,
      name: input.name,
      kind: input.kind ?? "secret",
      secret_hash: material.secretHash,
      scopes: JSON.stringify(input.scopes),
      expires_at: input.expires_at ?? null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toApiKeyRecord(row);
}

/**
 * Create a key; the full key is returned once and only its hash is stored. `presetKey` lets the
 * seed install a known bootstrap key.
 */
export async function createApiKey(
  db: Kysely<Database>,
  tenantId: string,
  input: NewApiKey,
  actor: AuditActor,
  presetKey?: string,
): Promise<{ record: ApiKeyRecord; key: string }> {
  let material: { id: string; key: string; secretHash: string };
  if (presetKey) {
    const parsed = parseApiKey(presetKey);
    if (!parsed || parsed.kind !== "secret")
      throw new Error("bootstrap key must look like sy_live_<id>_<secret> (id 16-32 lowercase alphanumerics, secret 32-64 alphanumerics)");
    material = { id: parsed.id, key: presetKey, secretHash: hashSecret(parsed.secret) };
  } else {
    material = generateApiKey(input.kind ?? "secret");
  }
  return db.transaction().execute(async (trx) => {
    const record = await insertKey(trx, tenantId, input, material);
    await writeAudit(trx, actor, {
      tenant_id: tenantId,
      action: "api_key.create",
      target_type: "api_key",
      target_id: record.id,
      before: null,
      after: apiKeyView(record),
    });
    return { record, key: material.key };
  });
}

export async function findApiKey(db: Kysely<Database>, id: string): Promise<ApiKeyRecord | undefined> {
  const row = await db.selectFrom("api_keys").selectAll().where("id", "=", id).executeTakeFirst();
  return row && toApiKeyRecord(row);
}

/** A tenant's keys, newest first (revoked and expired ones included). */
export async function listApiKeys(db: Kysely<Database>, tenantId: string): Promise<ApiKeyRecord[]> {
  const rows = await db.selectFrom("api_keys").selectAll().where("tenant_id", "=", tenantId).orderBy("created_at", "desc").orderBy("id", "desc").execute();
  return rows.map(toApiKeyRecord);
}

export async function revokeApiKey(db: Kysely<Database>, id: string, actor: AuditActor): Promise<ApiKeyRecord | undefined> {
  return db.transaction().execute(async (trx) => {
    const locked = await trx.selectFrom("api_keys").selectAll().where("id", "=", id).forUpdate().executeTakeFirst();
    if (!locked) return undefined;
    const before = toApiKeyRecord(locked);
    const after = toApiKeyRecord(
      await trx
        .updateTable("api_keys")
        .set({ revoked_at: before.revoked_at ?? new Date() })
        .where("id", "=", id)
        .returningAll()
        .executeTakeFirstOrThrow(),
    );
    await writeAudit(trx, actor, {
      tenant_id: before.tenant_id,
      action: "api_key.revoke",
      target_type: "api_key",
      target_id: id,
      before: apiKeyView(before),
      after: apiKeyView(after),
    });
    return after;
  });
}

export type RotateResult =
  | { kind: "rotated"; old: ApiKeyRecord; record: ApiKeyRecord; key: string }
  | { kind: "not_found" }
  | { kind: "inactive"; reason: "revoked" | "expired" | "replaced"; replacedBy: string | null };

/**
 * Rotation: a new key with the old one's tenant, deployment, scopes, kind and name (no expiry of
 * its own); the old key gets `replaced_by` and expires after `overlapSeconds` (at once for 0, and
 * never later than it would have anyway). One transaction, two audit rows.
 */
export async function rotateApiKey(db: Kysely<Database>, id: string, overlapSeconds: number, actor: AuditActor, now = new Date()): Promise<RotateResult> {
  return db.transaction().execute(async (trx): Promise<RotateResult> => {
    const locked = await trx.selectFrom("api_keys").selectAll().where("id", "=", id).forUpdate().executeTakeFirst();
    if (!locked) return { kind: "not_found" };
    const before = toApiKeyRecord(locked);
    if (before.revoked_at) return { kind: "inactive", reason: "revoked", replacedBy: before.replaced_by };
    if (before.replaced_by) return { kind: "inactive", reason: "replaced", replacedBy: before.replaced_by };
    if (before.expires_at && before.expires_at.getTime() <= now.getTime()) return { kind: "inactive", reason: "expired", replacedBy: null };
    const material = generateApiKey(before.kind);
    const record = await insertKey(
      trx,
      before.tenant_id,
      { name: before.name, kind: before.kind, scopes: before.scopes, deployment_id: before.deployment_id, expires_at: null },
      material,
    );
    const overlapEnd = new Date(now.getTime() + overlapSeconds * 1000);
    const expiresAt = before.expires_at && before.expires_at < overlapEnd ? before.expires_at : overlapEnd;
    const old = toApiKeyRecord(
      await trx.updateTable("api_keys").set({ expires_at: expiresAt, replaced_by: record.id }).where("id", "=", id).returningAll().executeTakeFirstOrThrow(),
    );
    await writeAudit(trx, actor, {
      tenant_id: before.tenant_id,
      action: "api_key.rotate",
      target_type: "api_key",
      target_id: id,
      before: apiKeyView(before),
      after: { ...apiKeyView(old), overlap_seconds: overlapSeconds },
    });
    await writeAudit(trx, actor, {
      tenant_id: before.tenant_id,
      action: "api_key.create",
      target_type: "api_key",
      target_id: record.id,
      before: null,
      after: { ...apiKeyView(record), rotated_from: id },
    });
    return { kind: "rotated", old, record, key: material.key };
  });
}

/** Record use; callers throttle this so a busy key is not a write per request. */
export async function touchApiKey(db: Kysely<Database>, id: string, at: Date): Promise<void> {
  await db.updateTable("api_keys").set({ last_used_at: at }).where("id", "=", id).execute();
}
