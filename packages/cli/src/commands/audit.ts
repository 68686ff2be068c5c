import type { AuditPage } from "@switchyard/contracts";
import { adminApi, API_FLAGS, API_FLAGS_HELP, queryString } from "../admin-api";
import { UsageError, type Command } from "../command";
import { limitFlag, optionalFlag, parseCommandLine } from "../flags";
import { output, table } from "../format";

/** An ISO 8601 date-time with a zone, or a UTC day (taken as its midnight). */
function instantFlag(value: string | undefined, flag: string): string | undefined {
  if (value === undefined) return undefined;
  if (/^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(Date.parse(`${value}T00:00:00Z`))) return `${value}T00:00:00Z`;
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value) && !Number.isNaN(Date.parse(value))) return value;
  throw new UsageError(`${flag} must be a date-time with a zone (2026-12-07T05:00:00Z) or a UTC day (2026-12-07), got ${JSON.stringify(value)}`);
}

/** `switchyard audit`: the audit log of admin mutations, newest first, filtered. */
export const audit: Command = {
  summary: "Show the audit log of admin changes, newest first",
  help: [
    "Usage: switchyard audit [--action A] [--actor KEY_ID] [--since T] [--until T] [--target ID]",
    "         [--target-type TYPE] [--tenant ID] [--limit N] [--cursor ID] [--json]",
    "",
    "Who changed what (GET /admin/v1/audit). Every filter given must hold.",
    "",
    "  --action       e.g. tenant.create, deployment.update, api_key.revoke",
    "  --actor        the acting API key's id",
    "  --since        from this time on (inclusive): 2026-12-07T05:00:00Z, or a UTC day",
    "  --until        before this time (exclusive)",
    "  --target       the changed object's id",
    "  --target-type  tenant, deployment, api_key, end_user, …",
    "  --tenant       rows of this tenant",
    "  --limit        rows per page, 1 to 500 (default 50)",
    "  --cursor       the next page: the cursor printed after the previous one",
    ...API_FLAGS_HELP,
  ].join("\n"),
  async run(args, ctx) {
    const { values: f } = parseCommandLine(
      args,
      {
        ...API_FLAGS,
        action: { type: "string" },
        actor: { type: "string" },
        since: { type: "string" },
        until: { type: "string" },
        target: { type: "string" },
        "target-type": { type: "string" },
        tenant: { type: "string" },
        limit: { type: "string" },
        cursor: { type: "string" },
      },
      [],
    );
    const filters = {
      action: optionalFlag(f.action, "--action"),
      actor: optionalFlag(f.actor, "--actor"),
      since: instantFlag(f.since, "--since"),
      until: instantFlag(f.until, "--until"),
      target: optionalFlag(f.target, "--target"),
      target_type: optionalFlag(f["target-type"], "--target-type"),
      tenant_id: optionalFlag(f.tenant, "--tenant"),
    };
    const limit = limitFlag(f.limit, 500);
    const cursor = optionalFlag(f.cursor, "--cursor");
    const { body } = await adminApi(ctx, f).call<AuditPage>("GET", `/audit${queryString({ ...filters, limit, cursor })}`);
    output(ctx, f.json, body, () => {
      if (!body.data.length) return "no audit rows";
      const text = table(
        ["ID", "CREATED", "ACTOR", "TENANT", "ACTION", "TARGET TYPE", "TARGET"],
        body.data.map((r) => [r.id, r.created_at, r.actor_key_id ?? "system", r.tenant_id, r.action, r.target_type, r.target_id]),
      );
      if (!body.has_more || !body.next_cursor) return text;
      const flagOf: Record<string, string> = {
        action: "--action",
        actor: "--actor",
        since: "--since",
        until: "--until",
        target: "--target",
        target_type: "--target-type",
        tenant_id: "--tenant",
      };
      const again = [
        "switchyard audit",
        ...Object.entries(filters).flatMap(([k, v]) => (v === undefined ? [] : [flagOf[k]!, v])),
        ...(limit !== undefined ? ["--limit", String(limit)] : []),
      ].join(" ");
      return `${text}\nmore: ${again} --cursor ${body.next_cursor}`;
    });
  },
};
