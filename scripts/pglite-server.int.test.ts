/**
 * scripts/pglite-server.ts as a real process: several clients at once (the multiplexer), recovery
 * from clients that vanish or idle inside a transaction, the connection limit, the data-folder
 * lock, clean SIGTERM, persistence across restarts, and the two-process check script.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { freePort } from "./lib/free-port";
import { repoRoot } from "./lib/paths";
import { Supervisor, type SupervisedChild } from "./lib/supervisor";
import { tsxCommand } from "./lib/tsx-command";
import { sleep } from "./lib/wait-for";

const MAX_CONNECTIONS = 12;

describe("pglite-server", () => {
  let dir: string;
  let server: SupervisedChild;
  let url: string;
  let output = "";
  const clients: pg.Client[] = [];
  const supervisor = new Supervisor({ write: (t) => (output += t), color: false });

  const start = async (extraEnv: NodeJS.ProcessEnv = {}) => {
    const port = await freePort();
    const { command, args } = tsxCommand(path.join(repoRoot, "scripts", "pglite-server.ts"));
    const child = supervisor.spawn({
      name: "pglite",
      command,
      args,
      env: {
        ...process.env,
        PGLITE_PORT: String(port),
        PGLITE_DATA_DIR: path.join(dir, "pglite"),
        PGLITE_MAX_CONNECTIONS: String(MAX_CONNECTIONS),
        PGLITE_IDLE_IN_TRANSACTION_TIMEOUT_MS: "1500",
        PGLITE_CONTENDED_IDLE_TIMEOUT_MS: "800",
        PGLITE_DEBUG: "1",
        ...extraEnv,
      },
    });
    return { child, port };
  };
  const connect = async () => {
    const c = new pg.Client({ connectionString: url });
    c.on("error", () => undefined); // expected when the server closes a connection
    await c.connect();
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "pglite-server-"));
    const { child } = await start();
    server = child;
    const m = await server.waitForLine(/^pglite ready on (\S+):(\d+) .*vector on/, 120_000);
    url = `postgres://postgres@${m[1]}:${m[2]}/postgres`;
    const c = await connect();
    await c.query("CREATE TABLE t (id int PRIMARY KEY, v text)");
  }, 130_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    await supervisor.stopAll(supervisor.children, 5000);
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it("answers each connection's parameterised queries with its own results, around transactions", async () => {
    const pool = new pg.Pool({ connectionString: url, max: 8, query_timeout: 10_000 });
    pool.on("error", () => undefined); // a desynchronised connection must fail the assertions, not crash jest
    const wrong: string[] = [];
    await Promise.all(
      Array.from({ length: 400 }, async (_, i) => {
        try {
          if (i % 4 === 0) {
            const c = await pool.connect();
            try {
              await c.query("BEGIN");
              await c.query("INSERT INTO t VALUES ($1, $2)", [1000 + i, `tx${i}`]);
              await c.query("COMMIT");
            } finally {
              c.release();
            }
            return;
          }
          // Different statements and parameter counts, so a Bind or Execute that reached another
          // connection's unnamed statement or portal shows up as an error or a wrong row.
          const k = (i % 3) + 1;
          const r =
            i % 2 === 0
              ? await pool.query<{ a: string; b: number }>(`SELECT $1::text AS a, $2::int * ${k} AS b`, [`q${i}`, i])
              : await pool.query<{ a: string; b: number }>(`SELECT $1::text || $2::text AS a, $3::int * ${k} AS b`, ["q", String(i), i]);
          if (r.rows[0]?.a !== `q${i}` || r.rows[0]?.b !== i * k) wrong.push(`${i}: ${JSON.stringify(r.rows)}`);
        } catch (err) {
          wrong.push(`${i}: ${(err as Error).message}`);
        }
      }),
    );
    const committed = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM t WHERE id >= 1000");
    await pool.end();
    expect(wrong).toEqual([]);
    expect(committed.rows[0]?.n).toBe(100);
    await (await connect()).query("DELETE FROM t WHERE id >= 1000");
  }, 60_000);

  it("keeps a transaction to itself until COMMIT", async () => {
    const [a, b] = [await connect(), await connect()];
    await a.query("BEGIN");
    await a.query("INSERT INTO t VALUES (1, 'a')");
    let bDone = false;
    const bRead = b.query<{ n: number }>("SELECT count(*)::int AS n FROM t").then((r) => {
      bDone = true;
      return r.rows[0]?.n;
    });
    await sleep(300);
    expect(bDone).toBe(false); // queued behind a's transaction, not run inside it
    await a.query("COMMIT");
    await expect(bRead).resolves.toBe(1);
  });

  it("rolls back and hands over when a client disconnects mid-transaction", async () => {
    const [a, b] = [await connect(), await connect()];
    await a.query("BEGIN");
    await a.query("INSERT INTO t VALUES (2, 'lost')");
    const waiting = b.query<{ n: number }>("SELECT count(*)::int AS n FROM t WHERE id = 2");
    (a as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    await expect(waiting).resolves.toMatchObject({ rows: [{ n: 0 }] });
    expect(output).toMatch(/closed while holding the session; recovered/);
  });

  it("closes a client idle in a transaction so the others are not stalled forever", async () => {
    const [a, b] = [await connect(), await connect()];
    await a.query("BEGIN");
    await a.query("INSERT INTO t VALUES (3, 'idle')");
    const t0 = Date.now();
    const r = await b.query<{ n: number }>("SELECT count(*)::int AS n FROM t WHERE id = 3");
    expect(r.rows[0]?.n).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(600);
    await expect(a.query("SELECT 1")).rejects.toThrow();
    expect(output).toMatch(/idle in transaction for 800 ms/); // b waiting: the contended limit
  });

  it("keeps each client's session settings to itself: search_path, statement_timeout, set_config (pg_dump's) and temp tables", async () => {
    const [a, b] = [await connect(), await connect()];
    await a.query("SET search_path = ''");
    await a.query("SET statement_timeout = 50");
    await a.query("SELECT pg_catalog.set_config('application_name', 'dumper', false)");
    await a.query("CREATE TEMP TABLE scratch (x int)");
    // b sees a fresh session: unqualified names resolve, no timeout, its own application_name.
    await expect(b.query<{ n: number }>("SELECT count(*)::int AS n FROM t")).resolves.toMatchObject({ rows: [{ n: expect.any(Number) }] });
    expect((await b.query<{ statement_timeout: string }>("SHOW statement_timeout")).rows[0]?.statement_timeout).toBe("0");
    expect((await b.query<{ v: string }>("SELECT current_setting('application_name') AS v")).rows[0]?.v).not.toBe("dumper");
    await expect(b.query("SELECT * FROM scratch")).rejects.toThrow(/scratch/);
    // a gets its settings back when it runs again (its temp table is not kept).
    expect((await a.query<{ search_path: string }>("SHOW search_path")).rows[0]?.search_path).toBe('""');
    expect((await a.query<{ statement_timeout: string }>("SHOW statement_timeout")).rows[0]?.statement_timeout).toBe("50ms");
    expect((await a.query<{ v: string }>("SELECT current_setting('application_name') AS v")).rows[0]?.v).toBe("dumper");
    await expect(a.query("SELECT count(*) FROM t")).rejects.toThrow(/does not exist/);
    await a.query("RESET ALL");
    await expect(b.query("SELECT count(*) FROM t")).resolves.toBeDefined();
    expect(output).toMatch(/session state reset before conn/);
  });

  it("a forgotten BEGIN stalls the others only briefly once they wait (contended idle timeout)", async () => {
    const [a, b] = [await connect(), await connect()];
    await a.query("BEGIN");
    await a.query("INSERT INTO t VALUES (4, 'forgotten')");
    await sleep(100);
    const t0 = Date.now();
    const r = await b.query<{ n: number }>("SELECT count(*)::int AS n FROM t WHERE id = 4");
    expect(r.rows[0]?.n).toBe(0);
    expect(Date.now() - t0).toBeLessThan(1400); // PGLITE_CONTENDED_IDLE_TIMEOUT_MS=800 here
    await expect(a.query("SELECT 1")).rejects.toThrow();
  });

  it("refuses connections past the limit with a Postgres error", async () => {
    await Promise.all(clients.splice(0).map((c) => c.end().catch(() => undefined)));
    await sleep(200);
    const held: pg.Client[] = [];
    for (let i = 0; i < MAX_CONNECTIONS; i++) held.push(await connect());
    const extra = new pg.Client({ connectionString: url });
    extra.on("error", () => undefined);
    await expect(extra.connect()).rejects.toThrow(/too many clients/);
    await Promise.all(held.map((c) => c.end()));
  });

  it("refuses a second server on the same data folder, stops cleanly on SIGTERM, and keeps the data", async () => {
    const second = await start();
    await expect(second.child.waitForLine(/ready on/, 60_000)).rejects.toThrow(/exited/);
    expect((await second.child.exited).code).toBe(1);
    expect(output).toMatch(/pglite\.lock is held by running process/);

    await Promise.all(clients.splice(0).map((c) => c.end().catch(() => undefined)));
    const exit = await server.stop(10_000);
    expect(exit).toMatchObject({ code: 0, signal: null });

    const again = await start();
    const m = await again.child.waitForLine(/^pglite ready on (\S+):(\d+)/, 120_000);
    url = `postgres://postgres@${m[1]}:${m[2]}/postgres`;
    const c = await connect();
    const rows = await c.query<{ id: number }>("SELECT id FROM t ORDER BY id");
    expect(rows.rows.map((r) => r.id)).toEqual([1]);
  }, 180_000);

  it("passes the two-process check (pg pools, transactions, partitioned tables, pgvector)", () => {
    const { command, args } = tsxCommand(path.join(repoRoot, "scripts", "pglite-check.ts"));
    const r = spawnSync(command, args, { env: { ...process.env, PGLITE_CHECK_ITERATIONS: "20" }, encoding: "utf8", timeout: 170_000 });
    expect(`${r.stdout}${r.stderr}`).toMatch(/OK: two processes shared PGlite concurrently/);
    expect(r.status).toBe(0);
  }, 180_000);
});
