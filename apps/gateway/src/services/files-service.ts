import {
  ApiError,
  BATCH_FILE_DEFAULT_EXPIRY_SECONDS,
  FILE_EXPIRY_MAX_SECONDS,
  FILE_EXPIRY_MIN_SECONDS,
  FILE_ID,
  FilePurpose,
  newId,
  UPLOAD_PURPOSES,
  type FileList,
  type FileObject,
  type ListFilesQuery,
  type Principal,
} from "@switchyard/contracts";
import { deleteExpiredFiles, deleteFile, findFile, listFiles, PostgresFileContents, storeFile, type FileContentStore } from "@switchyard/db";
import type { MetricsRegistry } from "@switchyard/telemetry";
import type { IncomingMessage } from "node:http";
import type { GatewayResources } from "../resources";
import { DEFAULT_FILE_LIMITS, parseJsonl, type JsonlLimits } from "./jsonl-file";
import { refuseDuringMaintenance } from "./maintenance";
import { readUpload } from "./multipart-upload";

/** Options of the Files API (and of the batch runner, which reads and writes files through the same store). */
export interface FilesOptions {
  /** Where file bytes live. Default: the gateway's (`r.fileStore`, FILE_STORE), else Postgres `file_chunks` ({@link PostgresFileContents}). */
  store?: FileContentStore;
  /** Upload limits. Default {@link DEFAULT_FILE_LIMITS} (64 MiB, 50 000 lines). */
  limits?: Partial<JsonlLimits>;
}

/** The file store of these options: the given one, else Postgres. */
export const fileStoreOf = (r: Pick<GatewayResources, "db" | "fileStore">, opts: FilesOptions = {}): FileContentStore =>
  opts.store ?? r.fileStore ?? new PostgresFileContents(r.db);

/**
 * OpenAI's `expires_after` as multipart fields (`expires_after[anchor]`, `expires_after[seconds]`):
 * both or neither; anchor `created_at`; seconds an integer 3600..2592000. Returns the seconds, or
 * undefined when not given. A bad value is a 400 naming the field.
 */
export function expiresAfterOf(fields: Record<string, string>): number | undefined {
  const anchor = fields["expires_after[anchor]"];
  const given = fields["expires_after[seconds]"];
  if (anchor === undefined && given === undefined) return undefined;
  if (anchor === undefined)
    throw new ApiError("invalid_request", "expires_after[anchor]: required with expires_after[seconds] (created_at)", "expires_after[anchor]");
  if (anchor !== "created_at")
    throw new ApiError("invalid_request", `expires_after[anchor]: must be created_at; got '${anchor.slice(0, 64)}'`, "expires_after[anchor]");
  if (given === undefined) throw new ApiError("invalid_request", "expires_after[seconds]: required with expires_after[anchor]", "expires_after[seconds]");
  const seconds = /^\d{1,10}$/.test(given) ? Number(given) : NaN;
  if (!(seconds >= FILE_EXPIRY_MIN_SECONDS && seconds <= FILE_EXPIRY_MAX_SECONDS))
    throw new ApiError(
      "invalid_request",
      `expires_after[seconds]: must be an integer from ${FILE_EXPIRY_MIN_SECONDS} (1 hour) to ${FILE_EXPIRY_MAX_SECONDS} (30 days); got '${given.slice(0, 64)}'`,
      "expires_after[seconds]",
    );
  return seconds;
}

type Counter = ReturnType<MetricsRegistry["meter"]["createCounter"]>;
const counters = new WeakMap<MetricsRegistry, Counter>();

/** `ai_file_uploads_total{purpose,result}`: uploads stored (`stored`) or refused (`rejected`). */
export function fileUploadCounter(registry: MetricsRegistry): Counter {
  let c = counters.get(registry);
  if (!c) {
    c = registry.meter.createCounter("ai_file_uploads_total", { description: "Files uploaded to /v1/files, by purpose and result (stored, rejected)" });
    counters.set(registry, c);
  }
  return c;
}

const notFound = (id: string) => new ApiError("not_found", `No such File object: ${id}`, "file_id");

function filesAllowed(p: Principal): void {
  if (p.publishable) throw new ApiError("insufficient_scope", "files and batches are not available to publishable keys");
}

/**
 * `POST /v1/files`: read the multipart body (fields `purpose`, `file`), check it, store it. A
 * `batch` file is checked line by line (`parseJsonl`) before anything is stored, so a bad file
 * leaves nothing behind and its 400 names the line.
 */
export async function uploadFile(r: GatewayResources, p: Principal, req: IncomingMessage, opts: FilesOptions): Promise<FileObject> {
  filesAllowed(p);
  await refuseDuringMaintenance(r.maintenance);
  const limits = { ...DEFAULT_FILE_LIMITS, ...opts.limits };
  const counter = fileUploadCounter(r.registry);
  let purpose: FilePurpose = "batch";
  try {
    const upload = await readUpload(req, { maxBytes: limits.maxBytes, fileField: "file" });
    for (const name of Object.keys(upload.fields)) {
      if (name !== "purpose" && name !== "expires_after[anchor]" && name !== "expires_after[seconds]")
        throw new ApiError("unknown_field", `unknown field: ${name}`, name);
    }
    const expiresAfter = expiresAfterOf(upload.fields);
    const given = upload.fields.purpose;
    if (given === undefined) throw new ApiError("invalid_request", "purpose: required (batch)", "purpose");
    if (!(UPLOAD_PURPOSES as readonly string[]).includes(given))
      throw new ApiError("invalid_request", `purpose: must be one of ${UPLOAD_PURPOSES.join(", ")}; got '${given.slice(0, 64)}'`, "purpose");
    purpose = FilePurpose.parse(given);
    const lines = parseJsonl(upload.file.data, limits.maxLines);
    const file = await storeFile(
      r.db,
      fileStoreOf(r, opts),
      {
        id: newId("file"),
        tenant_id: p.tenantId,
        api_key_id: p.keyId,
        purpose,
        filename: upload.file.filename,
        bytes: upload.file.data.length,
        line_count: lines.length,
        // OpenAI's default: a batch file expires 30 days after its upload unless told otherwise.
        expires_after_seconds: expiresAfter ?? BATCH_FILE_DEFAULT_EXPIRY_SECONDS,
      },
      upload.file.data,
    );
    counter.add(1, { purpose, result: "stored" });
    r.logger.info({ fileId: file.id, bytes: file.bytes, lines: lines.length }, "file stored");
    return file;
  } catch (err) {
    counter.add(1, { purpose, result: "rejected" });
    throw err;
  }
}

/** A readable file of the caller's tenant (another tenant's is 404). */
export async function getFile(r: GatewayResources, p: Principal, id: string) {
  filesAllowed(p);
  const f = FILE_ID.test(id) ? await findFile(r.db, p.tenantId, id) : undefined;
  if (!f) throw notFound(id);
  return f;
}

/** The bytes of a file the caller's tenant holds, from the store that holds them. */
export async function fileContent(
  r: GatewayResources,
  p: Principal,
  id: string,
  opts: FilesOptions,
): Promise<{ file: FileObject; chunks: AsyncIterable<Buffer> }> {
  const f = await getFile(r, p, id);
  const store = storeFor(r, f.storage, opts);
  const { storage: _s, line_count: _l, ...file } = f;
  return { file, chunks: store.read(f.id) };
}

/** A file's whole content in memory (the batch runner's read of an input file, bounded by the upload limit). */
export async function readWholeFile(r: GatewayResources, tenantId: string, id: string, opts: FilesOptions): Promise<Buffer | null> {
  const f = FILE_ID.test(id) ? await findFile(r.db, tenantId, id) : undefined;
  if (!f) return null;
  const parts: Buffer[] = [];
  for await (const c of storeFor(r, f.storage, opts).read(f.id)) parts.push(c);
  return Buffer.concat(parts);
}

export function storeFor(r: Pick<GatewayResources, "db" | "fileStore">, storage: string, opts: FilesOptions): FileContentStore {
  const store = fileStoreOf(r, opts);
  if (store.name !== storage) throw new ApiError("internal_error", `file is held by store '${storage}', which this gateway is not configured with`);
  return store;
}

/** `DELETE /v1/files/{id}`: the row goes (readers stop seeing it at once), then the bytes. */
export async function removeFile(r: GatewayResources, p: Principal, id: string, opts: FilesOptions) {
  const f = await getFile(r, p, id);
  if (!(await deleteFile(r.db, p.tenantId, f.id))) throw notFound(id);
  await storeFor(r, f.storage, opts)
    .remove(f.id)
    .catch((err: Error) => r.logger.warn({ err: err.message, fileId: f.id }, "file row deleted; its bytes could not be removed"));
  return { id: f.id, object: "file" as const, deleted: true as const };
}

/** `GET /v1/files`: a page, newest first by default, with OpenAI's `first_id`/`last_id`/`has_more`. */
export async function listFilesPage(r: GatewayResources, p: Principal, q: ListFilesQuery): Promise<FileList> {
  filesAllowed(p);
  const page = await listFiles(r.db, p.tenantId, q);
  return { object: "list", data: page.data, first_id: page.data[0]?.id ?? null, last_id: page.data.at(-1)?.id ?? null, has_more: page.has_more };
}

const expiredCounters = new WeakMap<MetricsRegistry, Counter>();

/** `ai_files_expired_total{purpose}`: files deleted by the sweep because their `expires_at` passed. */
export function filesExpiredCounter(registry: MetricsRegistry): Counter {
  let c = expiredCounters.get(registry);
  if (!c) {
    c = registry.meter.createCounter("ai_files_expired_total", {
      description: "Files deleted because their expires_at passed (expires_after, output_expires_after), by purpose",
    });
    expiredCounters.set(registry, c);
  }
  return c;
}

/**
 * Housekeeping: delete expired files (any tenant; readers stopped seeing them at `expires_at`), up
 * to `max` per call in rounds of 500, and remove their bytes from the store that holds them. Safe
 * on any number of gateways at once (`SKIP LOCKED`). Returns how many went.
 */
export async function sweepExpiredFiles(
  r: Pick<GatewayResources, "db" | "fileStore" | "registry" | "logger">,
  opts: FilesOptions = {},
  max = 5000,
): Promise<number> {
  const counter = filesExpiredCounter(r.registry);
  let n = 0;
  while (n < max) {
    const gone = await deleteExpiredFiles(r.db, Math.min(500, max - n));
    for (const f of gone) {
      counter.add(1, { purpose: f.purpose });
      const store = fileStoreOf(r, opts);
      // Postgres chunks went with the row; bytes held elsewhere are removed here.
      if (f.storage !== "postgres" && store.name === f.storage)
        await store
          .remove(f.id)
          .catch((err: Error) => r.logger.warn({ err: err.message, fileId: f.id }, "expired file deleted; its bytes could not be removed"));
    }
    n += gone.length;
    if (gone.length < 500) break;
  }
  if (n) r.logger.info({ files: n }, "expired files deleted");
  return n;
}
