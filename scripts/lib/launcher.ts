import { mkdirSync } from "node:fs";
import path from "node:path";
import { appPorts, appSpecs, bannerLines, type AppSpec } from "./apps";
import { chooseBootstrapKey, saveBootstrapKeyFile } from "./bootstrap-key";
import { envInteger } from "./env-values";
import { isPortOpen } from "./free-port";
import { dataDir, displayPath } from "./paths";
import { resolvePostgres, type ResolvedPostgres } from "./resolve-postgres";
import { resolveRedis, type ResolvedRedis } from "./resolve-redis";
import { describeExit, Supervisor, type ChildExit } from "./supervisor";
import { appCommand } from "./tsx-command";
import { httpStatus, waitFor } from "./wait-for";

/** Options of {@link Launcher}. */
export interface LauncherOptions {
  /** The launcher's environment; passed on to every child (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Bring the schema up to date and install `bootstrapKey` for the demo tenant. */
  prepareDatabase: (databaseUrl: string, bootstrapKey: string) => Promise<void>;
  /** Whether a string is a well-formed `sy_live_<id>_<secret>` key. */
  isValidKey: (key: string) => boolean;
  /** A fresh bootstrap key. */
  generateKey: () => string;
  /** Default: a new one writing to stdout. */
  supervisor?: Supervisor;
  /** Where unprefixed lines (banner, `ready`) go (default stdout). */
  print?: (line: string) => void;
  /** Folder holding the apps (default `<repo>/apps`); each runs `<name>/src/main.ts`. */
  appsDir?: string;
  /** Run each app's production bundle `<name>/dist/main.js` instead (see scripts/build.ts). */
  compiled?: boolean;
}

/** `postgres://user:***@host/db`: a connection string fit for logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparseable URL)";
  }
}

/**
 * `pnpm start`: resolves Redis and Postgres (embedded when not configured), migrates and seeds,
 * runs the four apps, waits for the gateway to be ready, and on a signal (or any app dying)
 * stops the apps within a grace period, then Postgres and Redis.
 */
export class Launcher {
  private readonly env: NodeJS.ProcessEnv;
  private readonly supervisor: Supervisor;
  private readonly print: (line: string) => void;
  private readonly appNames = new Set<string>();
  private stopping: Promise<number> | undefined;
  private readonly stopController = new AbortController();
  private firstSignalAt: number | undefined;
  private forced = false;
  private resolveFinished: (code: number) => void = () => undefined;
  private readonly finished = new Promise<number>((r) => (this.resolveFinished = r));

  constructor(private readonly opts: LauncherOptions) {
    this.env = opts.env ?? process.env;
    this.supervisor = opts.supervisor ?? new Supervisor();
    this.print = opts.print ?? ((line) => process.stdout.write(`${line}\n`));
  }

  /** Start everything; resolves with the exit code once everything has stopped again. */
  run(): Promise<number> {
    const off = this.supervisor.onExit((exit) => this.onChildExit(exit));
    this.startUp().catch((err: unknown) => {
      if (this.stopping) return; // failures caused by the shutdown itself
      this.log(`start failed: ${err instanceof Error ? err.message : String(err)}`);
      void this.shutdown(1);
    });
    return this.finished.then((code) => {
      off();
      return code;
    });
  }

  /**
   * A signal arrived: stop in order. A second one more than a second later kills whatever is still
   * running; one sooner is the same Ctrl-C relayed by a wrapper (pnpm, the tsx CLI) and is ignored.
   */
  requestStop(signal: string): void {
    const now = Date.now();
    if (this.firstSignalAt !== undefined) {
      if (now - this.firstSignalAt < 1000 || this.forced) return;
      this.forced = true;
      this.log(`${signal} again: killing what is left`);
      for (const c of this.supervisor.children) c.signal("SIGKILL");
      return;
    }
    this.firstSignalAt = now;
    if (this.stopping) return;
    this.log(`${signal} received, stopping (press Ctrl-C again to force)`);
    void this.shutdown(0);
  }

  private log(line: string): void {
    this.supervisor.log("start", line);
  }

  private onChildExit(exit: ChildExit): void {
    if (exit.requested || this.stopping) return;
    this.log(`${exit.name} (pid ${String(exit.pid)}) exited unexpectedly (${describeExit(exit)}); stopping everything`);
    void this.shutdown(1);
  }

  private shutdown(code: number): Promise<number> {
    this.stopping ??= (async () => {
      this.stopController.abort("stopping");
      const grace = safeGrace(this.env);
      const apps = this.supervisor.children.filter((c) => this.appNames.has(c.name));
      const exits = await this.supervisor.stopAll(apps, grace);
      for (const e of exits) this.reportKill(e, grace);
      // Then infrastructure, last started first (PGlite before Redis).
      for (const c of [...this.supervisor.children].reverse()) {
        if (this.appNames.has(c.name)) continue;
        this.reportKill(await c.stop(grace), grace);
      }
      this.log("stopped");
      this.resolveFinished(code);
      return code;
    })();
    return this.stopping;
  }

  private reportKill(e: ChildExit, grace: number): void {
    if (e.signal === "SIGKILL" && !this.forced) this.log(`${e.name} did not stop within ${grace} ms; killed`);
  }

  private checkNotStopping(): void {
    if (this.stopController.signal.aborted) throw new Error("stopping");
  }

  private async startUp(): Promise<void> {
    const env = this.env;
    const ports = appPorts(env);
    const readyTimeoutMs = envInteger(env, "READY_TIMEOUT_MS", 120_000, 1);
    safeGrace(env); // fail on a bad SHUTDOWN_GRACE_MS now, not at Ctrl-C
    const data = dataDir(env);
    mkdirSync(data, { recursive: true });
    const specs = appSpecs(ports, "", "");
    await assertPortsFree(specs);

    const redis = await resolveRedis({ env, dataDir: data, supervisor: this.supervisor });
    this.log(`redis: ${describeRedis(redis)}`);
    this.checkNotStopping();
    const pg = await resolvePostgres({ env, dataDir: data, supervisor: this.supervisor });
    this.log(`postgres: ${describePostgres(pg, data)}`);
    this.checkNotStopping();

    const keyFile = path.join(data, "bootstrap-key");
    const choice = chooseBootstrapKey({ env, file: keyFile, isValid: this.opts.isValidKey, generate: this.opts.generateKey });
    if (choice.warning) this.log(`warning: ${choice.warning}`);
    // Saved before seeding: if seeding fails, the next start installs this same key.
    if (choice.source === "generated") saveBootstrapKeyFile(keyFile, choice.key);
    await this.opts.prepareDatabase(pg.url, choice.key);
    this.log(`database migrated; bootstrap key from ${choice.source === "env" ? "SWITCHYARD_BOOTSTRAP_KEY" : displayPath(keyFile)}`);
    this.checkNotStopping();

    const apps = appSpecs(ports, pg.url, redis.url, this.opts.appsDir, this.opts.compiled);
    for (const app of apps) this.spawnApp(app);

    const gateway = this.supervisor.children.find((c) => c.name === "gateway");
    const readyUrl = `http://127.0.0.1:${ports.gateway}/health/ready`;
    await waitFor(async () => ((await httpStatus(readyUrl)) === 200 ? true : undefined), {
      timeoutMs: readyTimeoutMs,
      intervalMs: 300,
      signal: this.stopController.signal,
      what: `${readyUrl} to answer 200${gateway?.running === false ? " (gateway is not running)" : ""}`,
    });
    const banner = bannerLines({
      apps,
      gatewayPort: ports.gateway,
      postgres: describePostgres(pg, data),
      redis: describeRedis(redis),
      bootstrapKey: choice.key,
      ...(choice.source === "env" ? {} : { keyFile: displayPath(keyFile) }),
    });
    for (const line of banner) this.print(line);
    this.print("ready");
  }

  private spawnApp(app: AppSpec): void {
    this.checkNotStopping();
    const { command, args } = appCommand(app.entry);
    this.appNames.add(app.name);
    // A bundle gets no NODE_PATH (pnpm's scripts set one naming every hoisted package): it finds
    // its dependencies as it would in production, or fails here too.
    const env = { ...this.env, ...app.env, ...(app.entry.endsWith(".js") ? { NODE_PATH: "" } : {}) };
    this.supervisor.spawn({ name: app.name, command, args, cwd: path.dirname(path.dirname(app.entry)), env });
  }
}

function safeGrace(env: NodeJS.ProcessEnv): number {
  return envInteger(env, "SHUTDOWN_GRACE_MS", 15_000, 0);
}

function describeRedis(r: ResolvedRedis): string {
  const what = { env: "from REDIS_URL", local: "already running", embedded: "redis-server started by us" }[r.source];
  return `${redactUrl(r.url)} (${what})`;
}

function describePostgres(p: ResolvedPostgres, data: string): string {
  return p.source === "env" ? `${redactUrl(p.url)} (from DATABASE_URL)` : `${p.url} (PGlite, data in ${displayPath(path.join(data, "pglite"))})`;
}

const PORT_VARS: Record<string, string> = {
  gateway: "PORT",
  "router-worker": "ROUTER_METRICS_PORT",
  "rag-worker": "RAG_METRICS_PORT",
  "usage-aggregator": "AGGREGATOR_METRICS_PORT",
};

/** Refuse to start when an app's port is taken (a stale gateway would answer the ready check). */
async function assertPortsFree(apps: AppSpec[]): Promise<void> {
  const taken: string[] = [];
  for (const a of apps) if (a.port !== 0 && (await isPortOpen(a.port))) taken.push(`${a.port} (${a.name}; set ${PORT_VARS[a.name] ?? "its port"})`);
  if (taken.length > 0) throw new Error(`ports already in use: ${taken.join(", ")}`);
}
