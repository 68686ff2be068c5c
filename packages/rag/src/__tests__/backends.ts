import Module from "node:module";
import { migrateToLatest, type Database } from "@switchyard/db";
import { createTestDatabase } from "@switchyard/testkit";
import type { Kysely } from "kysely";
import { pgliteKysely } from "./pglite-dialect";

/** A migrated database the RAG suites run against. */
export interface Backend {
  /** "postgres" (the machine's server, no pgvector: `real[]`) or "pglite" (in-process, pgvector). */
  name: "postgres" | "pglite";
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

/** A fresh database on the machine's Postgres (15, without pgvector), migrated. */
export async function postgresBackend(): Promise<Backend> {
  const t = await createTestDatabase();
  return { name: "postgres", db: t.db, close: () => t.drop() };
}

/** Both backends, for suites that must hold on each storage type. */
export const BACKENDS: Array<[Backend["name"], () => Promise<Backend>]> = [
  ["postgres", postgresBackend],
  ["pglite", pgliteBackend],
];

/** Inserts tenants (documents reference them). */
export async function addTenants(db: Kysely<Database>, ...ids: string[]): Promise<void> {
  await db
    .insertInto("tenants")
    .values(ids.map((id) => ({ id, name: id, timezone: "UTC", billing_mode: "postpaid" as const })))
    .execute();
}
