import { randomUUID } from "node:crypto";
import type { CreditBalanceView, CreditGrant, CreditRecalculation } from "@switchyard/contracts";
import { adminApi, API_FLAGS, API_FLAGS_HELP, seg } from "../admin-api";
import { UsageError, withSubcommands, type Command } from "../command";
import { optionalFlag, parseCommandLine } from "../flags";
import { fields, output, table, usd } from "../format";

const grant: Command = {
  summary: "Add prepaid credits to a tenant (or take some back)",
  help: [
    "Usage: switchyard credits grant <tenant> <amount-usd> --reason TEXT [--idempotency-key K] [--json]",
    "",
    "Appends a ledger entry (POST /admin/v1/tenants/{tenant}/credits). A negative amount (an",
    "adjustment) goes after --: switchyard credits grant ten_1 --reason refund -- -5",
    "",
    "  --reason            why, kept in the ledger (required)",
    "  --idempotency-key   retrying with the same key never grants twice (default: a new random",
    "                      key, printed so a failed run can be retried with it)",
    ...API_FLAGS_HELP,
  ].join("\n"),
  async run(args, ctx) {
    const {
      values: f,
      positionals: [tenant, amountText],
    } = parseCommandLine(args, { ...API_FLAGS, reason: { type: "string" }, "idempotency-key": { type: "string" } }, ["tenant", "amount-usd"]);
    const amount = Number(amountText);
    if (!/^-?([0-9]+\.?[0-9]*|\.[0-9]+)$/.test(amountText) || !Number.isFinite(amount) || amount === 0)
      throw new UsageError(`<amount-usd> must be a non-zero number of dollars such as 25 or 0.50, got ${JSON.stringify(amountText)}`);
    const reason = optionalFlag(f.reason, "--reason");
    if (!reason) throw new UsageError("--reason is required: it is kept in the ledger");
    const key = optionalFlag(f["idempotency-key"], "--idempotency-key") ?? `cli-${randomUUID()}`;
    const res = await adminApi(ctx, f).call<CreditGrant>("POST", `/tenants/${seg(tenant)}/credits`, {
      body: { amount_usd: amount, reason },
      headers: { "idempotency-key": key },
    });
    const replayed = res.headers.get("idempotent-replayed") === "true";
    output(ctx, f.json, { ...res.body, replayed, idempotency_key: key }, () =>
      [
        replayed
          ? `already granted with idempotency key ${key}: nothing added`
          : `${res.body.entry.amount_usd < 0 ? "took back" : "granted"} ${usd(Math.abs(res.body.entry.amount_usd))} ${res.body.entry.amount_usd < 0 ? "from" : "to"} ${tenant} (entry ${res.body.entry.id}, idempotency key ${key})`,
        `balance ${usd(res.body.balance_usd)}`,
      ].join("\n"),
    );
  },
};

const balance: Command = {
  summary: "Show a tenant's credit balance and latest entries",
  help: [
    "Usage: switchyard credits balance <tenant> [--json]",
    "",
    "Balance, amount held by running jobs, and the latest ledger entries (GET /admin/v1/tenants/{tenant}/credits).",
    "",
    ...API_FLAGS_HELP,
  ].join("\n"),
  async run(args, ctx) {
    const {
      values: f,
      positionals: [tenant],
    } = parseCommandLine(args, API_FLAGS, ["tenant"]);
    const { body } = await adminApi(ctx, f).call<CreditBalanceView>("GET", `/tenants/${seg(tenant)}/credits`);
    output(ctx, f.json, body, () =>
      [
        fields([
          ["tenant", body.tenant_id],
          ["balance", usd(body.balance_usd)],
          ["reserved", usd(body.reserved_usd)],
        ]),
        "",
        body.entries.length
          ? table(
              ["ENTRY", "WHEN", "KIND", "AMOUNT", "REASON"],
              body.entries.map((e) => [e.id, e.created_at, e.kind, usd(e.amount_usd), e.job_id ? `${e.reason} (${e.job_id})` : e.reason]),
            )
          : "no ledger entries",
        ...(body.next_cursor ? ["(older entries not shown)"] : []),
      ].join("\n"),
    );
  },
};

const recalculate: Command = {
  summary: "Rebuild a tenant's credit balance from its ledger",
  help: [
    "Usage: switchyard credits recalculate <tenant> [--json]",
    "",
    "Recomputes the stored balance as the sum of the ledger (POST /admin/v1/tenants/{tenant}/credits/recalculate).",
    "",
    ...API_FLAGS_HELP,
  ].join("\n"),
  async run(args, ctx) {
    const {
      values: f,
      positionals: [tenant],
    } = parseCommandLine(args, API_FLAGS, ["tenant"]);
    const { body } = await adminApi(ctx, f).call<CreditRecalculation>("POST", `/tenants/${seg(tenant)}/credits/recalculate`);
    output(
      ctx,
      f.json,
      body,
      () => `${body.tenant_id}: balance ${usd(body.balance_usd)} from ${body.entries} ledger ${body.entries === 1 ? "entry" : "entries"}`,
    );
  },
};

/** `switchyard credits grant|balance|recalculate`: prepaid credits through the admin API. */
export const credits = withSubcommands("credits", "Prepaid credits (admin API)", { grant, balance, recalculate });
