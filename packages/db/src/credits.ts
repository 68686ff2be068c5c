import { sql, type Kysely, type RawBuilder, type Selectable, type Transaction } from "kysely";
import { writeAudit } from "./audit";
import type { CreditLedgerTable, Database } from "./schema";

/** One credit ledger entry. Grants are positive, usage debits negative. */
export interface CreditEntry {
  id: string;
  tenant_id: string;
  /** USD. The ledger stores numeric(18,9); this is that value as a JS number. */
  amount_usd: number;
  kind: "grant" | "debit" | "adjustment";
  reason: string;
  idempotency_key: string;
  job_id: string | null;
  actor_key_id: string | null;
  created_at: Date;
}

/** A tenant's balance: the sum of its ledger. */
export interface CreditBalance {
  tenant_id: string;
  balance_usd: number;
  entries: number;
}

type Db = Kysely<Database> | Transaction<Database>;

// numeric(18,9): 9 digits before the point, 9 after.
const MAX_ABS_USD = 1e9;

function toNumeric(usd: number, what: string): string {
  if (!Number.isFinite(usd) || Math.abs(usd) >= MAX_ABS_USD) throw new RangeError(`${what} must be a finite amount below ${MAX_ABS_USD} USD, got ${usd}`);
  return usd.toFixed(9);
}

function toEntry(r: Selectable<CreditLedgerTable>): CreditEntry {
  // bigserial ids arrive as numbers (int8 parser in create-db); cursors and views use strings.
  return { ...r, id: String(r.id), amount_usd: Number(r.amount_usd) };
}

/**
 * Insert one ledger entry once per (tenant, idempotency key) and, when it is new, move the
 * tenant's `credit_balances` row by the same amount. The increment is an upsert, so concurrent
 * writers serialise on the balance row and none is lost.
 */
async function insertEntry(
  trx: Db,
  row: {
    tenant_id: string;
    amount_usd: string;
    kind: CreditEntry["kind"];
    reason: string;
    idempotency_key: string;
    job_id: string | null;
    actor_key_id: string | null;
  },
): Promise<{ entry: CreditEntry; replayed: boolean }> {
  const inserted = await trx
    .insertInto("credit_ledger")
    .values(row)
    .onConflict((oc) => oc.columns(["tenant_id", "idempotency_key"]).doNothing())
    .returningAll()
    .executeTakeFirst();
  if (!inserted) {
    // The conflicting row is committed (ON CONFLICT waited for it), so this read finds it.
    const existing = await trx
      .selectFrom("credit_ledger")
      .selectAll()
      .where("tenant_id", "=", row.tenant_id)
      .where("idempotency_key", "=", row.idempotency_key)
      .executeTakeFirstOrThrow();
    return { entry: toEntry(existing), replayed: true };
  }
  await trx
    .insertInto("credit_balances")
    .values({ tenant_id: row.tenant_id, balance_usd: row.amount_usd, entries: 1 })
    .onConflict((oc) =>
      oc.column("tenant_id").doUpdateSet({
        balance_usd: sql`credit_balances.balance_usd + excluded.balance_usd`,
        entries: sql`credit_balances.entries + 1`,
        updated_at: sql`now()`,
      }),
    )
    .execute();
  return { entry: toEntry(inserted), replayed: false };
}

/**
 * Grant (positive `amount_usd`) or correct (negative: kind `adjustment`) a tenant's prepaid
 * credits, once per `idempotencyKey`: a replay returns the entry the first call made, with
 * `replayed: true` and no new audit row. The entry, the balance row and the audit row are written
 * in one transaction.
 */
export async function grantCredits(
  db: Kysely<Database>,
  tenantId: string,
  input: { amount_usd: number; reason: string; idempotencyKey: string; actorKeyId: string | null },
): Promise<{ entry: CreditEntry; replayed: boolean }> {
  if (input.amount_usd === 0) throw new RangeError("amount_usd must not be 0");
  const amount = toNumeric(input.amount_usd, "amount_usd");
  return db.transaction().execute(async (trx) => {
    const r = await insertEntry(trx, {
      tenant_id: tenantId,
      amount_usd: amount,
      kind: input.amount_usd > 0 ? "grant" : "adjustment",
      reason: input.reason,
      idempotency_key: input.idempotencyKey,
      job_id: null,
      actor_key_id: input.actorKeyId,
    });
    if (!r.replayed) {
      await writeAudit(
        trx,
        { keyId: input.actorKeyId },
        { tenant_id: tenantId, action: "credits.grant", target_type: "credit_ledger", target_id: r.entry.id, before: null, after: r.entry },
      );
    }
    return r;
  });
}

/**
 * Debit one attempt's cost from a prepaid tenant, once per (job, attempt) (idempotency key
 * `usage:<job>:<attempt>`). Pass the aggregator's usage transaction, so the debit commits with the
 * usage event or not at all. A zero cost writes nothing and returns `entry: null`.
 */
export async function debitForUsage(
  trx: Db,
  input: { tenantId: string; jobId: string; attempt: number; amountUsd: number },
): Promise<{ entry: CreditEntry | null; replayed: boolean }> {
  if (input.amountUsd < 0) throw new RangeError(`amountUsd is a cost and must not be negative, got ${input.amountUsd}`);
  const amount = toNumeric(-input.amountUsd, "amountUsd");
  if (Number(amount) === 0) return { entry: null, replayed: false };
  return insertEntry(trx, {
    tenant_id: input.tenantId,
    amount_usd: amount,
    kind: "debit",
    reason: "usage",
    idempotency_key: `usage:${input.jobId}:${input.attempt}`,
    job_id: input.jobId,
    actor_key_id: null,
  });
}

/**
 * The credit side of a usage batch, as two CTEs (each beginning with a comma) to append to the
 * statement that inserts the usage rows, so debits are written with them in one statement and
 * only for rows that statement actually inserted. `source` names an earlier CTE with columns
 * (credits_tenant_id, job_id, attempt, cost_usd): one row per usage row inserted.
 * - `usage_debits`: one `debit` entry per row with a prepaid tenant and a cost above zero, keyed
 *   `usage:<job>:<attempt>` like {@link debitForUsage} (so either path debits an attempt once).
 * - `usage_debit_balances`: each tenant's `credit_balances` row moved once by the sum of its new
 *   entries, tenants in order (concurrent batches lock balance rows in the same order).
 */
export function usageDebitCtes(source: string): RawBuilder<unknown> {
  return sql`
    , usage_debits AS (
      INSERT INTO credit_ledger (tenant_id, amount_usd, kind, reason, idempotency_key, job_id)
      SELECT credits_tenant_id, -cost_usd, 'debit', 'usage', 'usage:' || job_id || ':' || attempt, job_id
      FROM ${sql.table(source)}
      WHERE credits_tenant_id IS NOT NULL AND cost_usd > 0
      ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
      RETURNING tenant_id, amount_usd
    ), usage_debit_balances AS (
      INSERT INTO credit_balances AS b (tenant_id, balance_usd, entries)
      SELECT tenant_id, sum(amount_usd), count(*) FROM usage_debits GROUP BY tenant_id ORDER BY tenant_id
      ON CONFLICT (tenant_id) DO UPDATE SET
        balance_usd = b.balance_usd + excluded.balance_usd,
        entries = b.entries + excluded.entries,
        updated_at = now()
    )`;
}

/** A tenant's balance, summed from the ledger (Postgres sums numeric exactly). */
export async function creditBalance(db: Db, tenantId: string): Promise<{ balance_usd: number; entries: number }> {
  const r = await db
    .selectFrom("credit_ledger")
    .select((eb) => [eb.fn.coalesce(eb.fn.sum<string>("amount_usd"), sql<string>`0`).as("balance"), eb.fn.countAll<string>().as("entries")])
    .where("tenant_id", "=", tenantId)
    .executeTakeFirstOrThrow();
  return { balance_usd: Number(r.balance), entries: Number(r.entries) };
}

/**
 * A tenant's ledger, newest first. `cursor` is the `next_cursor` of the previous page.
 * `limit` defaults to 50 and is capped at 200.
 */
export async function listCredits(
  db: Db,
  tenantId: string,
  opts: { limit?: number; cursor?: string | null } = {},
): Promise<{ entries: CreditEntry[]; next_cursor: string | null }> {
  const limit = Math.min(Math.max(Math.floor(opts.limit ?? 50), 1), 200);
  if (opts.cursor != null && !/^[1-9][0-9]{0,18}$/.test(opts.cursor)) throw new RangeError(`invalid cursor: ${opts.cursor}`);
  let q = db.selectFrom("credit_ledger").selectAll().where("tenant_id", "=", tenantId);
  if (opts.cursor != null) q = q.where("id", "<", opts.cursor);
  const rows = await q
    .orderBy("id", "desc")
    .limit(limit + 1)
    .execute();
  const entries = rows.slice(0, limit).map(toEntry);
  return { entries, next_cursor: rows.length > limit ? entries[entries.length - 1]!.id : null };
}

/**
 * Rebuild `credit_balances` from the ledger sums, for one tenant or (none given) all of them;
 * in the all-tenants form, balance rows of tenants without entries are removed. Returns the
 * rebuilt balances. Takes a table lock that waits for in-flight credit writes and holds new ones
 * back until it commits, so no concurrent increment is overwritten by a stale sum.
 */
export async function recalculateCredits(db: Kysely<Database>, tenantId?: string): Promise<CreditBalance[]> {
  return db.transaction().execute(async (trx) => {
    await sql`LOCK TABLE credit_balances IN SHARE ROW EXCLUSIVE MODE`.execute(trx);
    let sums = trx
      .selectFrom("credit_ledger")
      .select((eb) => ["tenant_id", eb.fn.sum<string>("amount_usd").as("balance_usd"), eb.fn.countAll<number>().as("entries")])
      .groupBy("tenant_id");
    if (tenantId !== undefined) sums = sums.where("tenant_id", "=", tenantId);
    const rows = await sums.execute();
    const out: CreditBalance[] = rows.map((r) => ({ tenant_id: r.tenant_id, balance_usd: Number(r.balance_usd), entries: Number(r.entries) }));
    if (tenantId !== undefined && rows.length === 0) {
      rows.push({ tenant_id: tenantId, balance_usd: "0", entries: 0 });
      out.push({ tenant_id: tenantId, balance_usd: 0, entries: 0 });
    }
    if (tenantId === undefined) {
      const keep = rows.map((r) => r.tenant_id);
      let del = trx.deleteFrom("credit_balances");
      if (keep.length) del = del.where("tenant_id", "not in", keep);
      await del.execute();
    }
    for (const r of rows) {
      await trx
        .insertInto("credit_balances")
        .values({ tenant_id: r.tenant_id, balance_usd: r.balance_usd, entries: Number(r.entries) })
        .onConflict((oc) => oc.column("tenant_id").doUpdateSet({ balance_usd: r.balance_usd, entries: Number(r.entries), updated_at: sql`now()` }))
        .execute();
    }
    return out.sort((a, b) => a.tenant_id.localeCompare(b.tenant_id));
  });
}
