import { ApiError } from "@switchyard/contracts";
import { checkJsonValue } from "../middleware/input-guard";

/** Limits on an uploaded JSONL file. */
export interface JsonlLimits {
  /** Largest file, bytes. Default {@link DEFAULT_FILE_LIMITS}. */
  maxBytes: number;
  /** Most lines (requests) in a `batch` file. */
  maxLines: number;
}

/**
 * Defaults: OpenAI allows 50 000 requests per batch file (and 200 MB); the embedded default
 * holds a file in the gateway's memory while it is checked, so 64 MiB here.
 */
export const DEFAULT_FILE_LIMITS: JsonlLimits = { maxBytes: 64 * 1024 * 1024, maxLines: 50_000 };

/** One line of a JSONL file: its 1-based number and its parsed JSON object. */
export interface JsonlLine {
  line: number;
  value: Record<string, unknown>;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

const bad = (line: number, why: string) => new ApiError("invalid_request", `file: line ${line}: ${why}`, "file");

/**
 * Every line of a JSONL file, checked: one JSON object per line, `\n` or `\r\n` ends a line (the
 * last may have none), no empty line, no NUL byte, valid UTF-8, nothing Postgres could not store
 * (a `\u0000` escape, an unpaired surrogate), at most `maxLines` lines. The first problem is a 400
 * naming the line (`param: "file"`). A UTF-8 byte-order mark before the first line is skipped.
 */
export function parseJsonl(data: Buffer, maxLines: number): JsonlLine[] {
  if (data.length === 0) throw new ApiError("invalid_request", "file: is empty; a batch file holds one JSON request per line", "file");
  let start = data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf ? 3 : 0;
  const out: JsonlLine[] = [];
  for (let n = 1; start < data.length; n++) {
    const nl = data.indexOf(0x0a, start);
    const end = nl < 0 ? data.length : nl;
    if (n > maxLines) throw new ApiError("invalid_request", `file: has more than ${maxLines} lines (requests); split it into several batches`, "file");
    const raw = data.subarray(start, end > start && data[end - 1] === 0x0d ? end - 1 : end);
    start = end + 1;
    out.push({ line: n, value: parseLine(raw, n) });
  }
  return out;
}

function parseLine(raw: Buffer, n: number): Record<string, unknown> {
  if (raw.length === 0) throw bad(n, "is empty: every line must hold one JSON object");
  if (raw.includes(0)) throw bad(n, "contains a NUL byte");
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw bad(n, "is not valid UTF-8");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw bad(n, `is not valid JSON (${(err as Error).message})`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw bad(n, "must be a JSON object");
  try {
    checkJsonValue(value, "line");
  } catch (err) {
    throw bad(n, (err as Error).message.replace(/^line: /, ""));
  }
  return value as Record<string, unknown>;
}
