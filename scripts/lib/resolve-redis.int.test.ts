import { existsSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { freePort } from "./free-port";
import { findOnPath, NoRedisError, pingRedis, resolveRedis } from "./resolve-redis";
import { Supervisor } from "./supervisor";

const redisServer = findOnPath("redis-server");

describe("resolveRedis", () => {
  let dir: string;
  let output = "";
  const supervisor = new Supervisor({ write: (t) => (output += t), color: false });

  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), "resolve-redis-"))));
  afterEach(async () => {
    await supervisor.stopAll(supervisor.children, 5000);
    rmSync(dir, { recursive: true, force: true });
  });

  it("uses REDIS_URL as given, without probing", async () => {
    const r = await resolveRedis({ env: { REDIS_URL: "redis://elsewhere:1234/2" }, dataDir: dir, supervisor, which: () => undefined });
    expect(r).toEqual({ url: "redis://elsewhere:1234/2", source: "env" });
  });

  it("uses a Redis already answering PING on the local port", async () => {
    // A stand-in that speaks just enough RESP, so this does not depend on the machine's Redis.
    const fake = net.createServer((s) => s.on("data", () => s.write("+PONG\r\n")));
    await new Promise<void>((r) => fake.listen(0, "127.0.0.1", () => r()));
    const port = (fake.address() as net.AddressInfo).port;
    try {
      const r = await resolveRedis({ env: {}, dataDir: dir, supervisor, localPort: port, which: () => undefined });
      expect(r).toEqual({ url: `redis://127.0.0.1:${port}`, source: "local" });
    } finally {
      fake.close();
    }
  });

  it("does not take a port that answers something other than +PONG for Redis", async () => {
    const other = net.createServer((s) => s.on("data", () => s.write("-NOAUTH Authentication required.\r\n")));
    await new Promise<void>((r) => other.listen(0, "127.0.0.1", () => r()));
    const port = (other.address() as net.AddressInfo).port;
    try {
      expect(await pingRedis(port)).toBe(false);
    } finally {
      other.close();
    }
  });

  it("fails with instructions when there is no Redis and no redis-server", async () => {
    const unused = await freePort();
    const err = await resolveRedis({ env: {}, dataDir: dir, supervisor, localPort: unused, which: () => undefined }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoRedisError);
    const msg = (err as Error).message;
    for (const hint of ["apt-get install redis-server", "brew install redis", "docker compose -f infra/docker-compose.yml up"]) expect(msg).toContain(hint);
  });

  (redisServer ? it : it.skip)(
    "starts redis-server from PATH with its data in the data folder, and stops it",
    async () => {
      const [unused, port] = [await freePort(), await freePort()];
      const r = await resolveRedis({ env: { EMBEDDED_REDIS_PORT: String(port) }, dataDir: dir, supervisor, localPort: unused });
      expect(r).toMatchObject({ url: `redis://127.0.0.1:${port}`, source: "embedded" });
      expect(await pingRedis(port)).toBe(true);
      expect(existsSync(path.join(dir, "redis"))).toBe(true);
      expect(output).toMatch(/^redis\s+\| started \(pid \d+\)$/m);
      const exit = await r.child?.stop(5000);
      expect(exit?.signal).toBeNull(); // it exits on SIGTERM by itself, after saving
      expect(await pingRedis(port)).toBe(false);
      // appendonly yes: the AOF lives under the data folder.
      expect(existsSync(path.join(dir, "redis", "appendonlydir"))).toBe(true);
    },
    30_000,
  );
});
