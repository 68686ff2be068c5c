import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createTestDatabase, startStack, waitFor, type TestDatabase } from "@switchyard/testkit";
import { sql, type Kysely } from "kysely";
import { archiveAudit } from "./audit-archive";
import type { Database } from "./schema";

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), "sy-audit-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function addRows(db: Kysely<Database>, n: number, ageMs: number, tag: string): Promise<void> {
  for (let i = 0; i < n; i++) {
    await sql`INSERT INTO audit_log (actor_key_id, tenant_id, action, target_type, target_id, after, created_at)
              VALUES (NULL, NULL, ${`test.${tag}`}, 'test', ${`${tag}-${i}`}, ${JSON.stringify({ i, note: "ünï ✓" })}::jsonb, ${new Date(Date.now() - ageMs)})`.execute(
      db,
    );
  }
}

const archivedIds = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith(".jsonl"))
    .sort()
    .flatMap((f) =>
      readFileSync(path.join(dir, f), "utf8")
        .trim()
        .split("\n")
        .map((l) => String((JSON.parse(l) as { id: number | string }).id)),
    );

describe("archiveAudit", () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(async () => {
    await t?.drop();
  });

  test("a crash between writing a file and deleting its rows loses and duplicates nothing", async () => {
    await addRows(t.db, 25, 3 * 86_400_000, "old");
    await addRows(t.db, 5, 1000, "new");
    const before = new Date(Date.now() - 86_400_000);
    const oldIds = (await sql<{ id: string }>`SELECT a.id::text AS id FROM audit_log a WHERE a.created_at < ${before} ORDER BY a.id`.execute(t.db)).rows.map(
      (r) => r.id,
    );
    expect(oldIds).toHaveLength(25);
    const dir = tmp();
    let written = 0;
    const crash = () => {
      if (++written === 2) throw new Error("killed at archive.written");
    };
    await expect(archiveAudit(t.db, { before, dir, batch: 10, fault: crash })).rejects.toThrow(/killed/);
    // The first batch is archived and gone; the second is on disk and still in the table.
    const left = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM audit_log WHERE created_at < ${before}`.execute(t.db)).rows[0]!.n;
    expect(left).toBe(15);
    const second = readdirSync(dir)
      .filter((f) => f.endsWith(".jsonl"))
      .sort()[1]!;
    const secondBefore = readFileSync(path.join(dir, second), "utf8");

    const done = await archiveAudit(t.db, { before, dir, batch: 10 });
    expect(done.archived).toBe(15);
    expect(readFileSync(path.join(dir, second), "utf8")).toBe(secondBefore); // the same file again, not a second copy
    expect(archivedIds(dir)).toEqual(oldIds); // every old row exactly once, in order
    const remaining = (await sql<{ action: string }>`SELECT action FROM audit_log WHERE action LIKE 'test.%'`.execute(t.db)).rows;
    expect(remaining.map((r) => r.action)).toEqual(Array(5).fill("test.new"));
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    // The archive keeps what the row held.
    const line = JSON.parse(readFileSync(path.join(dir, readdirSync(dir).sort()[0]!), "utf8").split("\n")[0]!);
    expect(line).toMatchObject({ action: "test.old", target_type: "test", after: { note: "ünï ✓" } });
    // Nothing left to do.
    expect((await archiveAudit(t.db, { before, dir, batch: 10 })).archived).toBe(0);
  });
});

test("the usage-aggregator's housekeeping archives audit rows past AUDIT_RETENTION_DAYS and counts them", async () => {
  const dir = tmp();
  const s = await startStack({ apps: ["usage-aggregator"], env: { AUDIT_RETENTION_DAYS: "2", AUDIT_ARCHIVE_DIR: dir, HOUSEKEEPING_EVERY_MS: "1000" } });
  try {
    await addRows(s.database.db, 3, 5 * 86_400_000, "stale");
    await addRows(s.database.db, 2, 60_000, "fresh");
    // The file is renamed into place just before its rows are deleted: wait for both.
    const actions = await waitFor(
      async () => {
        const rows = (await sql<{ action: string }>`SELECT action FROM audit_log WHERE action LIKE 'test.%' ORDER BY id`.execute(s.database.db)).rows.map(
          (r) => r.action,
        );
        return archivedIds(dir).length === 3 && rows.length === 2 ? rows : undefined;
      },
      20_000,
      "3 archived rows, gone from the table",
    );
    expect(actions).toEqual(["test.fresh", "test.fresh"]);
    const metrics = await (await fetch(`http://127.0.0.1:${s.apps.get("usage-aggregator")!.port}/metrics`)).text();
    expect(Number(/ai_audit_rows_archived_total (\d+)/.exec(metrics)?.[1])).toBe(3);
  } finally {
    await s.stop();
  }
}, 60_000);
