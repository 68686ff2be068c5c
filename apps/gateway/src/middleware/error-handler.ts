import { ApiError, isApiError, type ApiErrorBody } from "@switchyard/contracts";
import type { Logger } from "@switchyard/telemetry";
import type { NextFunction, Request, Response } from "express";
import { ZodError } from "zod";
import { zodToApiError } from "../services/validation";

interface BodyParserError {
  type?: string;
  status?: number;
  statusCode?: number;
  expose?: boolean;
  code?: string;
  message: string;
}

/** Turn what body-parser throws into our error codes. */
function fromBodyParser(err: BodyParserError): ApiError | null {
  switch (err.type) {
    case "entity.parse.failed":
      return new ApiError("invalid_json", `request body is not valid JSON: ${err.message}`);
    case "entity.too.large":
      return new ApiError("payload_too_large", "request body is larger than the limit (1 MB)");
    case "encoding.unsupported":
    case "charset.unsupported":
      return new ApiError("unsupported_media_type", err.message);
    case "request.aborted":
      return new ApiError("invalid_request", "request aborted by the client");
    default:
      return fromHttpError(err);
  }
}

/**
 * Any other client error express or body-parser raises (a compressed body that does not decode,
 * a path the router cannot decode): keep its 4xx, never turn it into a 500.
 */
function fromHttpError(err: BodyParserError): ApiError | null {
  const status = err.status ?? err.statusCode;
  if (typeof status !== "number" || status < 400 || status >= 500) return null;
  if (status === 413) return new ApiError("payload_too_large", "request body is larger than the limit (after decompression)");
  if (status === 415) return new ApiError("unsupported_media_type", err.message);
  const zlib = typeof err.code === "string" && (err.code.startsWith("Z_") || err.code.startsWith("ERR_BROTLI") || err.code.startsWith("ERR__"));
  if (zlib) return new ApiError("invalid_request", `body: the request body does not decode with its Content-Encoding (${err.message})`, "body");
  return new ApiError("invalid_request", err.message || "invalid request");
}

/** Any error as the API's error: its status, its headers and the `{"error":{…}}` body. */
export function apiErrorResponse(
  err: unknown,
  requestId: string,
  logger: Logger,
  path: string,
): { status: number; headers: Record<string, string> | undefined; body: ApiErrorBody } {
  let apiErr: ApiError;
  if (isApiError(err)) apiErr = err;
  else if (err instanceof ZodError) apiErr = zodToApiError(err);
  else if (err instanceof URIError) apiErr = new ApiError("invalid_request", `path: ${err.message}`, "path");
  else apiErr = fromBodyParser(err as BodyParserError) ?? new ApiError("internal_error", "internal error");
  if (apiErr.status >= 500) logger.error({ err, requestId, path }, "request failed");
  const body: ApiErrorBody = {
    error: {
      type: apiErr.type,
      code: apiErr.code,
      message: apiErr.message,
      ...(apiErr.param ? { param: apiErr.param } : {}),
      request_id: requestId,
      ...(apiErr.jobId ? { job_id: apiErr.jobId } : {}),
    },
  };
  return { status: apiErr.status, headers: apiErr.headers, body };
}

/** The one error middleware: every error becomes `{"error":{type,code,message,param?,request_id}}`. */
export function errorHandler(logger: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const { status, headers, body } = apiErrorResponse(err, req.requestId, logger, req.path);
    if (res.headersSent) {
      res.end();
      return;
    }
    for (const [k, v] of Object.entries(headers ?? {})) res.setHeader(k, v);
    res.status(status).json(body);
  };
}

/** 404 for unknown routes, in the same shape. */
export function notFound(req: Request, _res: Response, next: NextFunction): void {
  next(new ApiError("not_found", `no route for ${req.method} ${req.path}`));
}
