import { randomUUID } from "node:crypto";
import type { NextFunction, Request, Response } from "express";
import type { Principal } from "@switchyard/contracts";

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      requestId: string;
      principal?: Principal;
    }
  }
}

/** Every request gets an id (echoed as `x-request-id`, and in error bodies). */
export function requestId(req: Request, res: Response, next: NextFunction): void {
  const incoming = req.get("x-request-id");
  req.requestId = incoming && /^[A-Za-z0-9._-]{1,128}$/.test(incoming) ? incoming : `req_${randomUUID().replaceAll("-", "")}`;
  res.setHeader("x-request-id", req.requestId);
  next();
}

export function principalOf(req: Request): Principal {
  if (!req.principal) throw new Error("route used without authenticate()");
  return req.principal;
}
