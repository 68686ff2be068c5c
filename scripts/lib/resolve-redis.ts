import { accessSync, constants, mkdirSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { envPort, envString } from "./env-values";
import type { SupervisedChild, Supervisor } from "./supervisor";
import { waitFor } from "./wait-for";

/** Where Redis comes from. */
export interface ResolvedRedis {
  url: string;
  /** `env`: REDIS_URL; `local`: one already answering on the port; `embedded`: a redis-server we started. */
  source: "env" | "local" | "embedded";
  /** The redis-server we started (stop it after the apps). */
  child?: SupervisedChild;
}

/** Options of {@link resolveRedis}. */
export interface ResolveRedisOptions {
  env: NodeJS.ProcessEnv;
  /** Embedded data root; a started redis-server keeps its files in `<dataDir>/redis`. */
  dataDir: string;
  supervisor: Supervisor;
  /** Port probed for an already-running Redis (default 6379). */
  localPort?: number;
  /** Find an executable on PATH (default {@link findOnPath}); tests may replace it. */
  which?: (cmd: string) => string | undefined;
  /** How long a started redis-server may take to answer PING (default 15 s). */
  startTimeoutMs?: number;
}

/** Thrown when no Redis can be found or started; the message says how to get one. */
export class NoRedisError extends Error {
  override name = "NoRedisError";
}

/** The message shown when no Redis is available. */
export const NO_REDIS_HELP = [
  "No Redis found: REDIS_URL is not set, nothing answers PING on 127.0.0.1:6379, and redis-server is not on PATH.",
  "Get one of:",
  "  - Debian/Ubuntu: sudo apt-get install redis-server",
  "  - macOS:         brew install redis",
  "  - Docker:        docker compose -f infra/docker-compose.yml up -d redis",
  "or point REDIS_URL at an existing Redis >= 6.2.",
].join("\n");

/** Whether a Redis on host:port answers PING with +PONG within `timeoutMs`. */
export function pingRedis(port: number, host = "127.0.0.1", timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host });
    let reply = "";
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once("connect", () => sock.write("PING\r\n"));
    sock.on("data", (d: Buffer) => {
      reply += d.toString("latin1");
      if (reply.includes("\r\n")) done(reply.startsWith("+PONG"));
    });
    sock.once("error", () => done(false));
    sock.once("close", () => done(false));
  });
}

/** Absolute path of an executable `cmd` found on PATH, or undefined. */
export function findOnPath(cmd: string, envPath: string = process.env.PATH ?? ""): string | undefined {
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, cmd);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** redis-server arguments for an embedded, persistent, never-evicting instance (BullMQ needs noeviction). */
export function redisServerArgs(port: number, dir: string): string[] {
  return ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--appendonly", "yes", "--maxmemory-policy", "noeviction", "--daemonize", "no"];
}

/**
 * `REDIS_URL` if set; else a Redis answering PING on 127.0.0.1:6379; else a `redis-server` from PATH
 * started on `EMBEDDED_REDIS_PORT` (default 6390) with its data in `<dataDir>/redis`; else
 * {@link NoRedisError}.
 */
export async function resolveRedis(opts: ResolveRedisOptions): Promise<ResolvedRedis> {
  const given = envString(opts.env, "REDIS_URL");
  if (given) return { url: given, source: "env" };

  const localPort = opts.localPort ?? 6379;
  if (await pingRedis(localPort)) return { url: `redis://127.0.0.1:${localPort}`, source: "local" };

  const bin = (opts.which ?? ((c) => findOnPath(c, opts.env.PATH)))("redis-server");
  if (!bin) throw new NoRedisError(NO_REDIS_HELP);

  const port = envPort(opts.env, "EMBEDDED_REDIS_PORT", 6390);
  // A redis-server left behind by an earlier start that was killed hard: use it rather than fail.
  if (await pingRedis(port)) return { url: `redis://127.0.0.1:${port}`, source: "local" };

  const dir = path.join(opts.dataDir, "redis");
  mkdirSync(dir, { recursive: true });
  const child = opts.supervisor.spawn({ name: "redis", command: bin, args: redisServerArgs(port, dir), env: opts.env });
  const died = new AbortController();
  void child.exited.then((e) => died.abort(`redis-server exited (code ${String(e.code)}, signal ${String(e.signal)})`));
  try {
    await waitFor(async () => ((await pingRedis(port)) ? true : undefined), {
      timeoutMs: opts.startTimeoutMs ?? 15_000,
      intervalMs: 100,
      signal: died.signal,
      what: `redis-server on port ${port}`,
    });
  } catch (err) {
    await child.stop(2000);
    throw new NoRedisError(`${bin} did not start: ${err instanceof Error ? err.message : String(err)}`);
  }
  return { url: `redis://127.0.0.1:${port}`, source: "embedded", child };
}
