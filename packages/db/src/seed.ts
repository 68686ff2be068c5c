import { SCOPES } from "@switchyard/contracts";
import type { Kysely } from "kysely";
import { parseApiKey } from "./api-key-material";
import { createApiKey, findApiKey } from "./api-keys";
import type { Database } from "./schema";
import { createTenant, findDefaultDeployment, findTenant } from "./tenants";

export const DEMO_TENANT_ID = "ten_demo";
const SEED_ACTOR = { keyId: null };

/**
 * Ensure the demo tenant (internal default deployment) and its bootstrap key exist.
 * With `bootstrapKey`, that exact key is installed if missing. Without one, a key is generated
 * only when the tenant has none yet; `key` is null when an existing key was kept (only its hash
 * is stored, so it cannot be shown again).
 */
export async function seedDemo(
  db: Kysely<Database>,
  opts: { bootstrapKey?: string } = {},
): Promise<{ tenantId: string; deploymentId: string; key: string | null }> {
  let tenant = await findTenant(db, DEMO_TENANT_ID);
  if (!tenant) {
    try {
      await createTenant(db, { id: DEMO_TENANT_ID, name: "Demo", timezone: "UTC", billing_mode: "postpaid" }, SEED_ACTOR);
    } catch (err) {
      // Two starters racing: the other one created it.
      if (!(await findTenant(db, DEMO_TENANT_ID))) throw err;
    }
    tenant = await findTenant(db, DEMO_TENANT_ID);
  }
  const dep = await findDefaultDeployment(db, DEMO_TENANT_ID);
  if (!tenant || !dep) throw new Error("demo tenant could not be seeded");
  const base = { tenantId: tenant.id, deploymentId: dep.id };
  const input = { name: "bootstrap", scopes: [...SCOPES] };

  if (opts.bootstrapKey) {
    const parsed = parseApiKey(opts.bootstrapKey);
    if (!parsed) throw new Error("SWITCHYARD_BOOTSTRAP_KEY must look like sy_live_<id>_<secret>");
    const existing = await findApiKey(db, parsed.id);
    if (existing) {
      if (existing.tenant_id !== DEMO_TENANT_ID) throw new Error("SWITCHYARD_BOOTSTRAP_KEY's id belongs to another tenant's key");
      return { ...base, key: opts.bootstrapKey };
    }
    await createApiKey(db, DEMO_TENANT_ID, input, SEED_ACTOR, opts.bootstrapKey);
    return { ...base, key: opts.bootstrapKey };
  }
  const any = await db
    .selectFrom("api_keys")
    .select("id")
    .where("tenant_id", "=", DEMO_TENANT_ID)
    .where("name", "=", "bootstrap")
    .where("revoked_at", "is", null)
    .executeTakeFirst();
  if (any) return { ...base, key: null };
  const { key } = await createApiKey(db, DEMO_TENANT_ID, input, SEED_ACTOR);
  return { ...base, key };
}
