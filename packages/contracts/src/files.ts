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

/** OpenAI's file object; `created_at` in Unix seconds. `status` is always `processed` once a file can be read. */
export const FileObject = z.object({
  id: z.string(),
  object: z.literal("file"),
  bytes: z.number().int().nonnegative(),
  created_at: z.number().int(),
  filename: z.string(),
  purpose: FilePurpose,
  status: z.enum(["uploaded", "processed", "error"]),
  expires_at: z.number().int().nullable().optional(),
  status_details: z.string().nullable().optional(),
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
