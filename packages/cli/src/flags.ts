import { isIsoDay } from "@switchyard/db";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "./command";

type FlagOptions = NonNullable<ParseArgsConfig["options"]>;

/**
 * `--name value` / `--name=value` flags by node's `parseArgs` (strict: an unknown flag, a
 * positional argument or a missing value is a {@link UsageError}, exit 2).
 */
export function parseFlags<T extends FlagOptions>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** A required `--flag YYYY-MM-DD` (a real UTC calendar day). */
export function dayFlag(value: string | undefined, flag: string): string {
  if (value === undefined) throw new UsageError(`${flag} is required (YYYY-MM-DD, a UTC day)`);
  if (!isIsoDay(value)) throw new UsageError(`${flag} must be a calendar day YYYY-MM-DD, got ${JSON.stringify(value)}`);
  return value;
}

/** An optional non-empty string flag. */
export function optionalFlag(value: string | undefined, flag: string): string | undefined {
  if (value !== undefined && value.trim() === "") throw new UsageError(`${flag} must not be empty`);
  return value;
}
