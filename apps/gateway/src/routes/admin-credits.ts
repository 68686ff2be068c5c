import { ApiError, CreditsQuery, GrantCreditsRequest, MAX_IDEMPOTENCY_KEY_LENGTH } from "@switchyard/contracts";
import { creditBalance, findTenant, grantCredits, listCredits, recalculateCredits, writeAudit } from "@switchyard/db";
import { Router } from "express";
import { principalOf } from "../middleware/request-context";
import type { GatewayResources } from "../resources";
import { parseBody } from "../services/validation";

/** Prepaid credits: an append-only ledger; grants need an Idempotency-Key; balance is the ledger's sum. */
export function adminCreditsRouter(r: GatewayResources): Router {
  const router = Router();
  const tenant = async (raw: unknown) => {
    const id = String(raw);
    if (!(await findTenant(r.db, id))) throw new ApiError("tenant_not_found", `no tenant ${id}`, "id");
    return id;
  };

  router.post("/admin/v1/tenants/:id/credits", async (req, res) => {
    const tenantId = await tenant(req.params.id);
    const key = req.get("idempotency-key");
    if (!key) throw new ApiError("invalid_request", "Idempotency-Key: a credit grant needs one, so a retried grant is not counted twice", "Idempotency-Key");
    if (key.length > MAX_IDEMPOTENCY_KEY_LENGTH)
      throw new ApiError("idempotency_key_too_long", `Idempotency-Key: at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`, "Idempotency-Key");
    const body = parseBody(GrantCreditsRequest, req.body);
    const { entry, replayed } = await grantCredits(r.db, tenantId, {
      amount_usd: body.amount_usd,
      reason: body.reason,
      idempotencyKey: key,
      actorKeyId: principalOf(req).keyId,
    });
    if (!replayed) await r.budgets.adjustCredits(tenantId, body.amount_usd);
    const balance = await creditBalance(r.db, tenantId);
    if (replayed) res.setHeader("Idempotent-Replayed", "true");
    res.status(replayed ? 200 : 201).json({ entry: { ...entry, object: "credit_entry" }, balance_usd: balance.balance_usd });
  });

  router.get("/admin/v1/tenants/:id/credits", async (req, res) => {
    const tenantId = await tenant(req.params.id);
    const q = parseBody(CreditsQuery, req.query);
    // The balance and the entries from one snapshot: read apart, a debit committed between the two
    // showed in the entries but not in the balance.
    const [[balance, page], held] = await Promise.all([
      r.db
        .transaction()
        .setIsolationLevel("repeatable read")
        .execute(async (trx) => [await creditBalance(trx, tenantId), await listCredits(trx, tenantId, { limit: q.limit, cursor: q.cursor ?? null })] as const),
      r.budgets.credits(tenantId),
    ]);
    res.json({
      object: "credit_balance",
      tenant_id: tenantId,
      balance_usd: balance.balance_usd,
      reserved_usd: held?.reserved_usd ?? 0,
      entries: page.entries,
      next_cursor: page.next_cursor,
    });
  });

  router.post("/admin/v1/tenants/:id/credits/recalculate", async (req, res) => {
    const tenantId = await tenant(req.params.id);
    const before = await r.db.selectFrom("credit_balances").selectAll().where("tenant_id", "=", tenantId).executeTakeFirst();
    const [after] = await recalculateCredits(r.db, tenantId);
    await writeAudit(
      r.db,
      { keyId: principalOf(req).keyId },
      { tenant_id: tenantId, action: "credits.recalculate", target_type: "credit_balance", target_id: tenantId, before: before ?? null, after: after ?? null },
    );
    res.json({ tenant_id: tenantId, balance_usd: after?.balance_usd ?? 0, entries: after?.entries ?? 0 });
  });

  return router;
}
