/**
 * One-shot database setup for `infra/docker-compose.yml` (the `migrate` service): applies every
 * pending migration, then makes sure the demo tenant and its bootstrap key exist.
 *
 * Env: DATABASE_URL (required); SWITCHYARD_BOOTSTRAP_KEY (optional, `sy_live_<id>_<secret>`:
 * installed if missing, so the key is known in advance; without it a key is generated once and
 * printed). Safe to run again: migrations and the seed are idempotent.
 *
 * Run: `node_modules/.bin/tsx infra/migrate.ts`
 */
import { createDb, migrateToLatest, seedDemo } from "@switchyard/db";

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error("DATABASE_URL is required (postgres://user:password@host:5432/db)");
  const bootstrapKey = process.env.SWITCHYARD_BOOTSTRAP_KEY || undefined;
  const db = createDb({ connectionString: url, max: 2 });
  try {
    // Postgres may still be starting even after its healthcheck flips; retry the first step briefly.
    let applied: string[] = [];
    for (let attempt = 1; ; attempt++) {
      try {
        applied = await migrateToLatest(db);
        break;
      } catch (err) {
        const code = (err as { code?: string; cause?: { code?: string } }).code ?? (err as { cause?: { code?: string } }).cause?.code;
        const transient = ["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "57P03" /* cannot_connect_now */].includes(code ?? "");
        if (!transient || attempt >= 30) throw err;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    process.stdout.write(applied.length ? `applied migrations: ${applied.join(", ")}\n` : "database already at the latest migration\n");
    const seeded = await seedDemo(db, { bootstrapKey });
    if (bootstrapKey) process.stdout.write(`demo tenant ${seeded.tenantId} ready; bootstrap key from SWITCHYARD_BOOTSTRAP_KEY\n`);
    else if (seeded.key) process.stdout.write(`demo tenant ${seeded.tenantId} ready; new bootstrap key (shown once): ${seeded.key}\n`);
    else process.stdout.write(`demo tenant ${seeded.tenantId} ready; its bootstrap key already exists (only its hash is stored)\n`);
  } finally {
    await db.destroy();
  }
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`migrate failed: ${err.message}\n`);
    process.exit(1);
  },
);
