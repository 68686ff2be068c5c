import type { IncomingMessage } from "node:http";
import { ApiError } from "@switchyard/contracts";
import busboy from "busboy";
import { unstorable } from "../middleware/input-guard";

/** One uploaded file and the form's text fields. */
export interface Upload {
  fields: Record<string, string>;
  file: { field: string; filename: string; data: Buffer };
}

/** Longest file name kept (OpenAI's are short; a longer one is a 400, not truncated). */
const MAX_FILENAME = 255;
/** Multipart overhead allowed above the file limit before a declared `Content-Length` is refused unread. */
const ENVELOPE_BYTES = 64 * 1024;

/**
 * Read a `multipart/form-data` body holding one file (in the part named `fileField`) and a few
 * short text fields, the file held in memory up to `maxBytes`. Problems are 4xx naming the part:
 * not multipart (415), no file or two (400), a file over `maxBytes` (413: refused before reading
 * when `Content-Length` says so; otherwise the rest of the body is read and dropped, and a body
 * far past the limit is cut), a file name Postgres cannot store (400).
 */
export function readUpload(req: IncomingMessage, opts: { maxBytes: number; fileField: string }): Promise<Upload> {
  const type = req.headers["content-type"] ?? "";
  if (!/^multipart\/form-data\s*;/i.test(type)) {
    return Promise.reject(new ApiError("unsupported_media_type", "Content-Type must be multipart/form-data (fields: purpose, file)"));
  }
  // What is read and dropped of a refused body, so the client (still sending) reads the 4xx; past it the connection is cut.
  const drainLimit = 2 * opts.maxBytes + 1024 * 1024;
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > opts.maxBytes + ENVELOPE_BYTES) {
    const close = declared > drainLimit;
    if (!close) req.resume();
    return Promise.reject(
      new ApiError(
        "payload_too_large",
        `${opts.fileField}: larger than the limit of ${opts.maxBytes} bytes`,
        opts.fileField,
        close ? { Connection: "close" } : undefined,
      ),
    );
  }
  return new Promise<Upload>((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({ headers: req.headers, limits: { files: 1, fields: 10, fieldSize: 1024, parts: 20, fileSize: opts.maxBytes }, defParamCharset: "utf8" });
    } catch (err) {
      reject(new ApiError("invalid_request", `Content-Type: ${(err as Error).message}`, "Content-Type"));
      return;
    }
    const fields: Record<string, string> = {};
    let file: Upload["file"] | null = null;
    let problem: ApiError | null = null;
    let received = 0;
    const fail = (e: ApiError) => (problem ??= e);
    req.on("data", (chunk: Buffer) => {
      received += chunk.length;
      if (problem && received > drainLimit) req.destroy();
    });
    bb.on("field", (name, value, info) => {
      if (info.valueTruncated) fail(new ApiError("invalid_request", `${name}: longer than 1024 characters`, name));
      fields[name] = value;
    });
    bb.on("file", (name, stream, info) => {
      const parts: Buffer[] = [];
      if (name !== opts.fileField) fail(new ApiError("unknown_field", `unknown field: ${name} (the file goes in \`${opts.fileField}\`)`, name));
      const filename = info.filename ?? "file";
      const why = unstorable(filename);
      if (why) fail(new ApiError("invalid_request", `${opts.fileField}: its file name ${why}`, opts.fileField));
      else if (filename.length > MAX_FILENAME)
        fail(new ApiError("invalid_request", `${opts.fileField}: its file name is longer than ${MAX_FILENAME} characters`, opts.fileField));
      stream.on("data", (d: Buffer) => {
        if (!problem) parts.push(d);
      });
      stream.on("limit", () => fail(new ApiError("payload_too_large", `${opts.fileField}: larger than the limit of ${opts.maxBytes} bytes`, opts.fileField)));
      // A body cut short ends the file with an error; busboy reports it too (below).
      stream.on("error", () => undefined);
      stream.on("close", () => {
        if (!problem && name === opts.fileField) file = { field: name, filename, data: Buffer.concat(parts) };
      });
    });
    bb.on("filesLimit", () => fail(new ApiError("invalid_request", `${opts.fileField}: one file per upload`, opts.fileField)));
    bb.on("fieldsLimit", () => fail(new ApiError("invalid_request", "body: too many form fields", "body")));
    bb.on("partsLimit", () => fail(new ApiError("invalid_request", "body: too many form parts", "body")));
    bb.on("error", (err: Error) =>
      reject(problem ?? new ApiError("invalid_request", `body: not a well-formed multipart/form-data body (${err.message})`, "body")),
    );
    bb.on("close", () => {
      if (problem) reject(problem);
      else if (!file) reject(new ApiError("invalid_request", `${opts.fileField}: required (a file part named \`${opts.fileField}\`)`, opts.fileField));
      else resolve({ fields, file });
    });
    req.on("aborted", () => reject(new ApiError("invalid_request", "body: the upload was cut off", "body")));
    req.pipe(bb);
  });
}
