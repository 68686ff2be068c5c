import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";

/** Which bootstrap key to install, and where it came from. */
export interface BootstrapKeyChoice {
  key: string;
  /** `env`: SWITCHYARD_BOOTSTRAP_KEY; `file`: saved by an earlier start; `generated`: new, to be saved. */
  source: "env" | "file" | "generated";
  /** Something the user should hear about (e.g. the key file was readable by others). */
  warning?: string;
}

/** Options of {@link chooseBootstrapKey}. */
export interface ChooseBootstrapKeyOptions {
  env: NodeJS.ProcessEnv;
  /** The key file, e.g. `<data dir>/bootstrap-key`. */
  file: string;
  /** Whether a string is a well-formed `sy_live_<id>_<secret>` key. */
  isValid: (key: string) => boolean;
  /** A fresh key. */
  generate: () => string;
}

/** Thrown when the configured or saved key is unusable. */
export class BootstrapKeyError extends Error {
  override name = "BootstrapKeyError";
}

/** The key saved in `file`, or undefined when there is no such file. */
export function readBootstrapKeyFile(file: string): string | undefined {
  try {
    const text = readFileSync(file, "utf8").trim();
    return text === "" ? undefined : text;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** Save `key` to `file` readable by the owner only (0600), creating the folder if needed. */
export function saveBootstrapKeyFile(file: string, key: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  // `mode` only applies when the file is created; enforce it for an existing one too.
  chmodSync(file, 0o600);
}

/**
 * `SWITCHYARD_BOOTSTRAP_KEY` if set; else the key saved in `file` by an earlier start; else a newly
 * generated one (the caller saves it before seeding, so a crash in between cannot lose it).
 */
export function chooseBootstrapKey(opts: ChooseBootstrapKeyOptions): BootstrapKeyChoice {
  const fromEnv = opts.env.SWITCHYARD_BOOTSTRAP_KEY?.trim();
  if (fromEnv) {
    if (!opts.isValid(fromEnv)) throw new BootstrapKeyError("SWITCHYARD_BOOTSTRAP_KEY must look like sy_live_<id>_<secret>");
    return { key: fromEnv, source: "env" };
  }
  const saved = readBootstrapKeyFile(opts.file);
  if (saved !== undefined) {
    if (!opts.isValid(saved)) {
      throw new BootstrapKeyError(`${opts.file} does not hold a key like sy_live_<id>_<secret>; delete it to have a new key generated`);
    }
    const loose = (statSync(opts.file).mode & 0o077) !== 0;
    return loose
      ? { key: saved, source: "file", warning: `${opts.file} is readable by other users; run: chmod 600 ${opts.file}` }
      : { key: saved, source: "file" };
  }
  return { key: opts.generate(), source: "generated" };
}
