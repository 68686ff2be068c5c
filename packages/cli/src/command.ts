import type { Database } from "@switchyard/db";
import type { Kysely } from "kysely";

/** Where the CLI writes: `process.stdout`/`stderr`, or a buffer in tests. */
export interface OutputStream {
  write(chunk: string): boolean;
  /** True on a terminal: progress is drawn as a bar instead of lines. */
  isTTY?: boolean;
}

/** What a command gets: its environment, its output streams, and the database on demand. */
export interface CliContext {
  env: Readonly<Record<string, string | undefined>>;
  /** Results (human lines, or one JSON document with `--json`). */
  stdout: OutputStream;
  /** Progress and errors, so `--json | jq` sees only the result. */
  stderr: OutputStream;
  /** The database named by `DATABASE_URL`, opened on first use and closed when the command ends. */
  db(): Kysely<Database>;
  /** HTTP for commands that talk to the gateway's admin API (`globalThis.fetch`; tests pass their own). */
  fetch: typeof fetch;
}

/**
 * One `switchyard` command. A command with `subcommands` (`switchyard reports generate`) is
 * built by {@link withSubcommands}; each file under `src/commands/` exports one Command and
 * `src/commands/index.ts` registers it.
 */
export interface Command {
  /** One line for `switchyard --help`. */
  summary: string;
  /** What `switchyard <command> --help` prints. */
  help: string;
  /** Resolves when done (exit 0); throws {@link CliError} for another exit code. */
  run(args: string[], ctx: CliContext): Promise<void>;
  subcommands?: Readonly<Record<string, Command>>;
}

/** A failure to report as one line on stderr with an exit code: 2 for usage, 1 otherwise. */
export class CliError extends Error {
  override readonly name = "CliError";
  constructor(
    message: string,
    readonly exitCode: number = 1,
  ) {
    super(message);
  }
}

/** The command was called wrongly (a bad flag, a missing setting): exit 2. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, 2);
  }
}

/** True when the arguments ask for help. */
export const wantsHelp = (args: readonly string[]): boolean => args.includes("--help") || args.includes("-h");

/** A command made of subcommands: `name sub [flags]`, with help listing them. */
export function withSubcommands(name: string, summary: string, subcommands: Record<string, Command>): Command {
  const help = [
    `Usage: switchyard ${name} <${Object.keys(subcommands).join("|")}> [options]`,
    "",
    summary,
    "",
    ...Object.entries(subcommands).map(([sub, c]) => `  ${`${name} ${sub}`.padEnd(22)} ${c.summary}`),
    "",
    `Run switchyard ${name} <subcommand> --help for its options.`,
  ].join("\n");
  return {
    summary,
    help,
    subcommands,
    async run(args, ctx) {
      const [sub, ...rest] = args;
      if (sub === undefined || sub === "--help" || sub === "-h") {
        if (sub === undefined) throw new UsageError(`switchyard ${name} needs a subcommand: ${Object.keys(subcommands).join(", ")}`);
        ctx.stdout.write(`${help}\n`);
        return;
      }
      const cmd = Object.hasOwn(subcommands, sub) ? subcommands[sub] : undefined;
      if (!cmd) throw new UsageError(`unknown subcommand "${name} ${sub}"; one of: ${Object.keys(subcommands).join(", ")}`);
      if (wantsHelp(rest)) {
        ctx.stdout.write(`${cmd.help}\n`);
        return;
      }
      await cmd.run(rest, ctx);
    },
  };
}
