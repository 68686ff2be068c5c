import { FileObject, type FilePurpose } from "@switchyard/contracts";
import { sql, type Kysely, type Selectable } from "kysely";
import type { Database, FilesTable } from "./schema";

/**
 * Where a file's bytes live. Metadata (tenant, purpose, size, status) is always a `files` row, so
 * listing and tenant scoping are one query whatever the store; the bytes go to a `FileContentStore`:
 * Postgres `file_chunks` rows for the embedded default ({@link PostgresFileContents}), an
 * S3-compatible bucket for a real deployment (an object per file id, `storage` naming the bucket).
 */
export interface FileContentStore {
  /** What `files.storage` records for files this store holds. */
  readonly name: string;
  /** Write a file's bytes (all at once, or not at all as far as readers can tell; a rewrite replaces). */
  write(fileId: string, data: Buffer): Promise<void>;
  /** The file's bytes, in order, in pieces of the store's choosing. */
  read(fileId: string): AsyncIterable<Buffer>;
  /** Remove the bytes; a file with none is not an error. */
  remove(fileId: string): Promise<void>;
}

/** Size of one `file_chunks` row. */
export const FILE_CHUNK_BYTES = 1024 * 1024;

/** The embedded default: a file's bytes as 1 MiB `file_chunks` rows, written in one transaction. */
export class PostgresFileContents implements FileContentStore {
  readonly name = "postgres";
  constructor(private readonly db: Kysely<Database>) {}

  async write(fileId: string, data: Buffer): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom("file_chunks").where("file_id", "=", fileId).execute();
      // A few chunks per statement: bounded statement size, few round trips.
      const rows: Array<{ file_id: string; seq: number; data: Buffer }> = [];
      const count = Math.max(1, Math.ceil(data.length / FILE_CHUNK_BYTES));
      for (let seq = 0; seq < count; seq++) rows.push({ file_id: fileId, seq, data: data.subarray(seq * FILE_CHUNK_BYTES, (seq + 1) * FILE_CHUNK_BYTES) });
      for (let i = 0; i < rows.length; i += 8)
        await trx
          .insertInto("file_chunks")
          .values(rows.slice(i, i + 8))
          .execute();
    });
  }

  async *read(fileId: string): AsyncIterable<Buffer> {
    // One chunk per query: a large file is never held in memory whole.
    for (let seq = 0; ; seq++) {
      const row = await this.db.selectFrom("file_chunks").select("data").where("file_id", "=", fileId).where("seq", "=", seq).executeTakeFirst();
      if (!row) return;
      yield row.data;
    }
  }

  async remove(fileId: string): Promise<void> {
    await this.db.deleteFrom("file_chunks").where("file_id", "=", fileId).execute();
  }
}

export interface NewFile {
  id: string;
  tenant_id: string;
  api_key_id: string | null;
  purpose: FilePurpose;
  filename: string;
  bytes: number;
  line_count: number | null;
  /** Seconds after its creation the file expires (OpenAI's `expires_after`); null or absent: never. */
  expires_after_seconds?: number | null;
}

const FILE_COLUMNS = ["id", "bytes", "created_at", "filename", "purpose", "status", "expires_at"] as const;

function toFileObject(row: Pick<Selectable<FilesTable>, (typeof FILE_COLUMNS)[number]>): FileObject {
  return FileObject.parse({
    id: row.id,
    object: "file",
    bytes: Number(row.bytes),
    created_at: Math.floor(row.created_at.getTime() / 1000),
    filename: row.filename,
    purpose: row.purpose,
    status: row.status,
    expires_at: row.expires_at ? Math.floor(row.expires_at.getTime() / 1000) : null,
    status_details: null,
  });
}

/**
 * Store a file: its row (`uploaded`), its bytes, then the row `processed`. Readers see only
 * processed files, so a crash midway leaves an invisible row (and maybe bytes) and never half a file.
 */
export async function storeFile(db: Kysely<Database>, store: FileContentStore, f: NewFile, data: Buffer): Promise<FileObject> {
  const { expires_after_seconds: life, ...fields } = f;
  const created_at = new Date();
  const expires_at = life ? new Date(created_at.getTime() + life * 1000) : null;
  await db
    .insertInto("files")
    .values({ ...fields, created_at, expires_at, status: "uploaded", storage: store.name })
    .execute();
  await store.write(f.id, data);
  const row = await db.updateTable("files").set({ status: "processed" }).where("id", "=", f.id).returningAll().executeTakeFirstOrThrow();
  return toFileObject(row);
}

/** Only files not past their `expires_at` (an expired file is not served even before the sweep deletes it). */
const unexpired = sql<boolean>`(expires_at IS NULL OR expires_at > now())`;

/** A readable file of `tenantId` (another tenant's, a deleted, unfinished or expired one: undefined), and where its bytes are. */
export async function findFile(
  db: Kysely<Database>,
  tenantId: string,
  id: string,
): Promise<(FileObject & { storage: string; line_count: number | null }) | undefined> {
  const row = await db
    .selectFrom("files")
    .selectAll()
    .where("id", "=", id)
    .where("tenant_id", "=", tenantId)
    .where("status", "=", "processed")
    .where(unexpired)
    .executeTakeFirst();
  return row ? { ...toFileObject(row), storage: row.storage, line_count: row.line_count } : undefined;
}

/** One page of the tenant's readable files, by id (= creation order); `limit + 1` rows read to tell `has_more`. */
export async function listFiles(
  db: Kysely<Database>,
  tenantId: string,
  q: { purpose?: FilePurpose; limit: number; order: "asc" | "desc"; after?: string },
): Promise<{ data: FileObject[]; has_more: boolean }> {
  let query = db
    .selectFrom("files")
    .select([...FILE_COLUMNS])
    .where("tenant_id", "=", tenantId)
    .where("status", "=", "processed")
    .where(unexpired);
  if (q.purpose) query = query.where("purpose", "=", q.purpose);
  if (q.after) query = query.where("id", q.order === "desc" ? "<" : ">", q.after);
  const rows = await query
    .orderBy("id", q.order)
    .limit(q.limit + 1)
    .execute();
  return { data: rows.slice(0, q.limit).map(toFileObject), has_more: rows.length > q.limit };
}

/** Delete a file's row (its chunks go with it); false when the tenant has no such file. The caller removes bytes held elsewhere. */
export async function deleteFile(db: Kysely<Database>, tenantId: string, id: string): Promise<boolean> {
  const r = await db.deleteFrom("files").where("id", "=", id).where("tenant_id", "=", tenantId).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/**
 * Delete up to `limit` expired files (any tenant), oldest expiry first, and say which went and
 * where their bytes were (the caller removes bytes held outside Postgres; `file_chunks` go with the row).
 */
export async function deleteExpiredFiles(db: Kysely<Database>, limit: number): Promise<Array<{ id: string; storage: string; purpose: string }>> {
  const r = await sql<{ id: string; storage: string; purpose: string }>`
    DELETE FROM files WHERE id IN (
      SELECT id FROM files WHERE expires_at IS NOT NULL AND expires_at <= now() ORDER BY expires_at LIMIT ${limit} FOR UPDATE SKIP LOCKED
    )
    RETURNING id, storage, purpose`.execute(db);
  return r.rows;
}
