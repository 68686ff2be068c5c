import { TEST_PG_ADMIN_URL } from "@switchyard/testkit";
import { randomBytes } from "node:crypto";
import { sql } from "kysely";
import { Client } from "pg";
import { createDb } from "./create-db";
import { migrateToLatest } from "./migrate";

test("the app's connections pin search_path to public: a database whose default search_path is empty still answers every query", async () => {
  const admin = new Client({ connectionString: TEST_PG_ADMIN_URL });
  await admin.connect();
  const name = `sy_schema_${randomBytes(4).toString("hex")}`;
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(TEST_PG_ADMIN_URL);
  url.pathname = `/${name}`;
  try {
    const setup = createDb({ connectionString: url.toString(), max: 1 });
    await migrateToLatest(setup);
    await setup.destroy();
    // What pg_dump does to its own session, made every new session's default.
    await admin.query(`ALTER DATABASE ${name} SET search_path = ''`);
    const raw = new Client({ connectionString: url.toString() });
    await raw.connect();
    await expect(raw.query("SELECT count(*) FROM tenants")).rejects.toThrow(/relation "tenants" does not exist/);
    await raw.end();

    const db = createDb({ connectionString: url.toString(), max: 2 });
    try {
      expect(await db.selectFrom("tenants").select("id").execute()).toEqual([]);
      const shown = await sql<{ search_path: string }>`SHOW search_path`.execute(db);
      expect(shown.rows[0]!.search_path).toBe("public");
    } finally {
      await db.destroy();
    }
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}, 60_000);
