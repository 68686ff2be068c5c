import { readFileSync, rmSync, writeFileSync } from "node:fs";

/** Whether a process with this id exists (signal 0 probes without signalling). */
export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** A held lock; {@link PidLock.release} removes the file if it is still ours. */
export interface PidLock {
  release(): void;
}

/**
 * Take an exclusive lock file holding our pid. Two PGlite processes on one data folder would
 * corrupt it, so a second one must refuse to start. A lock left by a dead process is taken over.
 */
export function acquirePidLock(file: string, pid: number = process.pid): PidLock {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, `${pid}\n`, { flag: "wx" });
      return {
        release() {
          try {
            if (readFileSync(file, "utf8").trim() === String(pid)) rmSync(file);
          } catch {
            // already gone
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const holder = Number.parseInt(readFileSync(file, "utf8").trim(), 10);
      if (Number.isInteger(holder) && holder > 0 && holder !== pid && isPidAlive(holder)) {
        throw new Error(`${file} is held by running process ${holder}; stop it first (two servers on one data folder would corrupt it)`, { cause: err });
      }
      rmSync(file, { force: true });
    }
  }
  throw new Error(`could not take lock ${file}`);
}
