import type { OpsUsageReport } from "@switchyard/contracts";
import { OPS_USAGE_GROUP_BY } from "@switchyard/db";
import { adminApi, API_FLAGS, API_FLAGS_HELP, queryString } from "../admin-api";
import type { Command } from "../command";
import { choiceFlag, dayFlag, optionalFlag, parseFlags } from "../flags";
import { output, table, usd } from "../format";

/** `switchyard usage`: usage across every tenant, for ops (`GET /admin/v1/usage`). */
export const usage: Command = {
  summary: "Show usage across tenants for a range of days, biggest spender first",
  help: [
    `Usage: switchyard usage --from YYYY-MM-DD --to YYYY-MM-DD [--group-by ${OPS_USAGE_GROUP_BY.join("|")}] [--tenant ID] [--json]`,
    "",
    "Requests, errors, tokens and cost from the ledger's rollups, grouped (default by tenant), the",
    "biggest cost first (GET /admin/v1/usage). At most 366 days.",
    "",
    "  --from, --to  the UTC days, both included (required)",
    "  --group-by    what a row is (default tenant)",
    "  --tenant      only this tenant",
    ...API_FLAGS_HELP,
  ].join("\n"),
  async run(args, ctx) {
    const f = parseFlags(args, { ...API_FLAGS, from: { type: "string" }, to: { type: "string" }, "group-by": { type: "string" }, tenant: { type: "string" } });
    const q = {
      from: dayFlag(f.from, "--from"),
      to: dayFlag(f.to, "--to"),
      group_by: choiceFlag(f["group-by"], "--group-by", OPS_USAGE_GROUP_BY),
      tenant_id: optionalFlag(f.tenant, "--tenant"),
    };
    const { body } = await adminApi(ctx, f).call<OpsUsageReport>("GET", `/usage${queryString(q)}`);
    output(ctx, f.json, body, () => {
      if (body.data.length === 0) return `no usage from ${body.from} to ${body.to}`;
      const withTenant = body.data.some((g) => g.tenant_id !== undefined);
      const header = [body.group_by, ...(withTenant ? ["tenant"] : []), "requests", "errors", "input tokens", "output tokens", "cost"];
      return table(
        header,
        body.data.map((g) => [g.key, ...(withTenant ? [g.tenant_id] : []), g.requests, g.errors, g.input_tokens, g.output_tokens, usd(g.cost_usd)]),
      );
    });
  },
};
