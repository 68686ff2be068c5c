import { adminApi, API_FLAGS, API_FLAGS_HELP, seg } from "../admin-api";
import { withSubcommands, type Command } from "../command";
import { choiceFlag, optionalFlag, parseCommandLine } from "../flags";
import { fields, output } from "../format";

/** The fields of the API's tenant the CLI prints. */
interface Tenant {
  id: string;
  name: string;
  timezone: string;
  billing_mode: string;
  default_deployment_id?: string | null;
  daily_cost_alert_usd?: number | null;
  created_at: string;
}

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
    const { values: f, positionals: [name] } = parseCommandLine(args, { ...API_FLAGS, timezone: { type: "string" }, "billing-mode": { type: "string" } }, ["name"]);
    const timezone = optionalFlag(f.timezone, "--timezone");
    const billingMode = choiceFlag(f["billing-mode"], "--billing-mode", ["postpaid", "prepaid"] as const);
    const api = adminApi(ctx, f);
    const { body } = await api.call<Tenant>("POST", "/tenants", { body: { name, ...(timezone ? { timezone } : {}), ...(billingMode ? { billing_mode: billingMode } : {}) } });
    output(ctx, f.json, body, () => `created tenant ${body.id}\n${describe(body)}`);
  },
};

const get: Command = {
  summary: "Show a tenant",
  help: ["Usage: switchyard tenants get <id> [--json]", "", "Shows one tenant (GET /admin/v1/tenants/{id}).", "", ...API_FLAGS_HELP].join("\n"),
  async run(args, ctx) {
    const { values: f, positionals: [id] } = parseCommandLine(args, API_FLAGS, ["id"]);
    const { body } = await adminApi(ctx, f).call<Tenant>("GET", `/tenants/${seg(id)}`);
    output(ctx, f.json, body, () => describe(body));
  },
};

/** `switchyard tenants create|get`: tenants through the admin API. */
export const tenants = withSubcommands("tenants", "Tenants (admin API)", { create, get });
