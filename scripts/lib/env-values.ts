/**
 * Small, strict readers for the launcher's environment. The launcher is a script, not an app, so it
 * does not carry zod; these still fail loudly instead of letting `NaN` slip through.
 */

/** Thrown when an environment variable holds something unusable. */
export class EnvValueError extends Error {
  override name = "EnvValueError";
}

/** An integer env value within [min, max], or `def` when unset/empty. */
export function envInteger(env: NodeJS.ProcessEnv, name: string, def: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === "") return def;
  if (!/^-?\d+$/.test(raw)) throw new EnvValueError(`${name} must be an integer, got ${JSON.stringify(raw)}`);
  const n = Number(raw);
  if (n < min || n > max) throw new EnvValueError(`${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** A TCP port (0–65535; 0 lets the OS choose where the consumer allows it), or `def` when unset. */
export function envPort(env: NodeJS.ProcessEnv, name: string, def: number): number {
  return envInteger(env, name, def, 0, 65535);
}

/** A boolean env value: true/1/yes/on or false/0/no/off, or `def` when unset/empty. */
export function envFlag(env: NodeJS.ProcessEnv, name: string, def: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === "") return def;
  if (["true", "1", "yes", "on"].includes(raw)) return true;
  if (["false", "0", "no", "off"].includes(raw)) return false;
  throw new EnvValueError(`${name} must be a boolean (true/false/1/0/yes/no/on/off), got ${JSON.stringify(raw)}`);
}

/** A non-empty trimmed env string, or undefined. */
export function envString(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const raw = env[name]?.trim();
  return raw ? raw : undefined;
}
