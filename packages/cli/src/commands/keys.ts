import type { ApiKeyList, ApiKeyView, CreatedApiKey, RotatedApiKey } from "@switchyard/contracts";
import { adminApi, API_FLAGS, API_FLAGS_HELP, seg } from "../admin-api";
import { UsageError, withSubcommands, type Command } from "../command";
import { intFlag, optionalFlag, parseCommandLine } from "../flags";
import { output, table } from "../format";

/** What a key can do now: revoked, expired, replaced (working until its overlap ends), or active. */
export function keyStatus(k: ApiKeyView, now = Date.now()): string {
  if (k.revoked_at) return "revoked";
  const expired = k.expires_at !== null && Date.parse(k.expires_at) <= now;
  if (k.replaced_by) return expired ? `replaced by ${k.replaced_by}` : `replaced by ${k.replaced_by}, works until ${k.expires_at}`;
  if (expired) return "expired";
  return k.expires_at ? `active until ${k.expires_at}` : "active";
}

const summary = (k: ApiKeyView) => `${k.id} "${k.name}" (${k.kind}; scopes ${k.scopes.join(" ")}; deployment ${k.deployment_id ?? "tenant default"})`;
/** The secret on a line of its own, so `grep '^key:'`/`cut` can take it; it is never shown again. */
const secret = (k: CreatedApiKey) => `key: ${k.key}\nstore it now: the key is shown only once`;

const create: Command = {
  summary: "Create an API key for a tenant (shown once)",
  help: [
    "Usage: switchyard keys create <tenant> <name> --scopes a,b [--deployment ID] [--publishable] [--json]",
    "",
    "Creates a key (POST /admin/v1/tenants/{tenant}/api-keys) and prints it: it is shown only once.",
    "",
    "  --scopes        comma-separated: jobs:write, jobs:read, documents:write, documents:read,",
    "                  usage:read, reports:read (required for a secret key)",
    "  --deployment    the deployment it acts for (default: the tenant's default deployment)",
    "  --publishable   a publishable key (sy_pk_…) for browsers: needs --deployment of a public",
    "                  deployment; carries jobs:write and jobs:read only",
    ...API_FLAGS_HELP,
  ].join("\n"),
  async run(args, ctx) {
    const {
      values: f,
      positionals: [tenant, name],
    } = parseCommandLine(args, { ...API_FLAGS, scopes: { type: "string" }, deployment: { type: "string" }, publishable: { type: "boolean" } }, [
      "tenant",
      "name",
    ]);
    const scopes = f.scopes
      ?.split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    if (f.scopes !== undefined && !scopes?.length) throw new UsageError("--scopes must list at least one scope, e.g. --scopes jobs:write,jobs:read");
    if (!scopes && !f.publishable) throw new UsageError("--scopes is required for a secret key, e.g. --scopes jobs:write,jobs:read");
    const deployment = optionalFlag(f.deployment, "--deployment");
    const body = {
      name,
      ...(f.publishable ? { kind: "publishable" } : {}),
      ...(scopes ? { scopes } : {}),
      ...(deployment ? { deployment_id: deployment } : {}),
    };
    const res = await adminApi(ctx, f).call<CreatedApiKey>("POST", `/tenants/${seg(tenant)}/api-keys`, { body });
    output(ctx, f.json, res.body, () => `created API key ${summary(res.body)}\n${secret(res.body)}`);
  },
};

const list: Command = {
  summary: "List a tenant's API keys",
  help: [
    "Usage: switchyard keys list <tenant> [--json]",
    "",
    "Lists the tenant's keys with their state; never a secret (GET /admin/v1/tenants/{tenant}/api-keys).",
    "",
    ...API_FLAGS_HELP,
  ].join("\n"),
  async run(args, ctx) {
    const {
      values: f,
      positionals: [tenant],
    } = parseCommandLine(args, API_FLAGS, ["tenant"]);
    const { body } = await adminApi(ctx, f).call<ApiKeyList>("GET", `/tenants/${seg(tenant)}/api-keys`);
    output(ctx, f.json, body, () =>
      body.data.length
        ? table(
            ["ID", "NAME", "KIND", "SCOPES", "DEPLOYMENT", "LAST USED", "STATUS"],
            body.data.map((k) => [k.id, k.name, k.kind, k.scopes.join(","), k.deployment_id ?? "default", k.last_used_at, keyStatus(k)]),
          )
        : `tenant ${tenant} has no API keys`,
    );
  },
};

const rotate: Command = {
  summary: "Replace an API key with a new one (shown once)",
  help: [
    "Usage: switchyard keys rotate <id> [--overlap-seconds N] [--json]",
    "",
    "Makes a new key with the same tenant, deployment, scopes and name, and retires the old one",
    "(POST /admin/v1/api-keys/{id}/rotate). The new key is shown only once.",
    "",
    "  --overlap-seconds   how long the old key keeps working (default 0: it stops now; at most 604800)",
    ...API_FLAGS_HELP,
  ].join("\n"),
  async run(args, ctx) {
    const {
      values: f,
      positionals: [id],
    } = parseCommandLine(args, { ...API_FLAGS, "overlap-seconds": { type: "string" } }, ["id"]);
    const overlap = intFlag(f["overlap-seconds"], "--overlap-seconds", 0);
    const { body } = await adminApi(ctx, f).call<RotatedApiKey>("POST", `/api-keys/${seg(id)}/rotate`, {
      body: overlap === undefined ? {} : { overlap_seconds: overlap },
    });
    const until =
      body.previous_key.expires_at && Date.parse(body.previous_key.expires_at) > Date.now()
        ? `keeps working until ${body.previous_key.expires_at}`
        : "stopped working";
    output(ctx, f.json, body, () => `rotated API key ${id}: the old key ${until}\nnew API key ${summary(body)}\n${secret(body)}`);
  },
};

const revoke: Command = {
  summary: "Revoke an API key now",
  help: [
    "Usage: switchyard keys revoke <id> [--json]",
    "",
    "Revokes a key: it stops working at once (DELETE /admin/v1/api-keys/{id}).",
    "",
    ...API_FLAGS_HELP,
  ].join("\n"),
  async run(args, ctx) {
    const {
      values: f,
      positionals: [id],
    } = parseCommandLine(args, API_FLAGS, ["id"]);
    const { body } = await adminApi(ctx, f).call<ApiKeyView>("DELETE", `/api-keys/${seg(id)}`);
    output(ctx, f.json, body, () => `revoked API key ${body.id} "${body.name}" at ${body.revoked_at ?? "now"}`);
  },
};

/** `switchyard keys create|list|rotate|revoke`: API keys through the admin API. */
export const keys = withSubcommands("keys", "API keys (admin API)", { create, list, rotate, revoke });
