import {
  ApiError,
  FILE_ID,
  FilePurpose,
  newId,
  UPLOAD_PURPOSES,
  type FileList,
  type FileObject,
  type ListFilesQuery,
  type Principal,
} from "@switchyard/contracts";
import { deleteFile, findFile, listFiles, PostgresFileContents, storeFile, type FileContentStore } from "@switchyard/db";
import type { MetricsRegistry } from "@switchyard/telemetry";
import type { IncomingMessage } from "node:http";
import type { GatewayResources } from "../resources";
import { DEFAULT_FILE_LIMITS, parseJsonl, type JsonlLimits } from "./jsonl-file";
import { refuseDuringMaintenance } from "./maintenance";
import { readUpload } from "./multipart-upload";

/** Options of the Files API (and of the batch runner, which reads and writes files through the same store). */
export interface FilesOptions {
  /** Where file bytes live. Default: Postgres `file_chunks` ({@link PostgresFileContents}). */
  store?: FileContentStore;
  /** Upload limits. Default {@link DEFAULT_FILE_LIMITS} (64 MiB, 50 000 lines). */
  limits?: Partial<JsonlLimits>;
}

/** The file store of these options: the given one, else Postgres. */
export const fileStoreOf = (r: Pick<GatewayResources, "db">, opts: FilesOptions = {}): FileContentStore => opts.store ?? new PostgresFileContents(r.db);

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
      if (name.startsWith("expires_after")) throw new ApiError("unsupported_parameter", `${name}: files do not expire here; leave it out`, name);
      if (name !== "purpose") throw new ApiError("unknown_field", `unknown field: ${name}`, name);
    }
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

function storeFor(r: GatewayResources, storage: string, opts: FilesOptions): FileContentStore {
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
