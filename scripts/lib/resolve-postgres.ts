import path from "node:path";
import { envPort, envString } from "./env-values";
import { isPortOpen } from "./free-port";
import { repoRoot } from "./paths";
import type { SupervisedChild, Supervisor } from "./supervisor";
import { tsxCommand } from "./tsx-command";

/** Where Postgres comes from. */
export interface ResolvedPostgres {
  url: string;
  /** `env`: DATABASE_URL as given; `pglite`: the embedded server we started. */
  source: "env" | "pglite";
  /** The PGlite server process, when we started one (stop it after the apps). */
  child?: SupervisedChild;
}

/** Options of {@link resolvePostgres}. */
export interface ResolvePostgresOptions {
  env: NodeJS.ProcessEnv;
  /** Embedded data root; PGlite keeps its files in `<dataDir>/pglite`. */
  dataDir: string;
  supervisor: Supervisor;
  /** How long PGlite may take to open (default 120 s; a first start runs initdb). */
  startTimeoutMs?: number;
}

/**
 * `DATABASE_URL` when set; otherwise start `scripts/pglite-server.ts` as a child on `PGLITE_PORT`
 * (default 54329) and wait for its ready line.
 */
export async function resolvePostgres(opts: ResolvePostgresOptions): Promise<ResolvedPostgres> {
  const given = envString(opts.env, "DATABASE_URL");
  if (given) return { url: given, source: "env" };

  const port = envPort(opts.env, "PGLITE_PORT", 54329);
  if (port !== 0 && (await isPortOpen(port))) {
    throw new Error(
      `PGLITE_PORT ${port} is already in use (another \`pnpm start\`?). Stop it, set PGLITE_PORT to a free port, or set DATABASE_URL to use an existing Postgres.`,
    );
  }
  const { command, args } = tsxCommand(path.join(repoRoot, "scripts", "pglite-server.ts"));
  const child = opts.supervisor.spawn({
    name: "pglite",
    command,
    args,
    cwd: repoRoot,
    ipc: true,
    env: { ...opts.env, PGLITE_PORT: String(port), PGLITE_DATA_DIR: path.join(opts.dataDir, "pglite") },
  });
  try {
    const m = await child.waitForLine(/^pglite ready on (\S+):(\d+)/, opts.startTimeoutMs ?? 120_000);
    return { url: `postgres://postgres@${m[1]}:${m[2]}/postgres`, source: "pglite", child };
  } catch (err) {
    await child.stop(2000);
    throw new Error(`embedded Postgres (PGlite) did not start: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}
