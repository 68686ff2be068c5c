// Type-only: the shapes come from the API's own schemas; nothing of contracts is loaded at run time.
import type { UsageDeadLetterList, UsageDeadLetterReplay } from "@switchyard/contracts";
import { adminApi, API_FLAGS, API_FLAGS_HELP, seg } from "../admin-api";
import { UsageError, withSubcommands, type Command } from "../command";
import { intFlag, optionalFlag, parseCommandLine } from "../flags";
import { output, table } from "../format";

/** Longest error shown in the table (the whole one is in `--json`). */
const ERROR_WIDTH = 60;
const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

const list: Command = {
  summary: "List usage events the ledger could not store",
  help: [
    "Usage: switchyard dead-letters list [--open] [--limit N] [--cursor ID] [--json]",
    "",
    "Usage events the aggregator set aside because Postgres refused them (or they did not parse),",
    "newest first (GET /admin/v1/usage-dead-letters). --json includes each event as received.",
    "",
    "  --open      only those not yet replayed",
    "  --limit     rows per page, 1 to 200 (default 50)",
    "  --cursor    the next page: the cursor printed after the previous one",
    ...API_FLAGS_HELP,
  ].join("\n"),
  async run(args, ctx) {
    const { values: f } = parseCommandLine(args, { ...API_FLAGS, open: { type: "boolean" }, limit: { type: "string" }, cursor: { type: "string" } }, []);
    const limit = intFlag(f.limit, "--limit", 1);
    if (limit !== undefined && limit > 200) throw new UsageError(`--limit must be at most 200, got ${limit}`);
    const cursor = optionalFlag(f.cursor, "--cursor");
    const q = new URLSearchParams({
      ...(limit === undefined ? {} : { limit: String(limit) }),
      ...(cursor === undefined ? {} : { cursor }),
      ...(f.open ? { replayed: "false" } : {}),
    });
    const { body } = await adminApi(ctx, f).call<UsageDeadLetterList>("GET", `/usage-dead-letters${q.size ? `?${q.toString()}` : ""}`);
    output(ctx, f.json, body, () => {
      if (!body.data.length) return f.open ? "no usage dead letters waiting for a replay" : "no usage dead letters";
      const rows = body.data.map((d) => [
        d.id,
        d.created_at,
        d.tenant_id,
        d.job_id,
        d.attempt,
        d.reason,
        d.sqlstate,
        d.replayed_at ?? "no",
        clip(d.error.replaceAll("\n", " "), ERROR_WIDTH),
      ]);
      const text = table(["ID", "CREATED", "TENANT", "JOB", "ATTEMPT", "REASON", "SQLSTATE", "REPLAYED", "ERROR"], rows);
      return body.has_more && body.next_cursor ? `${text}\nmore: switchyard dead-letters list --cursor ${body.next_cursor}${f.open ? " --open" : ""}` : text;
    });
  },
};

const replay: Command = {
  summary: "Re-enqueue a dead-lettered usage event into ai-usage",
  help: [
    "Usage: switchyard dead-letters replay <id> [--sanitize] [--json]",
    "",
    "Re-reads the stored event, enqueues it into ai-usage and marks the dead letter replayed",
    "(POST /admin/v1/usage-dead-letters/{id}/replay; audited). The ledger keeps one row per",
    "(job, attempt), so a replay never bills twice; an event refused again comes back to the list.",
    "",
    "  --sanitize  remove NUL characters (U+0000) from every string of the event first",
    ...API_FLAGS_HELP,
  ].join("\n"),
  async run(args, ctx) {
    const {
      values: f,
      positionals: [id],
    } = parseCommandLine(args, { ...API_FLAGS, sanitize: { type: "boolean" } }, ["id"]);
    const { body } = await adminApi(ctx, f).call<UsageDeadLetterReplay>("POST", `/usage-dead-letters/${seg(id)}/replay`, {
      body: { sanitize: f.sanitize === true },
    });
    const d = body.dead_letter;
    output(
      ctx,
      f.json,
      body,
      () =>
        `replayed dead letter ${d.id} (job ${d.job_id}, attempt ${d.attempt}) as ai-usage job ${body.queue_job_id}${body.sanitized ? ", NULs removed" : ""}`,
    );
  },
};

/** `switchyard dead-letters list|replay`: usage events the ledger set aside, through the admin API. */
export const deadLetters = withSubcommands("dead-letters", "Usage events the ledger could not store (admin API)", { list, replay });
