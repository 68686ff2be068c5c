import { ApiError } from "@switchyard/contracts";
import type { ZodError, ZodType, z } from "zod";

/** The first problem of a zod error, as a 400 naming the field. */
export function zodToApiError(err: ZodError): ApiError {
  const issue = err.issues[0];
  if (!issue) return new ApiError("invalid_request", "invalid request");
  if (issue.code === "unrecognized_keys") {
    const path = [...issue.path.map(String), issue.keys[0] ?? ""].filter(Boolean).join(".");
    return new ApiError("unknown_field", `unknown field: ${path}`, path);
  }
  const path = issue.path.map(String).join(".");
  const where = path || "body";
  return new ApiError("invalid_request", `${where}: ${issue.message}`, path || undefined);
}

/** Parse a JSON body against a strict schema; a missing or non-object body is a 400. */
export function parseBody<T extends ZodType>(schema: T, body: unknown): z.infer<T> {
  if (body === undefined || body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new ApiError("invalid_request", "request body must be a JSON object (Content-Type: application/json)");
  }
  const r = schema.safeParse(body);
  if (!r.success) throw zodToApiError(r.error);
  return r.data;
}
