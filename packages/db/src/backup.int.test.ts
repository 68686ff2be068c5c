import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { apiClient, createTestDatabase, startStack, waitFor, writeTestCatalog, type Stack, type TestDatabase } from "@switchyard/testkit";
import { sql, type Kysely } from "kysely";
import { pgliteBackend } from "../../rag/src/__tests__/backends";
import { backupDatabase, restoreDatabase, verifyBackup, type BackupManifest } from "./backup";
import type { Database } from "./schema";

/**
 * `switchyard backup` / `restore` round trips: a database the real apps filled (tenants, keys,
 * credits, jobs, the usage ledger and its rollups, responses, feedback, audit) is backed up,
 * restored into an empty database, and every table compared; the same backup restored into the
 * embedded PGlite backs up again to the very same files (checksums equal).
 */
type Json = Record<string, any>;
let s: Stack;
let target: TestDatabase | undefined;
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), "sy-backup-"));
  dirs.push(d);
  return d;
};

beforeAll(async () => {
  s = await startStack({ env: { MODEL_CATALOG_PATH: writeTestCatalog(), USAGE_BATCH_WAIT_MS: "10" } });
  const a = apiClient(s.url, s.key);
  const t = (await a.post<Json>("/admin/v1/tenants", { name: "Backed up", billing_mode: "prepaid" })).body;
  await a.call("PATCH", `/admin/v1/deployments/${t.default_deployment_id}`, {
    body: { features: { feedbackEnabled: true }, budget: { period: "day", limit_usd: 5 } },
  });
  await a.post(`/admin/v1/tenants/${t.id}/credits`, { amount_usd: 10, reason: "opening balance" }, { "Idempotency-Key": `backup-${t.id}` });
  const key = (await a.post<Json>(`/admin/v1/tenants/${t.id}/api-keys`, { name: "k", scopes: ["jobs:write", "jobs:read"] })).body.key as string;
  await new Promise((r) => setTimeout(r, 1100));
  const c = apiClient(s.url, key);
  const ids: string[] = [];
  for (let i = 0; i < 4; i++)
    ids.push(
      (
        await c.post<Json>("/v1/jobs", {
          model: "sim-fast",
          messages: [{ role: "user", content: `backup me ${i} — ünïcödé ✓` }],
          max_tokens: 8,
          metadata: { i: String(i) },
        })
      ).body.id,
    );
  await c.post("/v1/responses", { model: "sim-fast", input: "a stored response", max_output_tokens: 8 });
  await waitFor(
    async () => {
      const n = await s.database.db
        .selectFrom("jobs")
        .select(sql<number>`count(*)::int`.as("n"))
        .where("tenant_id", "=", t.id)
        .executeTakeFirstOrThrow();
      return n.n >= 5 ? true : undefined;
    },
    30_000,
    "the jobs stored by the aggregator",
  );
  await c.post(`/v1/jobs/${ids[0]}/feedback`, { rating: 5, comment: "good" });
}, 90_000);

afterAll(async () => {
  await s?.stop();
  await target?.drop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Every application table's rows as Postgres renders them, sorted: what two databases must share. */
async function contents(db: Kysely<Database>, manifest: BackupManifest): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  await db.transaction().execute(async (trx) => {
    await sql`SET LOCAL TimeZone = 'UTC'`.execute(trx);
    for (const t of manifest.tables) {
      const r = await sql<{ j: string }>`SELECT row_to_json(x)::text AS j FROM ${sql.table(t.name)} x ORDER BY row_to_json(x)::text COLLATE "C"`.execute(trx);
      out[t.name] = r.rows.map((row) => row.j);
    }
  });
  return out;
}

test("backup, restore into an empty Postgres database: every table equal, serial ids continue, a second restore refused", async () => {
  const dir = tmp();
  const manifest = await backupDatabase(s.database.db, dir);
  const byName = Object.fromEntries(manifest.tables.map((t) => [t.name, t]));
  for (const table of [
    "tenants",
    "deployments",
    "api_keys",
    "audit_log",
    "credit_ledger",
    "credit_balances",
    "jobs",
    "usage_events",
    "usage_daily",
    "responses",
    "job_feedback",
  ]) {
    expect(byName[table]?.rows ?? 0).toBeGreaterThan(0);
  }
  // Parents before children: tenants before deployments before api_keys.
  const order = manifest.tables.map((t) => t.name);
  expect(order.indexOf("tenants")).toBeLessThan(order.indexOf("deployments"));
  expect(order.indexOf("deployments")).toBeLessThan(order.indexOf("api_keys"));

  target = await createTestDatabase();
  await restoreDatabase(target.db, dir);
  expect(await contents(target.db, manifest)).toEqual(await contents(s.database.db, manifest));
  // A restored database refuses a second restore (not empty), and its serial ids continue.
  await expect(restoreDatabase(target.db, dir)).rejects.toThrow(/empty database/);
  const maxAudit = Number((await sql<{ m: string }>`SELECT max(id)::text AS m FROM audit_log`.execute(target.db)).rows[0]!.m);
  const next = await sql<{
    id: string;
  }>`INSERT INTO audit_log (actor_key_id, tenant_id, action, target_type, target_id) VALUES (NULL, NULL, 'restore.check', 'test', 'x') RETURNING id::text AS id`.execute(
    target.db,
  );
  expect(Number(next.rows[0]!.id)).toBe(maxAudit + 1);
}, 60_000);

test("a damaged or edited backup is refused before anything is written", async () => {
  const dir = tmp();
  const manifest = await backupDatabase(s.database.db, dir);
  await expect(verifyBackup(dir)).resolves.toMatchObject({ format: "switchyard-backup/1" });
  const file = path.join(dir, manifest.tables.find((t) => t.name === "usage_events")!.file);
  writeFileSync(file, readFileSync(file, "utf8").replace(/"cost_usd":[0-9.]+/, '"cost_usd":999'));
  await expect(verifyBackup(dir)).rejects.toThrow(/checksum/);
  const empty = await createTestDatabase();
  try {
    await expect(restoreDatabase(empty.db, dir)).rejects.toThrow(/checksum/);
    expect(Number((await sql<{ n: string }>`SELECT count(*)::text AS n FROM tenants`.execute(empty.db)).rows[0]!.n)).toBe(0);
  } finally {
    await empty.drop();
  }
  await expect(backupDatabase(s.database.db, dir)).rejects.toThrow(/already holds a backup/);
}, 60_000);

test("the same backup restored into the embedded PGlite backs up again to the very same files", async () => {
  const dir = tmp();
  const manifest = await backupDatabase(s.database.db, dir);
  const lite = await pgliteBackend(); // migrated
  const db = lite.db;
  try {
    await restoreDatabase(db, dir);
    const again = await backupDatabase(db, tmp());
    expect(again.migrations).toEqual(manifest.migrations);
    expect(again.tables.map((t) => [t.name, t.rows, t.sha256])).toEqual(manifest.tables.map((t) => [t.name, t.rows, t.sha256]));
  } finally {
    await lite.close();
  }
}, 120_000);
