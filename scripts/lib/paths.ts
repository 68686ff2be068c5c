import path from "node:path";

/** Absolute path of the repository root (the folder holding `scripts/`). */
export const repoRoot: string = path.resolve(__dirname, "..", "..");

/**
 * The data folder for embedded state (PGlite files, redis-server files, the bootstrap key).
 * `SWITCHYARD_DATA_DIR` when set (relative paths resolve against the repo root), else `<repo>/.data`.
 */
export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env.SWITCHYARD_DATA_DIR?.trim();
  return configured ? path.resolve(repoRoot, configured) : path.join(repoRoot, ".data");
}

/** A path shown relative to the repo root when it lies inside it (shorter log lines). */
export function displayPath(p: string): string {
  const rel = path.relative(repoRoot, p);
  return rel && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel : p;
}
