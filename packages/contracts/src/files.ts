import { z } from "zod";

/*
 * OpenAI's Files API (`/v1/files`) as its reference and the official SDK's types
 * (`openai/resources/files`) describe it, for the purposes Switchyard serves: `batch` (a JSONL
 * file of Batch API requests, uploaded by clients) and `batch_output` (a batch's output and error
 * files, written by the batch runner).
 */

/** Purposes a client may upload a file for. */
export const UPLOAD_PURPOSES = ["batch"] as const;
/** Every purpose a stored file can have (`batch_output`: written by Switchyard, never uploaded). */
export const FilePurpose = z.enum(["batch", "batch_output"]);
export type FilePurpose = z.infer<typeof FilePurpose>;

export const FILE_ID = /^file_[0-9a-z]{10,64}$/;

/** Shortest and longest life OpenAI allows a file (`expires_after.seconds`, `output_expires_after.seconds`): 1 hour to 30 days. */
export const FILE_EXPIRY_MIN_SECONDS = 3600;
export const FILE_EXPIRY_MAX_SECONDS = 2_592_000;
/** OpenAI's default for `purpose=batch` uploads given no `expires_after`: 30 days after creation. */
export const BATCH_FILE_DEFAULT_EXPIRY_SECONDS = 2_592_000;

/**
 * OpenAI's file expiration policy (`expires_after` on upload, `output_expires_after` on batch
 * create): the file expires `seconds` after its own creation (`anchor: "created_at"`, the only anchor).
 */
export const FileExpiresAfter = z.strictObject({
  anchor: z.literal("created_at"),
  seconds: z.coerce.number().int().min(FILE_EXPIRY_MIN_SECONDS).max(FILE_EXPIRY_MAX_SECONDS),
});
export type FileExpiresAfter = z.infer<typeof FileExpiresAfter>;

/**
 * OpenAI's file object; `created_at` and `expires_at` in Unix seconds (`expires_at` null: never
 * expires). `status` is always `processed` once a file can be read; an expired file is no longer
 * served (404) and is deleted by the batch runner's housekeeping.
 */
export const FileObject = z.object({
  id: z.string(),
  object: z.literal("file"),
  bytes: z.number().int().nonnegative(),
  created_at: z.number().int(),
  filename: z.string(),
  purpose: FilePurpose,
  status: z.enum(["uploaded", "processed", "error"]),
  expires_at: z.number().int().nullable(),
  /** Deprecated in OpenAI's object; always null here. */
  status_details: z.string().nullable(),
});
export type FileObject = z.infer<typeof FileObject>;

/** `GET /v1/files`: one page, newest first unless `order=asc`; the next page is `after=<last_id>`. */
export const FileList = z.object({
  object: z.literal("list"),
  data: z.array(FileObject),
  first_id: z.string().nullable(),
  last_id: z.string().nullable(),
  has_more: z.boolean(),
});
export type FileList = z.infer<typeof FileList>;

export const FileDeleted = z.object({ id: z.string(), object: z.literal("file"), deleted: z.literal(true) });
export type FileDeleted = z.infer<typeof FileDeleted>;

/** Most files one `GET /v1/files` page lists (OpenAI's default and maximum is 10 000). */
export const FILE_LIST_MAX_LIMIT = 10_000;

export const ListFilesQuery = z.strictObject({
  purpose: FilePurpose.optional().describe("only files of this purpose"),
  limit: z.coerce.number().int().min(1).max(FILE_LIST_MAX_LIMIT).default(FILE_LIST_MAX_LIMIT).describe(`page size, 1..${FILE_LIST_MAX_LIMIT}`),
  order: z.enum(["asc", "desc"]).default("desc").describe("by created_at"),
  after: z.string().regex(FILE_ID, "must be a file id (file_…)").optional().describe("the last_id of the previous page"),
});
export type ListFilesQuery = z.infer<typeof ListFilesQuery>;
