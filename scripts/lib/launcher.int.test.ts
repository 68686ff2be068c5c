/**
 * The launcher's process handling with stand-in apps written to a temp folder (the real apps are
 * covered by scripts/start.int.test.ts): env and ports handed out, the ready check, the bootstrap
 * key file, ordered shutdown with SIGKILL after the grace, and stopping everything when an app dies.
 * Postgres is the real embedded PGlite; Redis whatever resolveRedis finds.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { freePorts, isPortOpen } from "./free-port";
import { Launcher } from "./launcher";
import { isPidAlive } from "./pid-lock";
import { Supervisor } from "./supervisor";
import { waitFor } from "./wait-for";

const FAKE_APP = `
const http = require("node:http");
const path = require("node:path");
const name = path.basename(path.resolve(__dirname, ".."));
const port = Number(name === "gateway" ? process.env.PORT : process.env.METRICS_PORT);
const server = http.createServer((req, res) => {
  res.writeHead(200, { "content-type": "application/json" });
  const e = process.env;
  res.end(JSON.stringify({ name, url: req.url, DATABASE_URL: e.DATABASE_URL, REDIS_URL: e.REDIS_URL, PORT: e.PORT, METRICS_PORT: e.METRICS_PORT, PASS: e.FAKE_PASS_THROUGH }));
});
server.listen(port, "127.0.0.1", () => console.log(name + " listening on " + port));
process.on("SIGTERM", () => {
  if (process.env.FAKE_STUBBORN === name) return console.log("ignoring SIGTERM");
  console.log("bye");
  process.exit(0);
});
if (process.env.FAKE_CRASH === name) setTimeout(() => { console.error("boom"); process.exit(3); }, 1500);
`;
const APPS = ["gateway", "router-worker", "rag-worker", "usage-aggregator"];
const KEY = /^sy_live_[a-z0-9]{20}_[A-Za-z0-9]{40}$/;
let counter = 0;

describe("Launcher with stand-in apps", () => {
  let root: string;
  let appsDir: string;
  let dataDir: string;

  beforeAll(() => {
    root = mkdtempSync(path.join(os.tmpdir(), "launcher-"));
    appsDir = path.join(root, "apps");
    dataDir = path.join(root, "data");
    for (const app of APPS) {
      mkdirSync(path.join(appsDir, app, "src"), { recursive: true });
      writeFileSync(path.join(appsDir, app, "src", "main.ts"), FAKE_APP);
    }
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  async function launch(extraEnv: NodeJS.ProcessEnv) {
    const [port, r, a, g, pglitePort] = await freePorts(5);
    let output = "";
    const printed: string[] = [];
    const seeded: string[] = [];
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      SWITCHYARD_DATA_DIR: dataDir,
      PORT: String(port),
      ROUTER_METRICS_PORT: String(r),
      AGGREGATOR_METRICS_PORT: String(a),
      RAG_METRICS_PORT: String(g),
      PGLITE_PORT: String(pglitePort),
      SHUTDOWN_GRACE_MS: "1000",
      FAKE_PASS_THROUGH: "yes",
      ...extraEnv,
    };
    delete env.DATABASE_URL;
    delete env.SWITCHYARD_BOOTSTRAP_KEY;
    const launcher = new Launcher({
      env,
      appsDir,
      supervisor: new Supervisor({ write: (t) => (output += t), color: false }),
      print: (line) => printed.push(line),
      isValidKey: (k) => KEY.test(k),
      generateKey: () => `sy_live_${"k".repeat(19)}${counter++}_${"S".repeat(40)}`,
      prepareDatabase: async (url, key) => {
        const c = new pg.Client({ connectionString: url });
        await c.connect();
        await c.query("CREATE TABLE IF NOT EXISTS seeded (key text)");
        await c.query("INSERT INTO seeded VALUES ($1)", [key]);
        await c.end();
        seeded.push(key);
      },
    });
    const done = launcher.run();
    return {
      launcher,
      done,
      port: port as number,
      pglitePort: pglitePort as number,
      get output() {
        return output;
      },
      printed,
      seeded,
    };
  }

  const pidsIn = (out: string) => [...out.matchAll(/^\S+\s+\| started \(pid (\d+)\)$/gm)].map((m) => Number(m[1]));

  it("starts the apps with their env, prints ready and the key, and stops in order (SIGKILL after the grace)", async () => {
    const run = await launch({ FAKE_STUBBORN: "router-worker" });
    await waitFor(async () => (run.printed.includes("ready") ? true : undefined), { timeoutMs: 120_000, what: "ready" });
    const key = readFileSync(path.join(dataDir, "bootstrap-key"), "utf8").trim();
    expect(run.seeded).toEqual([key]);
    expect(run.printed.join("\n")).toContain(`bootstrap key   ${key}`);

    const seen = (await (await fetch(`http://127.0.0.1:${run.port}/health/ready`)).json()) as Record<string, string>;
    expect(seen).toMatchObject({
      name: "gateway",
      PORT: String(run.port),
      PASS: "yes",
      DATABASE_URL: `postgres://postgres@127.0.0.1:${run.pglitePort}/postgres`,
    });
    expect(seen.REDIS_URL).toMatch(/^redis:\/\//);

    const pids = pidsIn(run.output);
    expect(pids).toHaveLength(APPS.length + (run.output.includes("redis-server started by us") ? 2 : 1));
    // "ready" means the gateway answers; the stubborn stand-in ignores SIGTERM only once it has
    // loaded (on a loaded machine that can come later), so stop once every app said it listens.
    await waitFor(async () => (APPS.every((a) => run.output.includes(`${a} listening on`)) ? true : undefined), {
      timeoutMs: 60_000,
      what: "every stand-in app listening",
    });
    run.launcher.requestStop("SIGINT");
    await expect(run.done).resolves.toBe(0);
    expect(pids.filter(isPidAlive)).toEqual([]);
    expect(run.output).toMatch(/router-worker did not stop within 1000 ms; killed/);
    expect(run.output).not.toMatch(/gateway did not stop/);
    // Apps before infrastructure: every app's goodbye precedes PGlite's.
    expect(run.output.lastIndexOf("| bye")).toBeLessThan(run.output.indexOf("pglite stopping"));
    expect(await isPortOpen(run.pglitePort)).toBe(false);
  }, 180_000);

  it("reuses the saved key, and stops everything with a failure when an app dies", async () => {
    const saved = readFileSync(path.join(dataDir, "bootstrap-key"), "utf8").trim();
    const run = await launch({ FAKE_CRASH: "rag-worker" });
    await expect(run.done).resolves.toBe(1);
    expect(run.seeded).toEqual([saved]);
    expect(run.output).toMatch(/rag-worker \(pid \d+\) exited unexpectedly \(code 3\); stopping everything/);
    expect(pidsIn(run.output).filter(isPidAlive)).toEqual([]);
  }, 180_000);

  it("refuses to start when an app's port is taken, starting nothing", async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", () => r()));
    const taken = (blocker.address() as net.AddressInfo).port;
    try {
      const run = await launch({ RAG_METRICS_PORT: String(taken) });
      await expect(run.done).resolves.toBe(1);
      expect(run.output).toMatch(new RegExp(`ports already in use: ${taken} \\(rag-worker; set RAG_METRICS_PORT\\)`));
      expect(pidsIn(run.output)).toEqual([]);
    } finally {
      blocker.close();
    }
  });
});
