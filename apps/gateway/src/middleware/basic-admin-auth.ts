import { ApiError, isApiError } from "@switchyard/contracts";
import type { NextFunction, Request, Response } from "express";
import { withLogContext } from "@switchyard/telemetry";
import type { Authenticator } from "./authenticate";

/** The challenge a browser answers with its login prompt (and then resends on every request to this origin). */
export const BASIC_CHALLENGE = 'Basic realm="switchyard", charset="UTF-8"';

/**
 * The API key carried by `Authorization`: `Bearer <key>` as is, or the password of
 * `Basic base64(user:key)` (the user name is ignored). Undefined when the header carries no key.
 */
function bearerFrom(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const basic = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header);
  if (!basic) return header;
  const decoded = Buffer.from(basic[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  const password = colon < 0 ? "" : decoded.slice(colon + 1).trim();
  return password ? `Bearer ${password}` : undefined;
}

/**
 * Middleware for the pages a browser opens (`/dashboard`, `/admin/queues`): browsers cannot send a
 * Bearer token when following a link, so HTTP Basic auth is accepted with an `admin` API key as the
 * password; a plain `Authorization: Bearer` admin key works too. Missing or invalid credentials
 * are 401 with a Basic challenge (so the browser prompts); a valid key without `admin` is 403.
 * Errors go through the one error middleware, in the API's error shape.
 */
export function basicAdminAuth(auth: Authenticator) {
  return async (req: Request, _res: Response, next: NextFunction): Promise<void> => {
    const principal = await auth.authenticate(bearerFrom(req.get("authorization")), req.get("origin")).catch((err: unknown) => {
      if (isApiError(err) && err.status === 401) throw new ApiError(err.code, err.message, err.param, { ...err.headers, "WWW-Authenticate": BASIC_CHALLENGE });
      throw err;
    });
    if (!principal.scopes.has("admin")) throw new ApiError("insufficient_scope", "this API key lacks the admin scope");
    req.principal = principal;
    withLogContext({ requestId: req.requestId, tenantId: principal.tenantId, keyId: principal.keyId }, next);
  };
}
