import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import Module from "node:module";
import { createDb, migrateToLatest, type Database } from "@switchyard/db";
import { createTestDatabase, TEST_PG_ADMIN_URL } from "@switchyard/testkit";
import { sql, type Kysely } from "kysely";
import { pgliteKysely } from "./pglite-dialect";

/** A migrated database the RAG suites run against. */
export interface Backend {
  /**
   * "postgres": the machine's server without pgvector (`real[]`), whether or not the extension is
   * installed there; "postgres+pgvector": the same server with the extension (`vector`);
   * "pglite": in-process, pgvector.
   */
  name: "postgres" | "postgres+pgvector" | "pglite";
  db: Kysely<Database>;
  close(): Promise<void>;
}

/**
 * Loads a module with Node's own loader instead of jest's. PGlite's CommonJS build reaches Node
 * built-ins through `import("fs")`, which jest's module sandbox refuses without
 * --experimental-vm-modules; loaded natively, the same code runs in-process unchanged.
 */
function nativeRequire<T>(id: string): T {
  const loader = Module as unknown as { _load(request: string, parent: null, isMain: boolean): unknown };
  return loader._load(require.resolve(id), null, false) as T;
}

/** In-process PGlite with pgvector and btree_gin loaded, migrated. */
export async function pgliteBackend(): Promise<Backend> {
  const { PGlite: PGliteClass } = nativeRequire<typeof import("@electric-sql/pglite")>("@electric-sql/pglite");
  const { vector } = nativeRequire<typeof import("@electric-sql/pglite-pgvector")>("@electric-sql/pglite-pgvector");
  // btree_gin: migration 0011 puts tenant and collection into the full-text GIN index with it.
  const { btree_gin } = nativeRequire<typeof import("@electric-sql/pglite/contrib/btree_gin")>("@electric-sql/pglite/contrib/btree_gin");
  const pg = await PGliteClass.create({ extensions: { vector, btree_gin } });
  const db = pgliteKysely(pg);
  await migrateToLatest(db);
  return { name: "pglite", db, close: () => db.destroy() };
}

/** Role that owns the no-pgvector databases: not a superuser, so `CREATE EXTENSION vector` (an untrusted extension) is refused. */
const NO_PGVECTOR_ROLE = "sy_test_no_pgvector";

/**
 * A fresh database on the machine's Postgres 15 where pgvector is not enabled (`real[]`), even
 * when the server has the extension installed: the database is owned and migrated by a role
 * that is not a superuser, so migration 0004's `CREATE EXTENSION vector` is refused and rolled
 * back, as on a managed server that does not allow it. btree_gin (trusted) is still created.
 */
export async function postgresBackend(): Promise<Backend> {
  const name = `sy_test_${randomBytes(6).toString("hex")}`;
  const admin = createDb({ connectionString: TEST_PG_ADMIN_URL, max: 1 });
  try {
    try {
      await sql`CREATE ROLE ${sql.id(NO_PGVECTOR_ROLE)} LOGIN NOSUPERUSER`.execute(admin);
    } catch (err) {
      // Another test file created it first (42710), or at the same moment (23505 on pg_authid).
      if (!["42710", "23505"].includes((err as { code?: string }).code ?? "")) throw err;
    }
    await sql`CREATE DATABASE ${sql.id(name)} OWNER ${sql.id(NO_PGVECTOR_ROLE)}`.execute(admin);
  } finally {
    await admin.destroy();
  }
  const u = new URL(TEST_PG_ADMIN_URL);
  u.pathname = `/${name}`;
  u.username = NO_PGVECTOR_ROLE;
  const db = createDb({ connectionString: u.toString(), max: 5 });
  const drop = async () => {
    await db.destroy();
    const c = createDb({ connectionString: TEST_PG_ADMIN_URL, max: 1 });
    try {
      await sql`DROP DATABASE IF EXISTS ${sql.id(name)} WITH (FORCE)`.execute(c);
    } finally {
      await c.destroy();
    }
  };
  try {
    await migrateToLatest(db);
  } catch (err) {
    await drop();
    throw err;
  }
  return { name: "postgres", db, close: drop };
}

/** A fresh database on the machine's Postgres as its superuser, migrated: pgvector is enabled when the server has it (see {@link PGVECTOR}). */
export async function postgresPgvectorBackend(): Promise<Backend> {
  const t = await createTestDatabase();
  return { name: "postgres+pgvector", db: t.db, close: () => t.drop() };
}

/**
 * Whether the machine's Postgres offers pgvector (`pg_available_extensions`), asked once when a
 * suite is defined (jest needs it synchronously to skip a suite), with why not. CI's Postgres has
 * no pgvector: suites that need it are skipped there, saying so.
 */
export const PGVECTOR: { available: boolean; reason: string } = (() => {
  const code = `
    const pg = require(${JSON.stringify(require.resolve("pg", { paths: [require.resolve("@switchyard/db")] }))});
    const c = new pg.Client({ connectionString: process.env.URL });
    c.connect()
      .then(() => c.query("SELECT default_version FROM pg_available_extensions WHERE name = 'vector'"))
      .then((r) => { process.stdout.write(r.rows[0] ? "yes " + r.rows[0].default_version : "no"); return c.end(); })
      .catch((e) => { process.stdout.write("error " + e.message); process.exit(0); });`;
  const r = spawnSync(process.execPath, ["-e", code], { env: { ...process.env, URL: TEST_PG_ADMIN_URL }, encoding: "utf8", timeout: 15_000 });
  const out = (r.stdout ?? "").trim();
  if (out.startsWith("yes")) return { available: true, reason: `pgvector ${out.slice(4)} installed` };
  if (out === "no") return { available: false, reason: "the PostgreSQL server has no pgvector extension installed (pg_available_extensions)" };
  return { available: false, reason: `could not ask the PostgreSQL server about pgvector: ${out || r.error?.message || r.stderr}` };
})();

/**
 * Every backend, for suites that must hold on each storage type: Postgres without pgvector,
 * PGlite, and Postgres with pgvector where the server has it (not on CI: {@link PGVECTOR}).
 */
export const BACKENDS: Array<[Backend["name"], () => Promise<Backend>]> = [
  ["postgres", postgresBackend],
  ["pglite", pgliteBackend],
  ...(PGVECTOR.available ? [["postgres+pgvector", postgresPgvectorBackend] as [Backend["name"], () => Promise<Backend>]] : []),
];

/** Inserts tenants (documents reference them). */
export async function addTenants(db: Kysely<Database>, ...ids: string[]): Promise<void> {
  await db
    .insertInto("tenants")
    .values(ids.map((id) => ({ id, name: id, timezone: "UTC", billing_mode: "postpaid" as const })))
    .execute();
}
