import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { sql, type Kysely, type Transaction } from "kysely";
import { UsagePartitions } from "./partitions";
import type { Database } from "./schema";

/** What `switchyard backup` writes beside the table files. */
export interface BackupManifest {
  format: "switchyard-backup/1";
  created_at: string;
  /** The schema the rows belong to: restore needs a database migrated to exactly these. */
  migrations: string[];
  /** In restore order (every table after the tables it references). */
  tables: Array<{ name: string; rows: number; file: string; sha256: string }>;
}

export const MANIFEST_FILE = "manifest.json";
/** Rows read per cursor fetch and written per insert. */
const BATCH = 500;
/** Kysely's own bookkeeping: the restored database has its own, from its migrations. */
const SKIPPED = new Set(["kysely_migration", "kysely_migration_lock"]);

type Db = Kysely<Database> | Transaction<Database>;

/** The application's tables (partitioned parents, not their partitions), each after every table it references. */
async function tablesInOrder(db: Db): Promise<string[]> {
  const tables = await sql<{ name: string }>`
    SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
     ORDER BY c.relname`.execute(db);
  const refs = await sql<{ child: string; parent: string }>`
    SELECT c.relname AS child, p.relname AS parent FROM pg_constraint k
      JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE k.contype = 'f' AND n.nspname = 'public' AND NOT c.relispartition`.execute(db);
  const names = tables.rows.map((t) => t.name).filter((t) => !SKIPPED.has(t));
  const deps = new Map(names.map((t) => [t, new Set(refs.rows.filter((r) => r.child === t && r.parent !== t).map((r) => r.parent))]));
  const out: string[] = [];
  const visit = (t: string, path: string[]) => {
    if (out.includes(t)) return;
    if (path.includes(t)) throw new Error(`foreign keys form a cycle: ${[...path, t].join(" → ")}`);
    for (const p of deps.get(t) ?? []) if (deps.has(p)) visit(p, [...path, t]);
    out.push(t);
  };
  for (const t of names) visit(t, []);
  return out;
}

/** A table's columns that take values (generated ones are computed again on insert). */
async function insertableColumns(db: Db, table: string): Promise<string[]> {
  const r = await sql<{ name: string }>`
    SELECT a.attname AS name FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relname = ${table} AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
     ORDER BY a.attnum`.execute(db);
  return r.rows.map((x) => x.name);
}

async function appliedMigrations(db: Db): Promise<string[]> {
  const r = await sql<{ name: string }>`SELECT name FROM kysely_migration ORDER BY name`.execute(db);
  return r.rows.map((x) => x.name);
}

/**
 * A consistent logical backup of every application table (ledger, configuration, keys, audit,
 * documents…) into `dir`: one JSON Lines file per table, each row as Postgres renders it
 * (`row_to_json`, so numerics keep every digit), rows in a fixed order, and a manifest with the row
 * counts, SHA-256 checksums and the schema's migrations. Read in one REPEATABLE READ, READ ONLY
 * transaction (one snapshot), times in UTC. Works on real Postgres and on PGlite alike.
 */
export async function backupDatabase(db: Kysely<Database>, dir: string): Promise<BackupManifest> {
  mkdirSync(dir, { recursive: true });
  if (existsSync(path.join(dir, MANIFEST_FILE))) throw new Error(`${dir} already holds a backup (${MANIFEST_FILE}); choose an empty folder`);
  return db
    .transaction()
    .setIsolationLevel("repeatable read")
    .setAccessMode("read only")
    .execute(async (trx) => {
      await sql`SET LOCAL TimeZone = 'UTC'`.execute(trx);
      const manifest: BackupManifest = {
        format: "switchyard-backup/1",
        created_at: new Date().toISOString(),
        migrations: await appliedMigrations(trx),
        tables: [],
      };
      for (const table of await tablesInOrder(trx)) {
        const file = `${table}.jsonl`;
        const hash = createHash("sha256");
        const out = createWriteStream(path.join(dir, file));
        let rows = 0;
        await sql`DECLARE backup_rows NO SCROLL CURSOR FOR SELECT j FROM (SELECT row_to_json(t)::text AS j FROM ${sql.table(table)} t) s ORDER BY j COLLATE "C"`.execute(
          trx,
        );
        for (;;) {
          const page = await sql<{ j: string }>`FETCH ${sql.raw(String(BATCH))} FROM backup_rows`.execute(trx);
          if (page.rows.length === 0) break;
          const chunk = page.rows.map((r) => `${r.j}\n`).join("");
          hash.update(chunk);
          if (!out.write(chunk)) await new Promise<void>((r) => out.once("drain", () => r()));
          rows += page.rows.length;
        }
        await sql`CLOSE backup_rows`.execute(trx);
        await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
        manifest.tables.push({ name: table, rows, file, sha256: hash.digest("hex") });
      }
      writeFileSync(path.join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
      return manifest;
    });
}

/** The manifest of a backup folder, with every file's checksum and row count verified. */
export async function verifyBackup(dir: string): Promise<BackupManifest> {
  const manifest = JSON.parse(readFileSync(path.join(dir, MANIFEST_FILE), "utf8")) as BackupManifest;
  if (manifest.format !== "switchyard-backup/1") throw new Error(`${dir}: not a Switchyard backup (format ${String(manifest.format)})`);
  const listed = new Set(manifest.tables.map((t) => t.file));
  for (const t of manifest.tables) {
    const hash = createHash("sha256");
    let rows = 0;
    for await (const line of createInterface({ input: createReadStream(path.join(dir, t.file)), crlfDelay: Infinity })) {
      hash.update(`${line}\n`);
      rows++;
    }
    if (hash.digest("hex") !== t.sha256 || rows !== t.rows)
      throw new Error(`${t.file}: checksum or row count does not match the manifest (damaged or edited backup)`);
  }
  const extra = readdirSync(dir).filter((f) => f.endsWith(".jsonl") && !listed.has(f));
  if (extra.length) throw new Error(`${dir}: files not in the manifest: ${extra.join(", ")}`);
  return manifest;
}

/**
 * Load a verified backup into `db`, which must be migrated to the backup's migrations and hold no
 * rows in any application table. One transaction: all of it, or nothing. Monthly usage partitions
 * are created for the rows' months; serial ids continue after the restored ones.
 */
export async function restoreDatabase(db: Kysely<Database>, dir: string): Promise<BackupManifest> {
  const manifest = await verifyBackup(dir);
  await db.transaction().execute(async (trx) => {
    await sql`SET LOCAL TimeZone = 'UTC'`.execute(trx);
    const migrations = await appliedMigrations(trx);
    if (migrations.join() !== manifest.migrations.join()) {
      throw new Error(
        `the database's migrations (${migrations.at(-1) ?? "none"}) differ from the backup's (${manifest.migrations.at(-1) ?? "none"}): migrate it to the same version first`,
      );
    }
    const tables = await tablesInOrder(trx);
    const missing = manifest.tables.filter((t) => !tables.includes(t.name)).map((t) => t.name);
    if (missing.length) throw new Error(`tables in the backup but not in the database: ${missing.join(", ")}`);
    for (const t of tables) {
      const r = await sql<{ has_rows: boolean }>`SELECT EXISTS (SELECT 1 FROM ${sql.table(t)}) AS has_rows`.execute(trx);
      if (r.rows[0]?.has_rows) throw new Error(`restore needs an empty database: ${t} has rows`);
    }
    for (const t of manifest.tables) {
      const cols = await insertableColumns(trx, t.name);
      const list = sql.join(cols.map((c) => sql.id(c)));
      const insert = async (lines: string[]) => {
        if (t.name === "usage_events") await new UsagePartitions(trx).ensureFor(lines.map((l) => (JSON.parse(l) as { occurred_at: string }).occurred_at));
        await sql`INSERT INTO ${sql.table(t.name)} (${list}) SELECT ${list} FROM json_populate_recordset(NULL::${sql.table(t.name)}, ${`[${lines.join(",")}]`}::json)`.execute(
          trx,
        );
      };
      let batch: string[] = [];
      for await (const line of createInterface({ input: createReadStream(path.join(dir, t.file)), crlfDelay: Infinity })) {
        batch.push(line);
        if (batch.length >= BATCH) {
          await insert(batch);
          batch = [];
        }
      }
      if (batch.length) await insert(batch);
    }
    // Serial columns: the next id follows the restored ones.
    const serials = await sql<{ tbl: string; col: string; seq: string }>`
      SELECT c.relname AS tbl, a.attname AS col, pg_get_serial_sequence(quote_ident(c.relname), a.attname) AS seq
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND a.attnum > 0
         AND pg_get_serial_sequence(quote_ident(c.relname), a.attname) IS NOT NULL`.execute(trx);
    for (const s of serials.rows) {
      await sql`SELECT setval(${s.seq}::regclass, GREATEST((SELECT max(${sql.id(s.col)}) FROM ${sql.table(s.tbl)}), 1), (SELECT count(*) > 0 FROM ${sql.table(s.tbl)}))`.execute(
        trx,
      );
    }
  });
  return manifest;
}
