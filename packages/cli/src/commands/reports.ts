import { addDays, daysBetween, generateDailyReports } from "@switchyard/db";
import { UsageError, withSubcommands, type Command } from "../command";
import { dayFlag, optionalFlag, parseFlags } from "../flags";
import { createProgress } from "../progress";

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

const generate: Command = {
  summary: "Build (or rebuild) the daily reports of one UTC day",
  help: [
    "Usage: switchyard reports generate --date YYYY-MM-DD [--tenant ID] [--json]",
    "",
    "Builds the daily usage report of that UTC day for every tenant that existed by then (an empty",
    "report when it had no usage), or for one tenant, and stores it; running it again replaces it.",
    "",
    "  --date     the UTC day (required)",
    "  --tenant   only this tenant",
    '  --json     print {"date","reports","with_usage"} instead of text',
  ].join("\n"),
  async run(args, ctx) {
    const flags = parseFlags(args, { date: { type: "string" }, tenant: { type: "string" }, json: { type: "boolean" } });
    const date = dayFlag(flags.date, "--date");
    const tenantId = optionalFlag(flags.tenant, "--tenant");
    const r = await generateDailyReports(ctx.db(), date, { tenantId });
    if (flags.json) ctx.stdout.write(`${JSON.stringify({ date, reports: r.reports, with_usage: r.withUsage })}\n`);
    else ctx.stdout.write(`${date}: ${plural(r.reports, "report")} (${r.withUsage} with usage)\n`);
  },
};

const backfill: Command = {
  summary: "Build the daily reports of every UTC day in a range",
  help: [
    "Usage: switchyard reports backfill --from YYYY-MM-DD --to YYYY-MM-DD [--tenant ID] [--json]",
    "",
    "Runs `reports generate` for each day from --from to --to (both included), oldest first.",
    'Progress goes to stderr: a bar on a terminal, one "n/N day" line per day otherwise.',
    "",
    "  --from     first UTC day (required)",
    "  --to       last UTC day (required, not before --from)",
    "  --tenant   only this tenant",
    '  --json     print {"from","to","days":[…],"reports","with_usage"} instead of text',
  ].join("\n"),
  async run(args, ctx) {
    const flags = parseFlags(args, { from: { type: "string" }, to: { type: "string" }, tenant: { type: "string" }, json: { type: "boolean" } });
    const from = dayFlag(flags.from, "--from");
    const to = dayFlag(flags.to, "--to");
    const tenantId = optionalFlag(flags.tenant, "--tenant");
    const total = daysBetween(from, to) + 1;
    if (total < 1) throw new UsageError(`--to (${to}) must not be before --from (${from})`);
    const db = ctx.db();
    const progress = createProgress(ctx.stderr, total);
    const days: Array<{ date: string; reports: number; with_usage: number }> = [];
    try {
      for (let i = 0; i < total; i++) {
        const date = addDays(from, i);
        const r = await generateDailyReports(db, date, { tenantId });
        days.push({ date, reports: r.reports, with_usage: r.withUsage });
        progress.tick(date, `${plural(r.reports, "report")} (${r.withUsage} with usage)`);
      }
    } finally {
      progress.done();
    }
    const reports = days.reduce((s, d) => s + d.reports, 0);
    const withUsage = days.reduce((s, d) => s + d.with_usage, 0);
    if (flags.json) ctx.stdout.write(`${JSON.stringify({ from, to, days, reports, with_usage: withUsage })}\n`);
    else ctx.stdout.write(`backfilled ${plural(total, "day")} ${from}..${to}: ${plural(reports, "report")} (${withUsage} with usage)\n`);
  },
};

/** `switchyard reports generate|backfill`: daily usage reports. */
export const reports = withSubcommands("reports", "Daily usage reports", { generate, backfill });
