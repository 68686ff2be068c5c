/**
 * `pnpm start` end to end: the real launcher as a child process, with PGlite (DATABASE_URL unset),
 * the machine's Redis under a prefix of its own, a throw-away data folder and free ports. Submits a
 * job with the printed bootstrap key, waits for it to succeed, then Ctrl-C (SIGINT) must stop
 * everything within the grace period with exit code 0 and leave no process behind.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { cleanupPrefix, testPrefix } from "@switchyard/testkit";
import { freePorts } from "./lib/free-port";
import { isPidAlive } from "./lib/pid-lock";
import { repoRoot } from "./lib/paths";
import { sleep, waitFor, withTimeout } from "./lib/wait-for";

const GRACE_MS = 15_000;

describe("pnpm start (scripts/start.ts)", () => {
  let dataDir: string;
  let launcher: ChildProcess | undefined;
  let output = "";
  const prefix = testPrefix("start");
  const abort = new AbortController();

  beforeAll(() => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), "switchyard-start-"));
  });

  afterAll(async () => {
    abort.abort("test over"); // stop any wait still polling after a failure or timeout
    // Only when the test failed midway: stop the stack the normal way, then make sure.
    if (launcher && launcher.exitCode === null && launcher.signalCode === null) {
      launcher.kill("SIGINT");
      await withTimeout(new Promise((r) => launcher?.once("exit", r)), GRACE_MS + 5_000, "launcher did not stop").catch(() => undefined);
    }
    for (const pid of childPids(output)) if (isPidAlive(pid)) process.kill(pid, "SIGKILL");
    if (launcher && launcher.exitCode === null && launcher.signalCode === null) launcher.kill("SIGKILL");
    const redis = /redis: (redis:\/\/\S+) \((?:already running|from REDIS_URL)\)/.exec(output)?.[1];
    if (redis) await cleanupPrefix(prefix, redis);
    rmSync(dataDir, { recursive: true, force: true });
  }, GRACE_MS + 30_000);

  it("serves a job with the bootstrap key, then shuts down cleanly on SIGINT", async () => {
    const [port, routerMetrics, aggregatorMetrics, ragMetrics, pglitePort] = await freePorts(5);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      SWITCHYARD_DATA_DIR: dataDir,
      SWITCHYARD_PREFIX: prefix,
      PORT: String(port),
      ROUTER_METRICS_PORT: String(routerMetrics),
      AGGREGATOR_METRICS_PORT: String(aggregatorMetrics),
      RAG_METRICS_PORT: String(ragMetrics),
      PGLITE_PORT: String(pglitePort),
      SHUTDOWN_GRACE_MS: String(GRACE_MS),
      NO_COLOR: "1",
    };
    delete env.DATABASE_URL; // exercise PGlite
    delete env.SWITCHYARD_BOOTSTRAP_KEY; // exercise key generation and the key file
    const proc = spawn(path.join(repoRoot, "node_modules", ".bin", "tsx"), ["scripts/start.ts"], { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] });
    launcher = proc;
    proc.stdout?.on("data", (d: Buffer) => (output += d.toString()));
    proc.stderr?.on("data", (d: Buffer) => (output += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.once("exit", (code, signal) => r({ code, signal })));

    await waitFor(async () => (/^ready$/m.test(output) ? true : undefined), { timeoutMs: 180_000, signal: abort.signal, what: `"ready"` }).catch(
      (err: Error) => {
        throw new Error(`${err.message}\n${tail(output)}`);
      },
    );
    const key = /bootstrap key\s+(sy_live_\S+)/.exec(output)?.[1];
    expect(key).toMatch(/^sy_live_[a-z0-9]+_[A-Za-z0-9]+$/);
    expect(statSync(path.join(dataDir, "bootstrap-key")).mode & 0o777).toBe(0o600);

    const base = `http://127.0.0.1:${port}`;
    const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
    const created = await fetch(`${base}/v1/jobs`, { method: "POST", headers, body: JSON.stringify({ messages: [{ role: "user", content: "hi" }] }) });
    expect(created.status).toBe(202);
    const { id } = (await created.json()) as { id: string };
    let last: { status?: string } = {};
    await waitFor(
      async () => {
        const res = await fetch(`${base}/v1/jobs/${id}`, { headers });
        last = (await res.json()) as { status?: string };
        if (last.status === "failed" || last.status === "canceled") throw new Error(`job ended ${JSON.stringify(last)}`);
        return last.status === "succeeded" ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 300, signal: abort.signal, what: `job ${id} to succeed` },
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last: ${JSON.stringify(last)}\n${tail(output)}`);
    });

    // Another client of the embedded database changes its own session as pg_dump does (search_path
    // emptied, a statement timeout) and leaves a transaction open: the apps are unaffected.
    const psql = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${pglitePort}/postgres` });
    psql.on("error", () => undefined);
    await psql.connect();
    await psql.query("SELECT pg_catalog.set_config('search_path', '', false)");
    await psql.query("SET statement_timeout = 1");
    const authed = await fetch(`${base}/v1/jobs/${id}`, { headers });
    expect(authed.status).toBe(200);
    expect((await fetch(`${base}/health/ready`)).status).toBe(200);
    await psql.query("BEGIN");
    await psql.query("SELECT 1");
    const t1 = Date.now();
    const during = await fetch(`${base}/admin/v1/audit?limit=1`, { headers }); // a read that needs Postgres
    expect(during.status).toBe(200);
    expect(Date.now() - t1).toBeLessThan(5000); // the open transaction is closed after the contended idle timeout (2 s)
    await expect(psql.query("SELECT 1")).rejects.toThrow();
    await psql.end().catch(() => undefined);

    const pids = childPids(output);
    // Four apps and PGlite at least (plus redis-server when none was running).
    expect(pids.length).toBeGreaterThanOrEqual(5);
    expect(pids.every(isPidAlive)).toBe(true);

    const t0 = Date.now();
    proc.kill("SIGINT");
    const result = await withTimeout(exited, GRACE_MS + 10_000, `launcher still running ${GRACE_MS + 10_000} ms after SIGINT\n${tail(output)}`);
    expect(result).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(GRACE_MS + 5_000);
    await sleep(200);
    expect(pids.filter(isPidAlive)).toEqual([]);
    expect(output).toMatch(/start\s+\| stopped/);
  }, 300_000);
});

/** Every pid the supervisor announced (`name | started (pid N)`). */
function childPids(out: string): number[] {
  return [...out.matchAll(/^\S+\s+\| started \(pid (\d+)\)$/gm)].map((m) => Number(m[1]));
}

function tail(out: string, lines = 60): string {
  return out.split("\n").slice(-lines).join("\n");
}
