import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from "node:fs";
import path from "node:path";
import { sql, type Kysely } from "kysely";
import type { Database } from "./schema";

/** Where {@link archiveAudit} may be interrupted in tests (a process would die there). */
export type AuditArchiveFaultPoint = "archive.written";

/**
 * Move audit rows older than `before` out of Postgres into JSON Lines files in `dir`, oldest
 * first, `batch` rows per file named by their id range (`audit-<first>-<last>.jsonl`, ids
 * zero-padded so the names sort). Each file is written to a temporary name, fsynced and renamed
 * before its rows are deleted, so a crash between the two leaves the rows in place and the next
 * run writes the very same file again (the oldest rows and the batch size decide its range):
 * every row ends in exactly one file and is deleted only once it is on disk. Rows are as
 * `row_to_json` renders them (times in UTC). Returns the rows archived and the files written.
 */
export async function archiveAudit(
  db: Kysely<Database>,
  o: { before: Date; dir: string; batch?: number; maxBatches?: number; fault?: (point: AuditArchiveFaultPoint) => void },
): Promise<{ archived: number; files: string[] }> {
  mkdirSync(o.dir, { recursive: true });
  const batch = o.batch ?? 1000;
  const files: string[] = [];
  let archived = 0;
  for (let n = 0; n < (o.maxBatches ?? 100); n++) {
    const rows = await db.transaction().execute(async (trx) => {
      await sql`SET LOCAL TimeZone = 'UTC'`.execute(trx);
      return (
        await sql<{ id: string; j: string }>`
        SELECT a.id::text AS id, row_to_json(a)::text AS j FROM audit_log a
         WHERE a.created_at < ${o.before} ORDER BY a.id LIMIT ${batch}`.execute(trx)
      ).rows;
    });
    if (rows.length === 0) break;
    const first = rows[0]!.id;
    const last = rows.at(-1)!.id;
    const name = `audit-${first.padStart(20, "0")}-${last.padStart(20, "0")}.jsonl`;
    const tmp = path.join(o.dir, `.${name}.tmp`);
    const fd = openSync(tmp, "w");
    try {
      writeSync(fd, rows.map((r) => `${r.j}\n`).join(""));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path.join(o.dir, name));
    o.fault?.("archive.written");
    await sql`DELETE FROM audit_log WHERE id >= ${first}::bigint AND id <= ${last}::bigint AND created_at < ${o.before}`.execute(db);
    files.push(name);
    archived += rows.length;
    if (rows.length < batch) break;
  }
  return { archived, files };
}
