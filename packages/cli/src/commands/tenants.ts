import type { TenantPage, TenantView as Tenant } from "@switchyard/contracts";
import { adminApi, API_FLAGS, API_FLAGS_HELP, queryString, seg } from "../admin-api";
import { withSubcommands, type Command } from "../command";
import { choiceFlag, limitFlag, optionalFlag, parseCommandLine } from "../flags";
import { fields, output, table } from "../format";

const describe = (t: Tenant) =>
  fields([
    ["id", t.id],
    ["name", t.name],
    ["timezone", t.timezone],
    ["billing_mode", t.billing_mode],
    ["default_deployment", t.default_deployment_id],
    ["daily_cost_alert_usd", t.daily_cost_alert_usd],
    ["created_at", t.created_at],
  ]);

const create: Command = {
  summary: "Create a tenant (and its default deployment)",
  help: [
    "Usage: switchyard tenants create <name> [--timezone TZ] [--billing-mode postpaid|prepaid] [--json]",
    "",
    "Creates a tenant with a default deployment (POST /admin/v1/tenants).",
    "",
    "  --timezone       IANA time zone of its reports and daily budgets (default UTC)",
    "  --billing-mode   postpaid (default) or prepaid (spends credits)",
    ...API_FLAGS_HELP,
  ].join("\n"),
  async run(args, ctx) {
    const {
      values: f,
      positionals: [name],
    } = parseCommandLine(args, { ...API_FLAGS, timezone: { type: "string" }, "billing-mode": { type: "string" } }, ["name"]);
    const timezone = optionalFlag(f.timezone, "--timezone");
    const billingMode = choiceFlag(f["billing-mode"], "--billing-mode", ["postpaid", "prepaid"] as const);
    const api = adminApi(ctx, f);
    const { body } = await api.call<Tenant>("POST", "/tenants", {
      body: { name, ...(timezone ? { timezone } : {}), ...(billingMode ? { billing_mode: billingMode } : {}) },
    });
    output(ctx, f.json, body, () => `created tenant ${body.id}\n${describe(body)}`);
  },
};

const get: Command = {
  summary: "Show a tenant",
  help: ["Usage: switchyard tenants get <id> [--json]", "", "Shows one tenant (GET /admin/v1/tenants/{id}).", "", ...API_FLAGS_HELP].join("\n"),
  async run(args, ctx) {
    const {
      values: f,
      positionals: [id],
    } = parseCommandLine(args, API_FLAGS, ["id"]);
    const { body } = await adminApi(ctx, f).call<Tenant>("GET", `/tenants/${seg(id)}`);
    output(ctx, f.json, body, () => describe(body));
  },
};

const list: Command = {
  summary: "List tenants, newest first",
  help: [
    "Usage: switchyard tenants list [--name TEXT] [--limit N] [--cursor ID] [--json]",
    "",
    "Tenants by id, descending: newest first (GET /admin/v1/tenants).",
    "",
    "  --name     only tenants whose name contains TEXT (any case)",
    "  --limit    rows per page, 1 to 500 (default 50)",
    "  --cursor   the next page: the cursor printed after the previous one",
    ...API_FLAGS_HELP,
  ].join("\n"),
  async run(args, ctx) {
    const { values: f } = parseCommandLine(args, { ...API_FLAGS, name: { type: "string" }, limit: { type: "string" }, cursor: { type: "string" } }, []);
    const name = optionalFlag(f.name, "--name");
    const limit = limitFlag(f.limit, 500);
    const cursor = optionalFlag(f.cursor, "--cursor");
    const { body } = await adminApi(ctx, f).call<TenantPage>("GET", `/tenants${queryString({ name, limit, cursor })}`);
    output(ctx, f.json, body, () => {
      if (!body.data.length) return name === undefined ? "no tenants" : `no tenants whose name contains ${JSON.stringify(name)}`;
      const text = table(
        ["ID", "NAME", "TIMEZONE", "BILLING", "DEFAULT DEPLOYMENT", "CREATED"],
        body.data.map((t) => [t.id, t.name, t.timezone, t.billing_mode, t.default_deployment_id, t.created_at]),
      );
      const again = [
        "switchyard tenants list",
        ...(name !== undefined ? ["--name", JSON.stringify(name)] : []),
        ...(limit !== undefined ? ["--limit", String(limit)] : []),
      ].join(" ");
      return body.has_more && body.next_cursor ? `${text}\nmore: ${again} --cursor ${body.next_cursor}` : text;
    });
  },
};

/** `switchyard tenants create|get|list`: tenants through the admin API. */
export const tenants = withSubcommands("tenants", "Tenants (admin API)", { create, get, list });
