import { createDb, type Database } from "@switchyard/db";
import type { Kysely } from "kysely";
import { CliError, UsageError, wantsHelp, type CliContext, type Command, type OutputStream } from "./command";
import { commands as registered } from "./commands";

/** What the CLI runs with: `main.ts` passes the process's; tests pass their own. */
export interface CliIo {
  env: Readonly<Record<string, string | undefined>>;
  stdout: OutputStream;
  stderr: OutputStream;
  /** HTTP for the admin API commands; default `globalThis.fetch`. */
  fetch?: typeof fetch;
}

/** `switchyard --help`: every command, subcommands spelt out. */
export function helpText(commands: Readonly<Record<string, Command>> = registered): string {
  const lines = Object.entries(commands).flatMap(([name, c]) =>
    c.subcommands ? Object.entries(c.subcommands).map(([sub, s]) => [`${name} ${sub}`, s.summary]) : [[name, c.summary]],
  );
  return [
    "Usage: switchyard <command> [options]",
    "",
    "Commands:",
    ...lines.map(([name, summary]) => `  ${name!.padEnd(22)} ${summary}`),
    "",
    "Options (every command): --help; most commands take --json for output scripts can read.",
    "Environment: DATABASE_URL          the Postgres database (postgres://user:pass@host:5432/db): migrate, reports",
    "             SWITCHYARD_URL        the gateway, for the admin API commands (default http://127.0.0.1:8080; or --url)",
    "             SWITCHYARD_ADMIN_KEY  a key with the admin scope, for the admin API commands (or --key)",
    "Exit codes: 0 done, 1 failed, 2 wrong usage or settings.",
  ].join("\n");
}

function openDb(env: CliIo["env"]): Kysely<Database> {
  const url = env.DATABASE_URL;
  if (!url) throw new CliError("DATABASE_URL is not set: export DATABASE_URL=postgres://user:pass@host:5432/switchyard", 2);
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    throw new CliError("DATABASE_URL is not a URL: expected postgres://user:pass@host:5432/switchyard", 2);
  }
  if (protocol !== "postgres:" && protocol !== "postgresql:") throw new CliError(`DATABASE_URL must be a postgres:// URL, not ${protocol}//…`, 2);
  return createDb({ connectionString: url, max: 2 });
}

/**
 * Run `switchyard <args>` and resolve with the exit code: 0 done, 1 failed, 2 wrong usage or
 * settings. Errors are one line on stderr (`switchyard: …`); the database, when a command
 * opened it, is closed before returning.
 */
export async function runCli(args: string[], io: CliIo, commands: Readonly<Record<string, Command>> = registered): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    (name === undefined ? io.stderr : io.stdout).write(`${helpText(commands)}\n`);
    return name === undefined ? 2 : 0;
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!command) {
    io.stderr.write(`switchyard: unknown command "${name}"; run switchyard --help\n`);
    return 2;
  }
  if (!command.subcommands && wantsHelp(rest)) {
    io.stdout.write(`${command.help}\n`);
    return 0;
  }
  let db: Kysely<Database> | undefined;
  const ctx: CliContext = { env: io.env, stdout: io.stdout, stderr: io.stderr, db: () => (db ??= openDb(io.env)), fetch: io.fetch ?? globalThis.fetch };
  try {
    await command.run(rest, ctx);
    return 0;
  } catch (err) {
    const e = err as Error;
    const sub = command.subcommands && rest[0] !== undefined && Object.hasOwn(command.subcommands, rest[0]) ? ` ${rest[0]}` : "";
    const hint = e instanceof UsageError ? `\nrun switchyard ${name}${sub} --help for usage` : "";
    io.stderr.write(`switchyard: ${e.message}${hint}\n`);
    return e instanceof CliError ? e.exitCode : 1;
  } finally {
    await db?.destroy();
  }
}
