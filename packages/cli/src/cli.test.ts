import { runCli, type CliIo } from "./cli";
import { CliError, type Command } from "./command";

/** Captured output of one run. */
function io(env: Record<string, string> = {}): CliIo & { out: () => string; err: () => string } {
  let out = "";
  let err = "";
  return {
    env,
    stdout: { write: (s: string) => ((out += s), true) },
    stderr: { write: (s: string) => ((err += s), true) },
    out: () => out,
    err: () => err,
  };
}

describe("switchyard (no database needed)", () => {
  it("--help lists every command and subcommand on stdout, exit 0", async () => {
    const o = io();
    expect(await runCli(["--help"], o)).toBe(0);
    expect(o.out()).toMatch(/^ {2}migrate +Apply pending database migrations$/m);
    expect(o.out()).toMatch(/^ {2}reports generate +/m);
    expect(o.out()).toMatch(/^ {2}reports backfill +/m);
    expect(o.out()).toContain("DATABASE_URL");
  });

  it("no command prints the help on stderr, exit 2; an unknown one says so, exit 2", async () => {
    const none = io();
    expect(await runCli([], none)).toBe(2);
    expect(none.out()).toBe("");
    expect(none.err()).toContain("Usage: switchyard <command>");
    const unknown = io();
    expect(await runCli(["frobnicate"], unknown)).toBe(2);
    expect(unknown.err()).toBe('switchyard: unknown command "frobnicate"; run switchyard --help\n');
  });

  it("subcommand help and subcommand errors", async () => {
    const h = io();
    expect(await runCli(["reports", "--help"], h)).toBe(0);
    expect(h.out()).toMatch(/reports generate/);
    const gh = io();
    expect(await runCli(["reports", "backfill", "--help"], gh)).toBe(0);
    expect(gh.out()).toMatch(/^Usage: switchyard reports backfill --from YYYY-MM-DD --to YYYY-MM-DD/);
    expect(await runCli(["reports"], io())).toBe(2);
    const bad = io();
    expect(await runCli(["reports", "frob"], bad)).toBe(2);
    expect(bad.err()).toContain('unknown subcommand "reports frob"');
  });

  it.each([
    [["reports", "generate", "--date", "2026-13-01"], '--date must be a calendar day YYYY-MM-DD, got "2026-13-01"'],
    [["reports", "generate", "--date=2026-02-29"], '--date must be a calendar day YYYY-MM-DD, got "2026-02-29"'],
    [["reports", "generate"], "--date is required"],
    [["reports", "generate", "--date", "2026-03-01", "--tenant", ""], "--tenant must not be empty"],
    [["reports", "backfill", "--from", "2026-03-01"], "--to is required"],
    [["reports", "backfill", "--from", "yesterday", "--to", "2026-03-01"], '--from must be a calendar day YYYY-MM-DD, got "yesterday"'],
    [["reports", "backfill", "--from", "2026-03-03", "--to", "2026-03-01"], "--to (2026-03-01) must not be before --from (2026-03-03)"],
    [["reports", "generate", "--date", "2026-03-01", "--bogus"], "--bogus"],
    [["migrate", "extra"], "extra"],
  ])("%j exits 2 naming the problem, before touching the database", async (args, message) => {
    // A DATABASE_URL that could never connect: a usage error must be found first.
    const o = io({ DATABASE_URL: "postgres://nobody@127.0.0.1:1/none" });
    expect(await runCli(args, o)).toBe(2);
    expect(o.err()).toContain(message);
    expect(o.err()).toMatch(/^switchyard: .*\nrun switchyard (reports (generate|backfill)|migrate) --help for usage\n$/);
    expect(o.out()).toBe("");
  });

  it("a missing or non-postgres DATABASE_URL is exit 2 with a message saying what to set", async () => {
    const missing = io();
    expect(await runCli(["reports", "generate", "--date", "2026-03-01"], missing)).toBe(2);
    expect(missing.err()).toBe("switchyard: DATABASE_URL is not set: export DATABASE_URL=postgres://user:pass@host:5432/switchyard\n");
    const mysql = io({ DATABASE_URL: "mysql://root@localhost/db" });
    expect(await runCli(["migrate"], mysql)).toBe(2);
    expect(mysql.err()).toContain("DATABASE_URL must be a postgres:// URL, not mysql://");
    const garbage = io({ DATABASE_URL: "not a url" });
    expect(await runCli(["migrate"], garbage)).toBe(2);
    expect(garbage.err()).toContain("DATABASE_URL is not a URL");
  });

  it("runs commands from the map it is given: a failure is exit 1 (or the CliError's code), one line on stderr", async () => {
    const commands: Record<string, Command> = {
      boom: { summary: "fails", help: "Usage: switchyard boom", run: async () => Promise.reject(new Error("kaput")) },
      picky: { summary: "fails politely", help: "", run: async () => Promise.reject(new CliError("not today", 3)) },
      hello: { summary: "greets", help: "", run: async (args, ctx) => void ctx.stdout.write(`hello ${args.join(" ")}\n`) },
    };
    const boom = io();
    expect(await runCli(["boom"], boom, commands)).toBe(1);
    expect(boom.err()).toBe("switchyard: kaput\n");
    expect(await runCli(["picky"], io(), commands)).toBe(3);
    const hello = io();
    expect(await runCli(["hello", "a", "b"], hello, commands)).toBe(0);
    expect(hello.out()).toBe("hello a b\n");
    const help = io();
    expect(await runCli(["boom", "--help"], help, commands)).toBe(0);
    expect(help.out()).toBe("Usage: switchyard boom\n");
  });
});
