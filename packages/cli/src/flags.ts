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

/**
 * Like {@link parseFlags}, but with positional arguments: exactly the `names` given (in order),
 * each a {@link UsageError} when missing, and none beyond them. A value that starts with `-`
 * (a negative amount) goes after `--`.
 */
export function parseCommandLine<T extends FlagOptions, const N extends readonly string[]>(args: string[], options: T, names: N) {
  const parsed = (() => {
    try {
      return parseArgs({ args, options, strict: true, allowPositionals: true });
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  })();
  const missing = names.slice(parsed.positionals.length);
  if (missing.length) throw new UsageError(`missing ${missing.map((n) => `<${n}>`).join(" ")}`);
  const extra = parsed.positionals.slice(names.length);
  if (extra.length) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
  for (const [i, n] of names.entries()) if (parsed.positionals[i]!.trim() === "") throw new UsageError(`<${n}> must not be empty`);
  return { values: parsed.values, positionals: parsed.positionals as unknown as { [K in keyof N]: string } };
}

/** An optional `--flag N`: a whole number from `min` up. */
export function intFlag(value: string | undefined, flag: string, min = 0): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?[0-9]+$/.test(value.trim()) || Number(value) < min || !Number.isSafeInteger(Number(value)))
    throw new UsageError(`${flag} must be a whole number ≥ ${min}, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** A flag that takes one of `choices`. */
export function choiceFlag<C extends string>(value: string | undefined, flag: string, choices: readonly C[]): C | undefined {
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value)) throw new UsageError(`${flag} must be one of ${choices.join(", ")}, got ${JSON.stringify(value)}`);
  return value as C;
}

/** An optional `--limit N`: rows per page, 1 to `max`. */
export function limitFlag(value: string | undefined, max: number): number | undefined {
  const n = intFlag(value, "--limit", 1);
  if (n !== undefined && n > max) throw new UsageError(`--limit must be at most ${max}, got ${n}`);
  return n;
}
