import { ApiError } from "@switchyard/contracts";
import type { NextFunction, Request, Response } from "express";

/** Deepest JSON nesting a body may have (OpenAI tool schemas stay far below it). */
export const MAX_JSON_DEPTH = 64;

/**
 * Why a string cannot be stored, or null when it can. Postgres refuses U+0000 in `text` and
 * `jsonb`, and refuses an unpaired surrogate escape (`\ud800`) in `jsonb`; either would fail the
 * write that carries it long after the request was accepted (a job's ledger row, a document, an
 * audit entry), so both are refused at the door.
 */
export function unstorable(s: string): string | null {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) return "contains a NUL character (U+0000)";
    if (c < 0xd800 || c > 0xdfff) continue;
    // A high surrogate must be followed by a low one; a low one must follow a high one.
    if (c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
    }
    return "contains an unpaired UTF-16 surrogate";
  }
  return null;
}

const fieldPath = (path: readonly (string | number)[]) =>
  path.reduce<string>((acc, p) => (typeof p === "number" ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), "");

/**
 * Walk a parsed JSON value (iteratively: a hostile body cannot exhaust the stack) and refuse the
 * first key or string that cannot be stored, or nesting deeper than {@link MAX_JSON_DEPTH}, with
 * a 400 naming the field.
 */
export function checkJsonValue(root: unknown, where: string): void {
  const stack: Array<{ value: unknown; path: (string | number)[] }> = [{ value: root, path: [] }];
  while (stack.length > 0) {
    const { value, path } = stack.pop()!;
    if (typeof value === "string") {
      const why = unstorable(value);
      if (why) throw invalid(path, where, why);
      continue;
    }
    if (typeof value !== "object" || value === null) continue;
    if (path.length >= MAX_JSON_DEPTH) throw invalid(path, where, `is nested more than ${MAX_JSON_DEPTH} levels deep`);
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], path: [...path, i] });
      continue;
    }
    for (const key of Object.keys(value)) {
      const why = unstorable(key);
      if (why) throw invalid(path, where, `has a key that ${why}`);
      stack.push({ value: (value as Record<string, unknown>)[key], path: [...path, key] });
    }
  }
}

function invalid(path: readonly (string | number)[], where: string, why: string): ApiError {
  const field = fieldPath(path);
  return new ApiError("invalid_request", `${field || where}: ${why}`, field || where);
}

/**
 * Before routing: every path segment must percent-decode, and no segment or query value may hold
 * what Postgres cannot store. A malformed path is the client's mistake (400), never a 500 from
 * deep inside a route.
 */
export function guardPathAndQuery(req: Request, _res: Response, next: NextFunction): void {
  const raw = req.originalUrl.split("?")[0] ?? "";
  for (const segment of raw.split("/")) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      return next(new ApiError("invalid_request", `path: malformed percent-escape in "${segment.slice(0, 64)}"`, "path"));
    }
    const why = unstorable(decoded);
    if (why) return next(new ApiError("invalid_request", `path: a segment ${why}`, "path"));
  }
  try {
    checkJsonValue(req.query, "query");
  } catch (err) {
    return next(err);
  }
  next();
}

/** After the JSON body parser: the parsed body holds only storable strings, at a bounded depth. */
export function guardJsonBody(req: Request, _res: Response, next: NextFunction): void {
  if (req.body === undefined || req.body === null) return next();
  try {
    checkJsonValue(req.body, "body");
  } catch (err) {
    return next(err);
  }
  next();
}
