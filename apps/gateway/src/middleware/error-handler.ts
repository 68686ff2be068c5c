import { ApiError, isApiError, type ApiErrorBody } from "@switchyard/contracts";
import type { Logger } from "@switchyard/telemetry";
import type { NextFunction, Request, Response } from "express";
import { ZodError } from "zod";
import { zodToApiError } from "../services/validation";

interface BodyParserError {
  type?: string;
  status?: number;
  expose?: boolean;
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
      return null;
  }
}

/** The one error middleware: every error becomes `{"error":{type,code,message,param?,request_id}}`. */
export function errorHandler(logger: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    let apiErr: ApiError;
    if (isApiError(err)) apiErr = err;
    else if (err instanceof ZodError) apiErr = zodToApiError(err);
    else apiErr = fromBodyParser(err as BodyParserError) ?? new ApiError("internal_error", "internal error");
    if (apiErr.status >= 500) logger.error({ err, requestId: req.requestId, path: req.path }, "request failed");
    const body: ApiErrorBody = {
      error: { type: apiErr.type, code: apiErr.code, message: apiErr.message, ...(apiErr.param ? { param: apiErr.param } : {}), request_id: req.requestId },
    };
    if (res.headersSent) {
      res.end();
      return;
    }
    for (const [k, v] of Object.entries(apiErr.headers ?? {})) res.setHeader(k, v);
    res.status(apiErr.status).json(body);
  };
}

/** 404 for unknown routes, in the same shape. */
export function notFound(req: Request, _res: Response, next: NextFunction): void {
  next(new ApiError("not_found", `no route for ${req.method} ${req.path}`));
}
