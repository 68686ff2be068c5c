import { EndUserTier, type EndUserTierView, type EndUserView } from "@switchyard/contracts";
import { adminApi, API_FLAGS, API_FLAGS_HELP, seg } from "../admin-api";
import { UsageError, withSubcommands, type Command } from "../command";
import { choiceFlag, parseCommandLine } from "../flags";
import { fields, output } from "../format";

const get: Command = {
  summary: "Show an end user's tier and messages used in the last 24 h and this month",
  help: [
    "Usage: switchyard end-users get <deployment> <user> [--json]",
    "",
    "An end user (the requests' `user` field) of a deployment: their tier (free unless set) and the",
    "messages admitted for them in the sliding 24 h the tier's daily limit counts, and in the",
    "calendar month (UTC) its monthly limit counts",
    "(GET /admin/v1/deployments/{deployment}/end-users/{user}).",
    "",
    ...API_FLAGS_HELP,
  ].join("\n"),
  async run(args, ctx) {
    const {
      values: f,
      positionals: [deployment, user],
    } = parseCommandLine(args, API_FLAGS, ["deployment", "user"]);
    const { body } = await adminApi(ctx, f).call<EndUserView>("GET", `/deployments/${seg(deployment)}/end-users/${seg(user)}`);
    output(ctx, f.json, body, () =>
      fields([
        ["user", body.user_id],
        ["deployment", body.deployment_id],
        ["tenant", body.tenant_id],
        ["tier", body.tier_set ? body.tier : `${body.tier} (default)`],
        ["messages/day", body.messages_per_day],
        ["used (last 24 h)", body.messages_used],
        ["remaining", body.messages_remaining],
        ["messages/month", body.messages_per_month],
        [`used in ${body.month} (UTC)`, body.messages_used_this_month],
        ["remaining this month", body.messages_remaining_this_month],
        ["month resets at", body.month_resets_at],
        ["tier updated_at", body.updated_at],
      ]),
    );
  },
};

const set: Command = {
  summary: "Put an end user on a tier (free or paid)",
  help: [
    `Usage: switchyard end-users set <deployment> <user> --tier ${EndUserTier.options.join("|")} [--json]`,
    "",
    "Sets the tier whose daily and monthly message limits the user's requests count against",
    "(PUT /admin/v1/deployments/{deployment}/end-users/{user}). Audited.",
    "",
    ...API_FLAGS_HELP,
  ].join("\n"),
  async run(args, ctx) {
    const {
      values: f,
      positionals: [deployment, user],
    } = parseCommandLine(args, { ...API_FLAGS, tier: { type: "string" } }, ["deployment", "user"]);
    const tier = choiceFlag(f.tier, "--tier", EndUserTier.options);
    if (tier === undefined) throw new UsageError(`--tier is required (${EndUserTier.options.join(" or ")})`);
    const { body } = await adminApi(ctx, f).call<EndUserTierView>("PUT", `/deployments/${seg(deployment)}/end-users/${seg(user)}`, { body: { tier } });
    output(ctx, f.json, body, () =>
      fields([
        ["user", body.user_id],
        ["deployment", body.deployment_id],
        ["tier", body.tier],
        ["messages/day", body.messages_per_day],
        ["messages/month", body.messages_per_month],
      ]),
    );
  },
};

/** `switchyard end-users get|set`: a deployment's end users through the admin API. */
export const endUsers = withSubcommands("end-users", "End users of a deployment (admin API)", { get, set });
