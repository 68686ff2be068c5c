import type { MaintenanceView as MaintenanceState } from "@switchyard/contracts";
import { adminApi, API_FLAGS, API_FLAGS_HELP } from "../admin-api";
import { UsageError, withSubcommands, type Command } from "../command";
import { intFlag, optionalFlag, parseFlags } from "../flags";
import { fields, output } from "../format";

const show = (s: MaintenanceState) =>
  fields([
    ["maintenance", s.on ? "on" : "off"],
    ["since", s.since],
    ["message", s.message],
    ["retry-after", s.on ? `${s.retry_after_seconds} s` : null],
  ]);

const status: Command = {
  summary: "Show whether maintenance mode is on",
  help: ["Usage: switchyard maintenance status [--json]", "", "GET /admin/v1/maintenance.", "", ...API_FLAGS_HELP].join("\n"),
  async run(args, ctx) {
    const f = parseFlags(args, API_FLAGS);
    const { body } = await adminApi(ctx, f).call<MaintenanceState>("GET", "/maintenance");
    output(ctx, f.json, body, () => show(body));
  },
};

const on: Command = {
  summary: "Refuse new work (503 with Retry-After) while reads and streams go on and workers drain",
  help: [
    "Usage: switchyard maintenance on [--message TEXT] [--retry-after SECONDS] [--json]",
    "",
    "Every gateway refuses new submissions with 503 and Retry-After within a second; reads, streams",
    "and idempotent replays keep working; workers finish what is queued. Audited (maintenance.on).",
    "",
    "  --message      shown to refused clients (1-500 characters)",
    "  --retry-after  the Retry-After clients get, in seconds (1-86400, default 300)",
    ...API_FLAGS_HELP,
  ].join("\n"),
  async run(args, ctx) {
    const f = parseFlags(args, { ...API_FLAGS, message: { type: "string" }, "retry-after": { type: "string" } });
    const message = optionalFlag(f.message, "--message");
    const retryAfter = intFlag(f["retry-after"], "--retry-after", 1);
    if (retryAfter !== undefined && retryAfter > 86_400) throw new UsageError(`--retry-after must be at most 86400, got ${retryAfter}`);
    const { body } = await adminApi(ctx, f).call<MaintenanceState>("POST", "/maintenance", {
      body: { on: true, message: message ?? null, ...(retryAfter !== undefined ? { retry_after_seconds: retryAfter } : {}) },
    });
    output(ctx, f.json, body, () => show(body));
  },
};

const off: Command = {
  summary: "Accept new work again",
  help: ["Usage: switchyard maintenance off [--json]", "", "Ends maintenance mode on every gateway. Audited (maintenance.off).", "", ...API_FLAGS_HELP].join(
    "\n",
  ),
  async run(args, ctx) {
    const f = parseFlags(args, API_FLAGS);
    const { body } = await adminApi(ctx, f).call<MaintenanceState>("POST", "/maintenance", { body: { on: false } });
    output(ctx, f.json, body, () => show(body));
  },
};

/** `switchyard maintenance status|on|off` through the admin API. */
export const maintenance = withSubcommands("maintenance", "Maintenance mode: refuse new work while workers drain (admin API)", { status, on, off });
