import { BatchList, BatchObject, CreateBatchRequest, ListBatchesQuery } from "../batches";
import { FileDeleted, FileList, FileObject, ListFilesQuery } from "../files";
import { json, type RouteContract } from "./route-contract";

const FILES = "Files and batches";

/** Response schemas of the Files and Batch routes, by component name. */
export const FILES_BATCHES_RESPONSE_SCHEMAS = { FileObject, FileList, FileDeleted, BatchObject, BatchList } as const;

/** Request body schemas of the Files and Batch routes, by component name. */
export const FILES_BATCHES_REQUEST_SCHEMAS = { CreateBatchRequest } as const;

/** OpenAI's Files API (batch input and output files) and Batch API. */
export const FILES_BATCHES_ROUTES: readonly RouteContract[] = [
  {
    method: "post",
    path: "/v1/files",
    operationId: "uploadFile",
    summary: "Upload a file (multipart/form-data: purpose=batch, file=JSONL)",
    description:
      "A `multipart/form-data` body with the fields `purpose` (`batch`) and `file` (JSONL: one JSON object per line). Every line is checked before anything is stored: a line that is empty, not JSON, not an object, not UTF-8 or holds a NUL is a 400 naming the line; over the line limit a 400; over the size limit a 413. Optional `expires_after[anchor]` (`created_at`) and `expires_after[seconds]` (3600..2592000) set `expires_at`; a `batch` file given none expires 30 days after its upload. An expired file is 404 at once and deleted by the batch runner's sweep.",
    tag: FILES,
    auth: { scope: "jobs:write" },
    responses: { 200: json(FileObject, "stored") },
    errors: [400, 413, 415, 503],
  },
  {
    method: "get",
    path: "/v1/files",
    operationId: "listFiles",
    summary: "The tenant's files, newest first (after, limit, order, purpose)",
    tag: FILES,
    auth: { scope: "jobs:read" },
    query: ListFilesQuery,
    responses: { 200: json(FileList, "one page; the next is after=last_id while has_more") },
  },
  {
    method: "get",
    path: "/v1/files/:id",
    operationId: "retrieveFile",
    summary: "A file's object",
    tag: FILES,
    auth: { scope: "jobs:read" },
    params: { id: "the file's id (file_…)" },
    responses: { 200: json(FileObject, "the file") },
  },
  {
    method: "get",
    path: "/v1/files/:id/content",
    operationId: "fileContent",
    summary: "A file's bytes",
    tag: FILES,
    auth: { scope: "jobs:read" },
    params: { id: "the file's id (file_…)" },
    responses: {
      200: {
        description: "the file as uploaded (or as the batch runner wrote it)",
        content: [{ type: "application/octet-stream", description: "the file's bytes (JSONL)" }],
      },
    },
  },
  {
    method: "delete",
    path: "/v1/files/:id",
    operationId: "deleteFile",
    summary: "Delete a file",
    tag: FILES,
    auth: { scope: "jobs:write" },
    params: { id: "the file's id (file_…)" },
    responses: { 200: json(FileDeleted, "deleted") },
  },
  {
    method: "post",
    path: "/v1/batches",
    operationId: "createBatch",
    summary:
      "Create a batch from a `batch` file: each chat or Responses line runs as a job at the lowest priority, each embeddings line through the embeddings service",
    description:
      "Starts `validating`: every line is checked before any runs (`custom_id` unique, `method` POST, `url` the batch's endpoint, `body` a valid request of it); a bad line goes to the error file and the rest run. `request_counts` and the status (validating → in_progress → finalizing → completed; cancelling → cancelled; failed; expired) follow on `GET /v1/batches/{id}`; output and error files are in OpenAI's line format. Each line reserves budget as it is admitted, so a batch never spends past its deployment's budget: when the next line does not fit, the batch stays `in_progress` with `paused_reason` (`budget_exhausted` or `credits_exhausted`, a Switchyard field) and resumes by itself once budget frees up; no line is failed for budget. Lines are priced at the catalog's batch price (`pricing.batch`, else half the interactive price) and their usage rows carry `batch_id`. `model` is the lines' model (set once validated); `output_expires_after` ({anchor: created_at, seconds: 3600..2592000}) makes the output and error files expire that long after their creation. A batch still running when its 24 h window ends becomes `expired`: lines not run go to the error file with code `batch_expired`.",
    tag: FILES,
    auth: { scope: "jobs:write" },
    body: CreateBatchRequest,
    responses: { 200: json(BatchObject, "created (validating)") },
    errors: [404, 503],
  },
  {
    method: "get",
    path: "/v1/batches",
    operationId: "listBatches",
    summary: "The tenant's batches, newest first (after, limit)",
    tag: FILES,
    auth: { scope: "jobs:read" },
    query: ListBatchesQuery,
    responses: { 200: json(BatchList, "one page; the next is after=last_id while has_more") },
  },
  {
    method: "get",
    path: "/v1/batches/:id",
    operationId: "retrieveBatch",
    summary: "A batch: status, request_counts, output and error files; paused_reason while the budget holds it",
    tag: FILES,
    auth: { scope: "jobs:read" },
    params: { id: "the batch's id (batch_…)" },
    responses: { 200: json(BatchObject, "the batch") },
  },
  {
    method: "post",
    path: "/v1/batches/:id/cancel",
    operationId: "cancelBatch",
    summary: "Cancel a batch: cancelling, then cancelled once its unfinished jobs are canceled",
    tag: FILES,
    auth: { scope: "jobs:write" },
    params: { id: "the batch's id (batch_…)" },
    responses: { 200: json(BatchObject, "cancelling (or already cancelled)") },
    errors: [409],
  },
];
