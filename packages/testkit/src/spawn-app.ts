import { spawn, type ChildProcess } from "node:child_process";
import { readdir, readFile, readlink } from "node:fs/promises";
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
export async function spawnApp(
  name: AppName,
  env: Record<string, string>,
  ready: () => Promise<boolean>,
  timeoutMs = 30_000,
  port: number | null = null,
): Promise<SpawnedApp> {
  // One node process with tsx's loader (not the tsx CLI, which would put a wrapper process in
  // between and keep the real app alive when the wrapper is SIGKILLed).
  // SWITCHYARD_PROFILE_DIR=<dir> writes each app's CPU profile there on exit (`node --cpu-prof`), for bench runs.
  const prof = env.SWITCHYARD_PROFILE_DIR ?? process.env.SWITCHYARD_PROFILE_DIR;
  const profArgs = prof ? ["--cpu-prof", `--cpu-prof-dir=${prof}`] : [];
  const compiled = (env.SWITCHYARD_COMPILED_APPS ?? process.env.SWITCHYARD_COMPILED_APPS) === "1";
  const entry = compiled
    ? ["--enable-source-maps", path.join(REPO_ROOT, "apps", name, "dist/main.js")]
    : ["--import", "tsx", path.join(REPO_ROOT, "apps", name, "src/main.ts")];
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
    // A port from freePort() can be taken by another process (a test beside this one) before the
    // app binds it: then `ready` may be answered by that stranger while the app exits with
    // EADDRINUSE. Ready counts only once the child itself listens on the port.
    if ((await ready().catch(() => false)) && (port === null || child.pid === undefined || (await listensOn(child.pid, port)))) return app;
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

/**
 * Whether process `pid` holds a socket listening on TCP `port` (Linux: /proc/net/tcp{,6} and the
 * process's file descriptors). True where /proc cannot tell (another OS), so it never blocks there.
 */
export async function listensOn(pid: number, port: number): Promise<boolean> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  const inodes = new Set<string>();
  let tables = 0;
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    const text = await readFile(table, "utf8").catch(() => null);
    if (text === null) continue;
    tables++;
    for (const line of text.split("\n").slice(1)) {
      // local_address is ADDR:PORT in hex; state 0A is LISTEN; the inode is the 10th field.
      const [, local = "", , state, , , , , , inode] = line.trim().split(/\s+/);
      if (inode !== undefined && local.endsWith(`:${hexPort}`) && state === "0A") inodes.add(inode);
    }
  }
  if (tables === 0) return true;
  if (inodes.size === 0) return false;
  const fds = await readdir(`/proc/${pid}/fd`).catch(() => null);
  if (fds === null) return false;
  for (const fd of fds) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => "");
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m?.[1] !== undefined && inodes.has(m[1])) return true;
  }
  return false;
}
