import { JOB_LIST_MAX_LIMIT, JOB_STATUSES, type JobList } from "@switchyard/contracts";
import { API_FLAGS, gatewayApi, queryString, type ApiArea } from "../admin-api";
import { withSubcommands, type Command } from "../command";
import { choiceFlag, limitFlag, optionalFlag, parseCommandLine } from "../flags";
import { output, table, usd } from "../format";

/** The tenant API (`/v1/…`) with a tenant key: `--key`, else `SWITCHYARD_API_KEY`. */
const TENANT_AREA: ApiArea = { root: "/v1", keyEnv: "SWITCHYARD_API_KEY", keyWhat: "the jobs:read scope" };

const list: Command = {
  summary: "List the tenant's jobs, newest first",
  help: [
    "Usage: switchyard jobs list [--status S] [--model M] [--since T] [--until T] [--limit N] [--cursor C] [--json]",
    "",
    "The jobs of the key's tenant, newest first (GET /v1/jobs): waiting and running ones as well",
    "as finished ones. Every filter given must hold.",
    "",
    `  --status   ${JOB_STATUSES.join(", ")}`,
    "  --model    the requested or the served model",
    "  --since    created at or after this time: 2026-12-07T05:00:00Z (ISO 8601 with a zone)",
    "  --until    created before this time",
    `  --limit    jobs per page, 1 to ${JOB_LIST_MAX_LIMIT} (default 20)`,
    "  --cursor   the next page: the cursor printed after the previous one",
    "  --url URL  the gateway (default $SWITCHYARD_URL, else http://127.0.0.1:8080)",
    "  --key KEY  a key with the jobs:read scope (default $SWITCHYARD_API_KEY)",
    "  --json     print the API's JSON answer instead of text",
  ].join("\n"),
  async run(args, ctx) {
    const { values: f } = parseCommandLine(
      args,
      {
        ...API_FLAGS,
        status: { type: "string" },
        model: { type: "string" },
        since: { type: "string" },
        until: { type: "string" },
        limit: { type: "string" },
        cursor: { type: "string" },
      },
      [],
    );
    const filters = {
      status: choiceFlag(f.status, "--status", JOB_STATUSES),
      model: optionalFlag(f.model, "--model"),
      since: optionalFlag(f.since, "--since"),
      until: optionalFlag(f.until, "--until"),
    };
    const limit = limitFlag(f.limit, JOB_LIST_MAX_LIMIT);
    const cursor = optionalFlag(f.cursor, "--cursor");
    const { body } = await gatewayApi(ctx, f, TENANT_AREA).call<JobList>("GET", `/jobs${queryString({ ...filters, limit, cursor })}`);
    output(ctx, f.json, body, () => {
      if (!body.data.length) return Object.values(filters).some((v) => v !== undefined) ? "no jobs match" : "no jobs";
      const text = table(
        ["ID", "CREATED", "STATUS", "MODEL", "SERVED BY", "TOKENS IN/OUT", "COST"],
        body.data.map((j) => [
          j.id,
          j.created_at,
          j.status,
          j.model,
          j.served_model,
          j.usage ? `${j.usage.input_tokens}/${j.usage.output_tokens}` : null,
          j.usage ? usd(j.usage.cost_usd) : null,
        ]),
      );
      if (!body.has_more || !body.next_cursor) return text;
      const again = [
        "switchyard jobs list",
        ...Object.entries(filters).flatMap(([k, v]) => (v === undefined ? [] : [`--${k}`, JSON.stringify(v)])),
        ...(limit !== undefined ? ["--limit", String(limit)] : []),
      ].join(" ");
      return `${text}\nmore: ${again} --cursor ${body.next_cursor}`;
    });
  },
};

/** `switchyard jobs list`: the tenant's jobs through the tenant API (`jobs:read`). */
export const jobs = withSubcommands("jobs", "Jobs of the key's tenant (tenant API)", { list });
