import { backupDatabase, restoreDatabase } from "@switchyard/db";
import { CliError, type Command } from "../command";
import { parseCommandLine } from "../flags";

const rows = (m: { tables: Array<{ rows: number }> }) => m.tables.reduce((n, t) => n + t.rows, 0);

/** `switchyard backup <folder> [--json]`: a consistent logical backup of the database. */
export const backup: Command = {
  summary: "Write a consistent logical backup of the database to a folder",
  help: [
    "Usage: switchyard backup <folder> [--json]",
    "",
    "Writes every table of the database at DATABASE_URL (tenants, deployments, keys, credits, the",
    "usage ledger and rollups, finished jobs, responses, feedback, documents, audit) to <folder>:",
    "one JSON Lines file per table, read in one snapshot, and manifest.json with row counts,",
    "SHA-256 checksums and the schema's migrations. The folder must not hold a backup already.",
    "Works on real Postgres and on the embedded PGlite (pnpm start) alike.",
    "",
    "  --json    print the manifest instead of a summary",
  ].join("\n"),
  async run(args, ctx) {
    const { values, positionals } = parseCommandLine(args, { json: { type: "boolean" } }, ["folder"] as const);
    const manifest = await backupDatabase(ctx.db(), positionals[0]).catch((err: Error) => {
      throw new CliError(`backup failed: ${err.message}`);
    });
    if (values.json) ctx.stdout.write(`${JSON.stringify(manifest)}\n`);
    else
      ctx.stdout.write(
        `backed up ${manifest.tables.length} tables, ${rows(manifest)} rows, to ${positionals[0]} (schema ${manifest.migrations.at(-1) ?? "none"})\n`,
      );
  },
};

/** `switchyard restore <folder> [--json]`: load a backup into an empty database. */
export const restore: Command = {
  summary: "Load a backup into an empty database (checksums verified first)",
  help: [
    "Usage: switchyard restore <folder> [--json]",
    "",
    "Verifies every file of the backup in <folder> against its manifest, then loads it in one",
    "transaction into the database at DATABASE_URL, which must be migrated to the backup's schema",
    "(switchyard migrate) and hold no rows. Serial ids continue after the restored ones.",
    "",
    "  --json    print the manifest instead of a summary",
  ].join("\n"),
  async run(args, ctx) {
    const { values, positionals } = parseCommandLine(args, { json: { type: "boolean" } }, ["folder"] as const);
    const manifest = await restoreDatabase(ctx.db(), positionals[0]).catch((err: Error) => {
      throw new CliError(`restore failed: ${err.message}`);
    });
    if (values.json) ctx.stdout.write(`${JSON.stringify(manifest)}\n`);
    else ctx.stdout.write(`restored ${manifest.tables.length} tables, ${rows(manifest)} rows, from ${positionals[0]}\n`);
  },
};
