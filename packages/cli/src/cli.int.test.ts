import { UsageEvent } from "@switchyard/contracts";
import { createTenant, getDailyReport, ingestUsageEvents, UsagePartitions } from "@switchyard/db";
import { createTestDatabase, TEST_PG_ADMIN_URL, type TestDatabase } from "@switchyard/testkit";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { sql } from "kysely";
import pg from "pg";

const BIN = path.resolve(__dirname, "../bin/switchyard.js");
let t: TestDatabase;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `switchyard …` as a real child process through the bin shim; stdout/stderr are pipes, not a terminal. */
function switchyard(args: string[], env: Record<string, string | undefined>): Promise<Run> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: undefined, ...env };
  for (const k of Object.keys(childEnv)) if (childEnv[k] === undefined) delete childEnv[k];
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: childEnv, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const usage = (tenant_id: string, day: string, n: number, cost_usd: number, status: UsageEvent["status"] = "succeeded") =>
  UsageEvent.parse({
    job_id: `job_cli_${tenant_id}_${day}_${n}`,
    attempt: 1,
    tenant_id,
    deployment_id: `dep_${tenant_id}`,
    api_key_id: null,
    requested_model: "auto",
    served_model: "flash",
    provider: "simulated",
    status,
    input_tokens: 10 * n,
    output_tokens: n,
    cost_usd,
    provenance: "reported",
    ttft_ms: null,
    latency_ms: 100 * n,
    occurred_at: `${day}T12:00:00.000Z`,
  });

beforeAll(async () => {
  t = await createTestDatabase();
  for (const id of ["ten_one", "ten_two"]) await createTenant(t.db, { id, name: id, timezone: "UTC", billing_mode: "postpaid" }, { keyId: null });
  await t.db.updateTable("tenants").set({ created_at: "2026-01-01T00:00:00Z" }).execute();
  // ten_one: usage on the 1st and 3rd; ten_two: usage on the 2nd only. Nothing on the 4th.
  const events = [
    usage("ten_one", "2026-03-01", 1, 0.5),
    usage("ten_one", "2026-03-01", 2, 0.25, "failed"),
    usage("ten_one", "2026-03-03", 3, 0.125),
    usage("ten_two", "2026-03-02", 4, 1),
    usage("ten_two", "2026-03-04", 5, 2),
  ];
  await new UsagePartitions(t.db).ensureFor(events.map((e) => e.occurred_at));
  await ingestUsageEvents(t.db, events);
}, 60_000);
afterAll(async () => {
  await t?.drop();
});

test("reports backfill over 3 days prints n/N progress on stderr and writes 3 reports per tenant", async () => {
  const r = await switchyard(["reports", "backfill", "--from", "2026-03-01", "--to", "2026-03-03"], { DATABASE_URL: t.url });
  expect(r.stderr).toBe(
    ["1/3 2026-03-01 2 reports (1 with usage)", "2/3 2026-03-02 2 reports (1 with usage)", "3/3 2026-03-03 2 reports (1 with usage)", ""].join("\n"),
  );
  expect(r.stdout).toBe("backfilled 3 days 2026-03-01..2026-03-03: 6 reports (3 with usage)\n");
  expect(r.code).toBe(0);
  const rows = await t.db.selectFrom("daily_reports").select(["tenant_id", "date"]).orderBy("tenant_id").orderBy("date").execute();
  expect(rows.map((x) => x.tenant_id)).toEqual(["ten_one", "ten_one", "ten_one", "ten_two", "ten_two", "ten_two"]);
  const one = (await getDailyReport(t.db, "ten_one", "2026-03-01"))!.report;
  // Two requests: 10+1 and 20+2 tokens, $0.75, latencies 100 and 200, one failed.
  expect(one.totals).toEqual({ total_requests: 2, total_tokens: 33, total_cost: 0.75, avg_error_rate: 0.5 });
  expect(one.deployments).toEqual([
    expect.objectContaining({ deployment_id: "dep_ten_one", avg_latency_ms: 150, error_rate: 0.5, top_models: [{ model: "flash", usage: 2 }] }),
  ]);
  expect((await getDailyReport(t.db, "ten_one", "2026-03-02"))!.report.deployments).toEqual([]);
  expect((await getDailyReport(t.db, "ten_two", "2026-03-02"))!.report.totals.total_cost).toBe(1);
  expect(await getDailyReport(t.db, "ten_two", "2026-03-04")).toBeUndefined();
}, 60_000);

test("--json prints one JSON document on stdout; re-running replaces rather than adds", async () => {
  const r = await switchyard(["reports", "backfill", "--from=2026-03-02", "--to=2026-03-04", "--json"], { DATABASE_URL: t.url });
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout)).toEqual({
    from: "2026-03-02",
    to: "2026-03-04",
    days: [
      { date: "2026-03-02", reports: 2, with_usage: 1 },
      { date: "2026-03-03", reports: 2, with_usage: 1 },
      { date: "2026-03-04", reports: 2, with_usage: 1 },
    ],
    reports: 6,
    with_usage: 3,
  });
  expect(r.stderr.split("\n").filter(Boolean)).toHaveLength(3);
  const count = await t.db
    .selectFrom("daily_reports")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .executeTakeFirstOrThrow();
  expect(Number(count.n)).toBe(8); // 2 tenants × 4 days

  const g = await switchyard(["reports", "generate", "--date", "2026-03-04", "--tenant", "ten_two", "--json"], { DATABASE_URL: t.url });
  expect(g).toMatchObject({ code: 0, stdout: '{"date":"2026-03-04","reports":1,"with_usage":1}\n' });
  expect((await getDailyReport(t.db, "ten_two", "2026-03-04"))!.report.totals.total_tokens).toBe(55);
}, 60_000);

test("failures: an unknown tenant is exit 1, a bad date exit 2 naming the flag, no DATABASE_URL exit 2", async () => {
  const unknown = await switchyard(["reports", "generate", "--date", "2026-03-01", "--tenant", "ten_nobody"], { DATABASE_URL: t.url });
  expect(unknown.code).toBe(1);
  expect(unknown.stderr).toBe("switchyard: no tenant ten_nobody (and no usage for it on 2026-03-01)\n");
  const bad = await switchyard(["reports", "backfill", "--from", "2026-03-01", "--to", "2026-02-30"], { DATABASE_URL: t.url });
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('--to must be a calendar day YYYY-MM-DD, got "2026-02-30"');
  const noDb = await switchyard(["migrate"], {});
  expect(noDb.code).toBe(2);
  expect(noDb.stderr).toContain("DATABASE_URL is not set");
}, 60_000);

test("migrate brings an empty database to the latest schema, then has nothing to do", async () => {
  const name = `sy_test_cli_${randomBytes(5).toString("hex")}`;
  const admin = new pg.Client({ connectionString: TEST_PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  try {
    const u = new URL(TEST_PG_ADMIN_URL);
    u.pathname = `/${name}`;
    const first = await switchyard(["migrate", "--json"], { DATABASE_URL: u.toString() });
    expect(first.code).toBe(0);
    const applied = (JSON.parse(first.stdout) as { applied: string[] }).applied;
    expect(applied.slice(0, 3)).toEqual(["0001-initial", "0002-tenancy", "0003-ledger"]);
    const again = await switchyard(["migrate"], { DATABASE_URL: u.toString() });
    expect(again).toMatchObject({ code: 0, stdout: "database is up to date\n" });
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}, 60_000);

test("backup then restore into a freshly migrated database: the same rows; a second restore and a bad folder fail with exit 1", async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "sy-cli-backup-"));
  const target = await createTestDatabase();
  try {
    const made = await switchyard(["backup", dir, "--json"], { DATABASE_URL: t.url });
    expect(made.code).toBe(0);
    const manifest = JSON.parse(made.stdout) as { tables: Array<{ name: string; rows: number }> };
    const tenants = manifest.tables.find((x) => x.name === "tenants")!;
    expect(tenants.rows).toBeGreaterThanOrEqual(2);
    expect(manifest.tables.find((x) => x.name === "usage_events")!.rows).toBe(5);
    const restored = await switchyard(["restore", dir], { DATABASE_URL: target.url });
    expect(restored).toMatchObject({ code: 0, stdout: expect.stringMatching(/^restored \d+ tables, \d+ rows, from /) });
    const count = async (db: typeof t.db) => Number((await sql<{ n: string }>`SELECT count(*)::text AS n FROM usage_events`.execute(db)).rows[0]!.n);
    expect(await count(target.db)).toBe(5);
    const again = await switchyard(["restore", dir], { DATABASE_URL: target.url });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/empty database/);
    expect((await switchyard(["backup", dir], { DATABASE_URL: t.url })).stderr).toMatch(/already holds a backup/);
    expect((await switchyard(["restore"], { DATABASE_URL: target.url })).code).toBe(2);
  } finally {
    await target.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
