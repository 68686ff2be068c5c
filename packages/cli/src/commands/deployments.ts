import { adminApi, API_FLAGS, API_FLAGS_HELP, seg } from "../admin-api";
import { UsageError, withSubcommands, type Command } from "../command";
import { choiceFlag, optionalFlag, parseCommandLine } from "../flags";
import { fields, output } from "../format";

/** The fields of the API's deployment the CLI prints. */
interface Deployment {
  id: string;
  tenant_id: string;
  name: string;
  type: string;
  is_default: boolean;
  features: Record<string, boolean>;
  effective_rate_limits?: Record<string, unknown>;
  budget?: { period: string; limit_usd?: number; limit_tokens?: number } | null;
  model_preference?: string | null;
  allowed_models?: string[] | null;
  allowed_origins?: string[];
  created_at: string;
  updated_at?: string;
}

const on = (d: Deployment) => Object.keys(d.features).filter((f) => d.features[f]);
const off = (d: Deployment) => Object.keys(d.features).filter((f) => !d.features[f]);

function describe(d: Deployment): string {
  const limits = d.effective_rate_limits ?? {};
  const budget = d.budget ? [d.budget.limit_usd !== undefined ? `$${d.budget.limit_usd}` : null, d.budget.limit_tokens !== undefined ? `${d.budget.limit_tokens} tokens` : null].filter(Boolean).join(" / ") + ` per ${d.budget.period}` : null;
  return fields([
    ["id", d.id],
    ["tenant", d.tenant_id],
    ["name", d.name],
    ["type", `${d.type}${d.is_default ? " (tenant default)" : ""}`],
    ["features on", on(d).join(", ")],
    ["features off", off(d).join(", ")],
    ["requests/min", limits.requests_per_minute as number | undefined],
    ["requests/day", limits.requests_per_day as number | undefined],
    ["tokens/request", limits.tokens_per_request as number | undefined],
    ["tokens/day", limits.tokens_per_day as number | undefined],
    ["budget", budget],
    ["model_preference", d.model_preference],
    ["allowed_models", d.allowed_models?.join(", ")],
    ["allowed_origins", d.allowed_origins?.join(", ")],
    ["created_at", d.created_at],
  ]);
}

const TYPES = ["public", "internal", "hybrid"] as const;

const create: Command = {
  summary: "Create a deployment for a tenant",
  help: [
    "Usage: switchyard deployments create <tenant> <name> --type public|internal|hybrid [--preset P] [--json]",
    "",
    "Creates a deployment (POST /admin/v1/tenants/{tenant}/deployments). Its features start from",
    "the preset when given (minimal, standard, premium, healthcare), else from the type's defaults;",
    "its rate limits are the type's defaults.",
    "",
    "  --type     public, internal or hybrid (required)",
    "  --preset   a feature preset",
    ...API_FLAGS_HELP,
  ].join("\n"),
  async run(args, ctx) {
    const { values: f, positionals: [tenant, name] } = parseCommandLine(args, { ...API_FLAGS, type: { type: "string" }, preset: { type: "string" } }, ["tenant", "name"]);
    const type = choiceFlag(f.type, "--type", TYPES);
    if (!type) throw new UsageError(`--type is required: one of ${TYPES.join(", ")}`);
    const preset = optionalFlag(f.preset, "--preset");
    const { body } = await adminApi(ctx, f).call<Deployment>("POST", `/tenants/${seg(tenant)}/deployments`, { body: { name, type, ...(preset ? { preset } : {}) } });
    output(ctx, f.json, body, () => `created deployment ${body.id}\n${describe(body)}`);
  },
};

const get: Command = {
  summary: "Show a deployment",
  help: ["Usage: switchyard deployments get <id> [--json]", "", "Shows one deployment: features, effective rate limits, budget (GET /admin/v1/deployments/{id}).", "", ...API_FLAGS_HELP].join("\n"),
  async run(args, ctx) {
    const { values: f, positionals: [id] } = parseCommandLine(args, API_FLAGS, ["id"]);
    const { body } = await adminApi(ctx, f).call<Deployment>("GET", `/deployments/${seg(id)}`);
    output(ctx, f.json, body, () => describe(body));
  },
};

const preset: Command = {
  summary: "Apply a feature preset to a deployment",
  help: [
    "Usage: switchyard deployments preset <id> <preset> [--json]",
    "",
    "Replaces the deployment's features with a preset: minimal, standard, premium or healthcare",
    "(POST /admin/v1/deployments/{id}/preset).",
    "",
    ...API_FLAGS_HELP,
  ].join("\n"),
  async run(args, ctx) {
    const { values: f, positionals: [id, name] } = parseCommandLine(args, API_FLAGS, ["id", "preset"]);
    const { body } = await adminApi(ctx, f).call<Deployment>("POST", `/deployments/${seg(id)}/preset`, { body: { preset: name } });
    output(ctx, f.json, body, () => `deployment ${body.id}: preset ${name} applied\nfeatures on:  ${on(body).join(", ") || "-"}\nfeatures off: ${off(body).join(", ") || "-"}`);
  },
};

const feature: Command = {
  summary: "Turn one feature of a deployment on or off",
  help: [
    "Usage: switchyard deployments feature <id> <feature> on|off [--json]",
    "",
    "Sets one feature flag (e.g. ragEnabled, streamingEnabled, smartRouting), leaving the others",
    "as they are (POST /admin/v1/deployments/{id}/features/{feature}).",
    "",
    ...API_FLAGS_HELP,
  ].join("\n"),
  async run(args, ctx) {
    const { values: f, positionals: [id, name, state] } = parseCommandLine(args, API_FLAGS, ["id", "feature", "on|off"]);
    if (state !== "on" && state !== "off") throw new UsageError(`the last argument must be on or off, got ${JSON.stringify(state)}`);
    const { body } = await adminApi(ctx, f).call<Deployment>("POST", `/deployments/${seg(id)}/features/${seg(name)}`, { body: { enabled: state === "on" } });
    output(ctx, f.json, body, () => `deployment ${body.id}: ${name} ${body.features[name] ? "on" : "off"}`);
  },
};

/** `switchyard deployments create|get|preset|feature`: deployments through the admin API. */
export const deployments = withSubcommands("deployments", "Deployments (admin API)", { create, get, preset, feature });
