import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";

export type AppName = "gateway" | "router-worker" | "rag-worker" | "usage-aggregator";

const REPO_ROOT = path.resolve(__dirname, "../../..");

export interface SpawnedApp {
  name: AppName;
  /** The HTTP port it serves (gateway API or a worker's metrics), when known. */
  port: number | null;
  child: ChildProcess;
  /** Everything the process printed so far. */
  output(): string;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): void;
}

/**
 * Start one app as a real child process (`node --import tsx apps/<name>/src/main.ts`), and wait
 * until `ready` says so. With `SWITCHYARD_COMPILED_APPS=1` (in `env` or the test's environment) it
 * runs the production bundle instead, `node apps/<name>/dist/main.js` (built by `pnpm build`).
 */
export async function spawnApp(name: AppName, env: Record<string, string>, ready: () => Promise<boolean>, timeoutMs = 30_000, port: number | null = null): Promise<SpawnedApp> {
  // One node process with tsx's loader (not the tsx CLI, which would put a wrapper process in
  // between and keep the real app alive when the wrapper is SIGKILLed).
  // SWITCHYARD_PROFILE_DIR=<dir> writes each app's CPU profile there on exit (`node --cpu-prof`), for bench runs.
  const prof = env.SWITCHYARD_PROFILE_DIR ?? process.env.SWITCHYARD_PROFILE_DIR;
  const profArgs = prof ? ["--cpu-prof", `--cpu-prof-dir=${prof}`] : [];
  const compiled = (env.SWITCHYARD_COMPILED_APPS ?? process.env.SWITCHYARD_COMPILED_APPS) === "1";
  const entry = compiled ? ["--enable-source-maps", path.join(REPO_ROOT, "apps", name, "dist/main.js")] : ["--import", "tsx", path.join(REPO_ROOT, "apps", name, "src/main.ts")];
  const child = spawn(process.execPath, [...profArgs, ...entry], {
    cwd: REPO_ROOT,
    // A bundle runs as in production: without the NODE_PATH pnpm's scripts set (every hoisted
    // package), so a dependency its app does not declare fails here too.
    env: { ...process.env, LOG_LEVEL: "warn", ...env, ...(compiled ? { NODE_PATH: "" } : {}) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | string>((resolve) => child.once("exit", (code, sig) => resolve(code ?? sig ?? -1)));
  const app: SpawnedApp = { name, port, child, output: () => out, exited, kill: (s = "SIGTERM") => void child.kill(s) };
  const deadline = Date.now() + timeoutMs;
  let gone = false;
  void exited.then(() => (gone = true));
  while (Date.now() < deadline) {
    if (gone) throw new Error(`${name} exited before it was ready:\n${out}`);
    if (await ready().catch(() => false)) return app;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGKILL");
  throw new Error(`${name} not ready within ${timeoutMs} ms:\n${out}`);
}

/** GET a loopback URL; true on 2xx. */
export async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url).catch(() => null);
  return !!res && res.ok;
}
