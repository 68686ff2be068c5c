import { execFile } from "node:child_process";
import path from "node:path";

const BIN = path.resolve(__dirname, "../bin/switchyard.js");

/** The CLI's --json output, read loosely as tests do. */
export type Json = Record<string, any>;

/** What one `switchyard` run printed, and its exit code. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `switchyard …` as a real child process with this process's environment plus `env` (a variable
 * set to undefined there is removed, e.g. to run without a key).
 */
export function runCli(args: string[], env: Record<string, string | undefined>): Promise<CliRun> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const k of Object.keys(childEnv)) if (childEnv[k] === undefined) delete childEnv[k];
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: childEnv, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** A run that must have succeeded silently on stderr: its stdout parsed when `--json` was asked for, else `{text}`. */
export function okOutput(args: string[], r: CliRun): Json {
  expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: "" });
  return args.includes("--json") ? (JSON.parse(r.stdout) as Json) : { text: r.stdout };
}
