import { migrateToLatest } from "@switchyard/db";
import type { Command } from "../command";
import { parseFlags } from "../flags";

/** `switchyard migrate [--json]`: apply pending database migrations. */
export const migrate: Command = {
  summary: "Apply pending database migrations",
  help: [
    "Usage: switchyard migrate [--json]",
    "",
    "Applies every pending migration to the database at DATABASE_URL (safe to run again, and",
    "from several places at once: kysely serialises concurrent runs).",
    "",
    '  --json    print {"applied":[names]} instead of text',
  ].join("\n"),
  async run(args, ctx) {
    const flags = parseFlags(args, { json: { type: "boolean" } });
    const applied = await migrateToLatest(ctx.db());
    if (flags.json) ctx.stdout.write(`${JSON.stringify({ applied })}\n`);
    else ctx.stdout.write(applied.length ? `applied ${applied.length} migration(s): ${applied.join(", ")}\n` : "database is up to date\n");
  },
};
