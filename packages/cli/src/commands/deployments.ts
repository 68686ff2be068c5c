import { MAX_CONCURRENT_JOBS_MAX, MAX_QUEUE_MS_MAX, QUEUE_WEIGHT_MAX, type DeploymentPage, type DeploymentView as Deployment } from "@switchyard/contracts";
import { adminApi, API_FLAGS, API_FLAGS_HELP, queryString, seg } from "../admin-api";
import { UsageError, withSubcommands, type Command } from "../command";
import { choiceFlag, intFlag, limitFlag, optionalFlag, parseCommandLine } from "../flags";
import { fields, output, table } from "../format";

/** Feature flags by name, for names that come from the command line. */
const flags = (d: Deployment): Readonly<Record<string, boolean>> => d.features;
const on = (d: Deployment) => Object.keys(d.features).filter((f) => flags(d)[f]);
const off = (d: Deployment) => Object.keys(d.features).filter((f) => !flags(d)[f]);

function describe(d: Deployment): string {
  const limits = d.effective_rate_limits ?? {};
  const budget = d.budget
    ? [d.budget.limit_usd !== undefined ? `$${d.budget.limit_usd}` : null, d.budget.limit_tokens !== undefined ? `${d.budget.limit_tokens} tokens` : null]
        .filter(Boolean)
        .join(" / ") + ` per ${d.budget.period}`
    : null;
  return fields([
    ["id", d.id],
    ["tenant", d.tenant_id],
    ["name", d.name],
    ["type", `${d.type}${d.is_default ? " (tenant default)" : ""}`],
    ["features on", on(d).join(", ")],
    ["features off", off(d).join(", ")],
    ["requests/min", limits.requests_per_minute],
    ["requests/day", limits.requests_per_day],
    ["tokens/request", limits.tokens_per_request],
    ["tokens/day", limits.tokens_per_day],
    ["budget", budget],
    ["model_preference", d.model_preference],
    ["allowed_models", d.allowed_models?.join(", ")],
    ["allowed_origins", d.allowed_origins?.join(", ")],
    ["queue_weight", d.queue_weight],
    ["max_concurrent_jobs", d.max_concurrent_jobs ?? "unlimited"],
    ["max_queue_ms", d.max_queue_ms ?? "none"],
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
    const {
      values: f,
      positionals: [tenant, name],
    } = parseCommandLine(args, { ...API_FLAGS, type: { type: "string" }, preset: { type: "string" } }, ["tenant", "name"]);
    const type = choiceFlag(f.type, "--type", TYPES);
    if (!type) throw new UsageError(`--type is required: one of ${TYPES.join(", ")}`);
    const preset = optionalFlag(f.preset, "--preset");
    const { body } = await adminApi(ctx, f).call<Deployment>("POST", `/tenants/${seg(tenant)}/deployments`, {
      body: { name, type, ...(preset ? { preset } : {}) },
    });
    output(ctx, f.json, body, () => `created deployment ${body.id}\n${describe(body)}`);
  },
};

const get: Command = {
  summary: "Show a deployment",
  help: [
    "Usage: switchyard deployments get <id> [--json]",
    "",
    "Shows one deployment: features, effective rate limits, budget, scheduling (GET /admin/v1/deployments/{id}).",
    "",
    ...API_FLAGS_HELP,
  ].join("\n"),
  async run(args, ctx) {
    const {
      values: f,
      positionals: [id],
    } = parseCommandLine(args, API_FLAGS, ["id"]);
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
    const {
      values: f,
      positionals: [id, name],
    } = parseCommandLine(args, API_FLAGS, ["id", "preset"]);
    const { body } = await adminApi(ctx, f).call<Deployment>("POST", `/deployments/${seg(id)}/preset`, { body: { preset: name } });
    output(
      ctx,
      f.json,
      body,
      () => `deployment ${body.id}: preset ${name} applied\nfeatures on:  ${on(body).join(", ") || "-"}\nfeatures off: ${off(body).join(", ") || "-"}`,
    );
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
    const {
      values: f,
      positionals: [id, name, state],
    } = parseCommandLine(args, API_FLAGS, ["id", "feature", "on|off"]);
    if (state !== "on" && state !== "off") throw new UsageError(`the last argument must be on or off, got ${JSON.stringify(state)}`);
    const { body } = await adminApi(ctx, f).call<Deployment>("POST", `/deployments/${seg(id)}/features/${seg(name)}`, { body: { enabled: state === "on" } });
    output(ctx, f.json, body, () => `deployment ${body.id}: ${name} ${flags(body)[name] ? "on" : "off"}`);
  },
};

const list: Command = {
  summary: "List deployments across tenants, newest first",
  help: [
    "Usage: switchyard deployments list [--tenant ID] [--type public|internal|hybrid] [--limit N] [--cursor ID] [--json]",
    "",
    "Deployments of every tenant by id, descending: newest first (GET /admin/v1/deployments).",
    "",
    "  --tenant   only this tenant's deployments",
    "  --type     only deployments of this type",
    "  --limit    rows per page, 1 to 500 (default 50)",
    "  --cursor   the next page: the cursor printed after the previous one",
    ...API_FLAGS_HELP,
  ].join("\n"),
  async run(args, ctx) {
    const { values: f } = parseCommandLine(
      args,
      { ...API_FLAGS, tenant: { type: "string" }, type: { type: "string" }, limit: { type: "string" }, cursor: { type: "string" } },
      [],
    );
    const tenant = optionalFlag(f.tenant, "--tenant");
    const type = choiceFlag(f.type, "--type", TYPES);
    const limit = limitFlag(f.limit, 500);
    const cursor = optionalFlag(f.cursor, "--cursor");
    const { body } = await adminApi(ctx, f).call<DeploymentPage>("GET", `/deployments${queryString({ tenant_id: tenant, type, limit, cursor })}`);
    output(ctx, f.json, body, () => {
      if (!body.data.length) return "no deployments";
      const text = table(
        ["ID", "TENANT", "NAME", "TYPE", "DEFAULT", "CREATED"],
        body.data.map((d) => [d.id, d.tenant_id, d.name, d.type, d.is_default ? "yes" : "no", d.created_at]),
      );
      const again = [
        "switchyard deployments list",
        ...(tenant !== undefined ? ["--tenant", tenant] : []),
        ...(type !== undefined ? ["--type", type] : []),
        ...(limit !== undefined ? ["--limit", String(limit)] : []),
      ].join(" ");
      return body.has_more && body.next_cursor ? `${text}\nmore: ${again} --cursor ${body.next_cursor}` : text;
    });
  },
};

/** `a,b,c` as a list, without empty items. */
const csv = (v: string) =>
  v
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);

/** A flag holding a JSON object, parsed (the API validates its fields). */
function jsonObjectFlag(value: string | undefined, flag: string): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new UsageError(`${flag} must be a JSON object, got ${JSON.stringify(value)}`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
    throw new UsageError(`${flag} must be a JSON object, got ${JSON.stringify(value)}`);
  return parsed as Record<string, unknown>;
}

/** `--flag N`, a whole number from 1 to `max`; with `none` allowed, `none` is null (clears the setting). */
function boundedIntFlag(value: string | undefined, flag: string, max: number, none: boolean): number | null | undefined {
  if (value === undefined) return undefined;
  if (none && value === "none") return null;
  const n = intFlag(value, flag, 1);
  if (n !== undefined && n > max) throw new UsageError(`${flag} must be at most ${max}, got ${n}`);
  return n;
}

const update: Command = {
  summary: "Change a deployment's settings",
  help: [
    "Usage: switchyard deployments update <id> [--name N] [--type T] [--preset P] [--feature NAME=on|off]...",
    "         [--model-preference M|none] [--allowed-models A,B|all] [--allowed-origins O,P|none]",
    "         [--allowed-source-domains D,E|none] [--rate-limits JSON] [--budget JSON|none]",
    "         [--queue-weight N] [--max-concurrent-jobs N|none] [--max-queue-ms N|none] [--json]",
    "",
    "Changes only the settings given (PATCH /admin/v1/deployments/{id}; audited).",
    "",
    "  --name                    the deployment's name",
    "  --type                    public, internal or hybrid (unset rate limits follow the type)",
    "  --preset                  replace the features with a preset (minimal, standard, premium, healthcare)",
    "  --feature NAME=on|off     set one feature, after --preset; repeatable",
    "  --model-preference        a model id or provider; none clears it",
    "  --allowed-models          catalog model ids, comma-separated; all lifts the restriction",
    "  --allowed-origins         browser origins (https://app.example.com), comma-separated; none clears",
    "  --allowed-source-domains  host names RAG sources may come from, comma-separated; none clears",
    "  --rate-limits             the limits as set, replacing the current ones: '{\"requests_per_minute\":60}'",
    '  --budget                  \'{"period":"month","limit_usd":100}\', or none for no budget',
    `  --queue-weight            its share in the fair scheduling across tenants, 1 to ${QUEUE_WEIGHT_MAX} (default 1)`,
    `  --max-concurrent-jobs     most of its jobs running at once across all workers, 1 to ${MAX_CONCURRENT_JOBS_MAX}; none: unlimited`,
    `  --max-queue-ms            longest a job may wait before a worker begins it, 1 to ${MAX_QUEUE_MS_MAX} ms; none clears`,
    "                            (a job's own max_queue_ms applies too: the lower wins)",
    ...API_FLAGS_HELP,
  ].join("\n"),
  async run(args, ctx) {
    const {
      values: f,
      positionals: [id],
    } = parseCommandLine(
      args,
      {
        ...API_FLAGS,
        name: { type: "string" },
        type: { type: "string" },
        preset: { type: "string" },
        feature: { type: "string", multiple: true },
        "model-preference": { type: "string" },
        "allowed-models": { type: "string" },
        "allowed-origins": { type: "string" },
        "allowed-source-domains": { type: "string" },
        "rate-limits": { type: "string" },
        budget: { type: "string" },
        "queue-weight": { type: "string" },
        "max-concurrent-jobs": { type: "string" },
        "max-queue-ms": { type: "string" },
      },
      ["id"],
    );
    const body: Record<string, unknown> = {};
    const name = optionalFlag(f.name, "--name");
    if (name !== undefined) body.name = name;
    const type = choiceFlag(f.type, "--type", TYPES);
    if (type !== undefined) body.type = type;
    const presetName = optionalFlag(f.preset, "--preset");
    if (presetName !== undefined) body.preset = presetName;
    if (f.feature?.length) {
      const features: Record<string, boolean> = {};
      for (const item of f.feature) {
        const m = /^([A-Za-z]+)=(on|off)$/.exec(item);
        if (!m) throw new UsageError(`--feature must be NAME=on or NAME=off, got ${JSON.stringify(item)}`);
        features[m[1]!] = m[2] === "on";
      }
      body.features = features;
    }
    const pref = optionalFlag(f["model-preference"], "--model-preference");
    if (pref !== undefined) body.model_preference = pref === "none" ? null : pref;
    const models = optionalFlag(f["allowed-models"], "--allowed-models");
    if (models !== undefined) body.allowed_models = models === "all" ? null : csv(models);
    const allowedOrigins = optionalFlag(f["allowed-origins"], "--allowed-origins");
    if (allowedOrigins !== undefined) body.allowed_origins = allowedOrigins === "none" ? [] : csv(allowedOrigins);
    const sourceDomains = optionalFlag(f["allowed-source-domains"], "--allowed-source-domains");
    if (sourceDomains !== undefined) body.allowed_source_domains = sourceDomains === "none" ? [] : csv(sourceDomains);
    const rateLimits = jsonObjectFlag(f["rate-limits"], "--rate-limits");
    if (rateLimits !== undefined) body.rate_limits = rateLimits;
    if (f.budget !== undefined) body.budget = f.budget === "none" ? null : jsonObjectFlag(f.budget, "--budget");
    const weight = boundedIntFlag(f["queue-weight"], "--queue-weight", QUEUE_WEIGHT_MAX, false);
    if (weight !== undefined) body.queue_weight = weight;
    const concurrent = boundedIntFlag(f["max-concurrent-jobs"], "--max-concurrent-jobs", MAX_CONCURRENT_JOBS_MAX, true);
    if (concurrent !== undefined) body.max_concurrent_jobs = concurrent;
    const queueMs = boundedIntFlag(f["max-queue-ms"], "--max-queue-ms", MAX_QUEUE_MS_MAX, true);
    if (queueMs !== undefined) body.max_queue_ms = queueMs;
    if (!Object.keys(body).length) throw new UsageError("nothing to change: give at least one setting (see --help)");
    const { body: d } = await adminApi(ctx, f).call<Deployment>("PATCH", `/deployments/${seg(id)}`, { body });
    output(ctx, f.json, d, () => `updated deployment ${d.id}\n${describe(d)}`);
  },
};

/** `switchyard deployments create|get|list|update|preset|feature`: deployments through the admin API. */
export const deployments = withSubcommands("deployments", "Deployments (admin API)", { create, get, list, update, preset, feature });
