import type { BreakerForcedOpen, BreakerList, BreakerReset } from "@switchyard/contracts";
import { adminApi, API_FLAGS, API_FLAGS_HELP, seg } from "../admin-api";
import { UsageError, withSubcommands, type Command } from "../command";
import { intFlag, parseCommandLine } from "../flags";
import { output, table } from "../format";

const status: Command = {
  summary: "Show every model's circuit breaker",
  help: [
    "Usage: switchyard breakers status [--json]",
    "",
    "State (closed, half_open, open) and recent counts per catalog model (GET /admin/v1/circuit-breakers).",
    "",
    ...API_FLAGS_HELP,
  ].join("\n"),
  async run(args, ctx) {
    const { values: f } = parseCommandLine(args, API_FLAGS, []);
    const { body } = await adminApi(ctx, f).call<BreakerList>("GET", "/circuit-breakers");
    output(ctx, f.json, body, () =>
      table(
        ["MODEL", "PROVIDER", "TIER", "STATE", "FAILURES", "SUCCESSES", "OPEN UNTIL"],
        body.data.map((b) => [b.model, b.provider, b.tier, b.state, b.failures, b.successes, b.open_until]),
      ),
    );
  },
};

const reset: Command = {
  summary: "Close a model's circuit breaker",
  help: [
    "Usage: switchyard breakers reset <model> [--json]",
    "",
    "Closes the breaker and clears its counts (POST /admin/v1/circuit-breakers/{model}/reset).",
    "",
    ...API_FLAGS_HELP,
  ].join("\n"),
  async run(args, ctx) {
    const {
      values: f,
      positionals: [model],
    } = parseCommandLine(args, API_FLAGS, ["model"]);
    const { body } = await adminApi(ctx, f).call<BreakerReset>("POST", `/circuit-breakers/${seg(model)}/reset`);
    output(ctx, f.json, body, () => `${body.model}: breaker reset, now ${body.state}`);
  },
};

const forceOpen: Command = {
  summary: "Hold a model's circuit breaker open for a while",
  help: [
    "Usage: switchyard breakers force-open <model> --duration-ms N [--json]",
    "",
    "Opens the breaker so routing skips the model (its fallbacks serve) until the time is up",
    "(POST /admin/v1/circuit-breakers/{model}/force-open).",
    "",
    "  --duration-ms   how long, in milliseconds (required; at most 86400000)",
    ...API_FLAGS_HELP,
  ].join("\n"),
  async run(args, ctx) {
    const {
      values: f,
      positionals: [model],
    } = parseCommandLine(args, { ...API_FLAGS, "duration-ms": { type: "string" } }, ["model"]);
    const duration = intFlag(f["duration-ms"], "--duration-ms", 1);
    if (duration === undefined) throw new UsageError("--duration-ms is required, e.g. --duration-ms 60000");
    const { body } = await adminApi(ctx, f).call<BreakerForcedOpen>("POST", `/circuit-breakers/${seg(model)}/force-open`, { body: { duration_ms: duration } });
    output(ctx, f.json, body, () => `${body.model}: breaker ${body.state} until ${body.open_until}`);
  },
};

/** `switchyard breakers status|reset|force-open`: circuit breakers through the admin API. */
export const breakers = withSubcommands("breakers", "Circuit breakers (admin API)", { status, reset, "force-open": forceOpen });
