import { sql, type Kysely } from "kysely";

/** A job's runs and waits (`attempts` on the job view), kept after Redis retention like the rest of it. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE jobs ADD COLUMN attempts jsonb`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE jobs DROP COLUMN attempts`.execute(db);
}
