/**
 * Checks that the embedded Postgres (scripts/pglite-server.ts) serves several processes at once:
 * starts a PGlite server on a free port with a throw-away data folder, then two worker processes,
 * each with a `pg` Pool (max 5), that concurrently run transactions (commit and rollback) against a
 * shared partitioned table, create their own partitioned table, run parameterised echo queries
 * (which would expose requests of one connection answered on another) and, when available, a
 * pgvector distance query. Prints what each worker saw and exits non-zero on any mismatch.
 *
 * Run: `tsx scripts/pglite-check.ts` (`PGLITE_CHECK_ITERATIONS`, default 40 per connection).
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { envInteger } from "./lib/env-values";
import { freePort } from "./lib/free-port";
import { resolvePostgres } from "./lib/resolve-postgres";
import { tsxCommand } from "./lib/tsx-command";
import { Supervisor } from "./lib/supervisor";

const LANES = 5;

/** What one worker process reports (its last stdout line, as JSON). */
interface WorkerReport {
  worker: string;
  commits: number;
  rollbacks: number;
  echoes: number;
  mismatches: string[];
  errors: string[];
  ownTableRows: number;
  vector: boolean;
  ms: number;
}

const DAY = 86_400_000;

async function worker(name: string, url: string, iterations: number): Promise<WorkerReport> {
  // query_timeout: a desynchronised connection shows up as an error instead of a hang.
  const pool = new pg.Pool({ connectionString: url, max: LANES, query_timeout: 10_000 });
  const r: WorkerReport = { worker: name, commits: 0, rollbacks: 0, echoes: 0, mismatches: [], errors: [], ownTableRows: 0, vector: false, ms: 0 };
  const t0 = Date.now();
  const own = `own_${name}`;
  await pool.query(`CREATE TABLE ${own} (id int, at date, note text) PARTITION BY RANGE (at)`);
  await pool.query(`CREATE TABLE ${own}_a PARTITION OF ${own} FOR VALUES FROM ('2020-01-01') TO ('2030-01-01')`);
  await pool.query(`CREATE TABLE ${own}_b PARTITION OF ${own} FOR VALUES FROM ('2030-01-01') TO ('2040-01-01')`);
  r.vector = (await pool.query("SELECT 1 FROM pg_extension WHERE extname = 'vector'")).rowCount === 1;

  const lane = async (laneNo: number) => {
    for (let i = 0; i < iterations; i++) {
      const n = laneNo * 100_000 + i;
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        // Alternate months so rows land in both partitions.
        const at = new Date(Date.UTC(2026, i % 2 === 0 ? 0 : 1, 1 + (i % 28)) + (laneNo * DAY) / 10);
        await client.query("INSERT INTO check_events (worker, n, created_at) VALUES ($1, $2, $3)", [name, n, at]);
        await client.query("UPDATE check_counter SET v = v + 1 WHERE k = $1", [name]);
        const seen = await client.query<{ c: string }>("SELECT count(*)::text AS c FROM check_events WHERE worker = $1 AND n = $2", [name, n]);
        if (seen.rows[0]?.c !== "1") r.mismatches.push(`tx ${n}: own insert not visible (count ${seen.rows[0]?.c})`);
        if (i % 5 === 4) {
          await client.query("ROLLBACK");
          r.rollbacks++;
        } else {
          await client.query("COMMIT");
          r.commits++;
        }
      } catch (err) {
        r.errors.push(`tx ${n}: ${(err as Error).message}`);
        await client.query("ROLLBACK").catch(() => undefined);
      } finally {
        client.release();
      }
      try {
        const echo = await pool.query<{ a: string; b: number }>("SELECT $1::text AS a, $2::int AS b", [`${name}-${n}`, n]);
        if (echo.rows[0]?.a !== `${name}-${n}` || echo.rows[0]?.b !== n) r.mismatches.push(`echo ${n}: got ${JSON.stringify(echo.rows[0])}`);
        r.echoes++;
        await pool.query(`INSERT INTO ${own} VALUES ($1, $2, $3)`, [n, i % 2 === 0 ? "2025-06-01" : "2035-06-01", name]);
        if (r.vector) {
          const d = await pool.query<{ d: number }>("SELECT ($1::vector <-> $2::vector) AS d", [`[${n},0,0]`, `[${n},3,4]`]);
          if (d.rows[0]?.d !== 5) r.mismatches.push(`vector ${n}: distance ${d.rows[0]?.d}`);
        }
      } catch (err) {
        r.errors.push(`query ${n}: ${(err as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: LANES }, (_, l) => lane(l)));
  const parts = await pool.query<{ c: string }>(`SELECT count(*)::text AS c FROM ${own}_a UNION ALL SELECT count(*)::text FROM ${own}_b`);
  r.ownTableRows = parts.rows.reduce((s, row) => s + Number(row.c), 0);
  if (parts.rows.some((row) => row.c === "0")) r.mismatches.push(`${own}: a partition is empty`);
  r.ms = Date.now() - t0;
  await pool.end();
  return r;
}

async function main(): Promise<void> {
  const iterations = envInteger(process.env, "PGLITE_CHECK_ITERATIONS", 40, 1);
  const dir = mkdtempSync(path.join(os.tmpdir(), "pglite-check-"));
  const supervisor = new Supervisor();
  const port = await freePort();
  const problems: string[] = [];
  const { url, child } = await resolvePostgres({ env: { ...process.env, DATABASE_URL: "", PGLITE_PORT: String(port) }, dataDir: dir, supervisor });
  try {
    const setup = new pg.Client({ connectionString: url });
    await setup.connect();
    await setup.query(`CREATE TABLE check_events (id bigserial, worker text NOT NULL, n int NOT NULL, created_at timestamptz NOT NULL,
      PRIMARY KEY (id, created_at)) PARTITION BY RANGE (created_at)`);
    await setup.query("CREATE TABLE check_events_2026_01 PARTITION OF check_events FOR VALUES FROM ('2026-01-01') TO ('2026-02-01')");
    await setup.query("CREATE TABLE check_events_2026_02 PARTITION OF check_events FOR VALUES FROM ('2026-02-01') TO ('2026-03-01')");
    await setup.query("CREATE TABLE check_counter (k text PRIMARY KEY, v int NOT NULL)");
    await setup.query("INSERT INTO check_counter VALUES ('w1', 0), ('w2', 0)");

    const { command, args } = tsxCommand(__filename);
    const reports = await Promise.all(
      ["w1", "w2"].map(async (name) => {
        const w = supervisor.spawn({ name, command, args: [...args, "--worker", name, url, String(iterations)] });
        const m = await w.waitForLine(/^REPORT (.*)$/, 300_000);
        const exit = await w.exited;
        if (exit.code !== 0) problems.push(`${name} exited with ${String(exit.code)}`);
        return JSON.parse(m[1] ?? "{}") as WorkerReport;
      }),
    );
    for (const r of reports) {
      const rows = await setup.query<{ c: string }>("SELECT count(*)::text AS c FROM check_events WHERE worker = $1", [r.worker]);
      const counter = await setup.query<{ v: number }>("SELECT v FROM check_counter WHERE k = $1", [r.worker]);
      console.log(
        `${r.worker}: ${r.commits} commits, ${r.rollbacks} rollbacks, ${r.echoes} echoes, ${r.ownTableRows} rows in its own partitioned table, vector ${r.vector ? "checked" : "absent"}, ${r.ms} ms; ` +
          `rows committed ${rows.rows[0]?.c}, counter ${counter.rows[0]?.v}`,
      );
      if (Number(rows.rows[0]?.c) !== r.commits) problems.push(`${r.worker}: ${rows.rows[0]?.c} rows but ${r.commits} commits`);
      if (counter.rows[0]?.v !== r.commits) problems.push(`${r.worker}: counter ${counter.rows[0]?.v} but ${r.commits} commits`);
      problems.push(...r.mismatches.map((x) => `${r.worker}: ${x}`), ...r.errors.map((x) => `${r.worker}: ${x}`));
    }
    const parts = await setup.query<{ p: string; c: string }>(
      "SELECT tableoid::regclass::text AS p, count(*)::text AS c FROM check_events GROUP BY 1 ORDER BY 1",
    );
    console.log(`partitions: ${parts.rows.map((p) => `${p.p}=${p.c}`).join(", ")}`);
    await setup.end();
  } finally {
    await child?.stop(10_000);
    rmSync(dir, { recursive: true, force: true });
  }
  if (problems.length > 0) {
    console.log(`FAILED (${problems.length} problems):\n  ${problems.slice(0, 30).join("\n  ")}`);
    process.exit(1);
  }
  console.log("OK: two processes shared PGlite concurrently");
}

if (process.argv[2] === "--worker") {
  const [name = "w", url = "", iterations = "40"] = process.argv.slice(3);
  worker(name, url, Number(iterations)).then(
    (r) => console.log(`REPORT ${JSON.stringify(r)}`),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
