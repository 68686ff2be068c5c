import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { freePort } from "./net";

const run = promisify(execFile);

export interface RedisCluster {
  /** `redis-cluster://127.0.0.1:p1,127.0.0.1:p2,…`, what the apps take as REDIS_URL. */
  url: string;
  ports: number[];
  /** `redis-cli -c` (cluster mode: follows redirects) through the first node. */
  cli(...args: string[]): Promise<string>;
  /** `redis-cli` against one node only. */
  node(port: number, ...args: string[]): Promise<string>;
  close(): Promise<void>;
}

/** A port whose cluster-bus twin (port + 10000) is free as well. */
async function clusterPort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const p = await freePort();
    if (p + 10000 > 65535) continue;
    const busFree = await new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once("error", () => resolve(false));
      s.listen(p + 10000, "127.0.0.1", () => s.close(() => resolve(true)));
    });
    if (busFree) return p;
  }
  throw new Error("no free port pair for a Redis Cluster node");
}

/**
 * A real Redis Cluster of `masters` nodes on loopback (Debian's redis-server in cluster mode,
 * no persistence), slots assigned by `redis-cli --cluster create`. Resolves once every node
 * reports `cluster_state:ok`.
 */
export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "sy-redis-cluster-"));
  const ports: number[] = [];
  const children: ChildProcess[] = [];
  const cli = async (port: number, ...args: string[]) => (await run("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args], { timeout: 30_000 })).stdout;
  const close = async () => {
    for (const c of children) c.kill("SIGKILL");
    await Promise.all(children.map(async (c) => (c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((r) => c.once("exit", r)))));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i++) {
      const port = await clusterPort();
      ports.push(port);
      const child = spawn(
        "redis-server",
        [
          "--port",
          String(port),
          "--bind",
          "127.0.0.1",
          "--cluster-enabled",
          "yes",
          "--cluster-config-file",
          path.join(dir, `nodes-${port}.conf`),
          "--cluster-node-timeout",
          "2000",
          "--save",
          "",
          "--appendonly",
          "no",
          "--dir",
          dir,
          "--logfile",
          path.join(dir, `${port}.log`),
        ],
        { stdio: "ignore" },
      );
      children.push(child);
    }
    const deadline = Date.now() + 15_000;
    for (const p of ports) {
      while ((await cli(p, "PING").catch(() => "")).trim() !== "PONG") {
        if (Date.now() > deadline) throw new Error(`redis-server on ${p} did not start (log in ${dir})`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    await run("redis-cli", ["--cluster", "create", ...ports.map((p) => `127.0.0.1:${p}`), "--cluster-replicas", "0", "--cluster-yes"], { timeout: 30_000 });
    for (const p of ports) {
      while (!(await cli(p, "CLUSTER", "INFO")).includes("cluster_state:ok")) {
        if (Date.now() > deadline + 15_000) throw new Error(`Redis Cluster node ${p} never reached cluster_state:ok`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { url: `redis-cluster://${ports.map((p) => `127.0.0.1:${p}`).join(",")}`, ports, cli: (...args) => cli(ports[0]!, "-c", ...args), node: cli, close };
}
