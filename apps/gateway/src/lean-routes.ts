import { randomUUID } from "node:crypto";
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { ApiError, CreateJobRequest } from "@switchyard/contracts";
import { withLogContext } from "@switchyard/telemetry";
import type { Express } from "express";
import type { Authenticator } from "./middleware/authenticate";
import { apiErrorResponse } from "./middleware/error-handler";
import { checkJsonValue } from "./middleware/input-guard";
import type { Principal } from "./middleware/request-context";
import type { GatewayResources } from "./resources";
import { submitJobTraced } from "./services/job-service";
import { parseBody } from "./services/validation";

/**
 * The hot endpoint, `POST /v1/jobs`, answered without express's layers (issue 13: router,
 * body-parser and `res.json` were about a third of the submit path's CPU). Express stays the
 * framework: this listener takes only a request whose headers it can judge completely — exact
 * path, JSON in UTF-8, no Content-Encoding, no `Origin` (CORS stays express's) — and hands every
 * other request to the app untouched, before reading a byte of its body. What the middleware
 * chain does for this route is done here in the same order, with the same answers: request id,
 * `Vary: Origin`, the body limit and JSON parse (strict, an empty body is `{}`), the storable-
 * strings guard, authentication and scope, the log context, the route, the error shape and the
 * HTTP metrics. The integration tests of `POST /v1/jobs` run through this path.
 */
export function leanRoutes(r: GatewayResources, auth: Authenticator, app: Express): RequestListener {
  const limit = parseByteSize(r.config.bodyLimit);
  const recorder = r.metrics.http;
  return (req, res) => {
    if (req.method === "POST" && req.url === "/v1/jobs" && plainJson(req)) {
      void leanSubmit(r, auth, limit, req, res).then((status) => recorder.record("POST", "/v1/jobs", status, (performance.now() - started(res)) / 1000));
      return;
    }
    app(req, res);
  };
}

const STARTED = Symbol("started");
const started = (res: ServerResponse) => (res as ServerResponse & { [STARTED]: number })[STARTED];

/** JSON in UTF-8 (or no charset), not compressed, not from a browser: everything the lean path can answer exactly as express would. */
function plainJson(req: IncomingMessage): boolean {
  const h = req.headers;
  if (h.origin !== undefined || (h["content-encoding"] !== undefined && h["content-encoding"].toLowerCase() !== "identity")) return false;
  const type = h["content-type"];
  if (type === undefined) return false;
  return JSON_TYPE.test(type);
}
const JSON_TYPE = /^\s*application\/json\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;
/** body-parser's strict mode: the first character that is not JSON whitespace must open an object or an array. */
const FIRST_CHAR = /^[\x20\x09\x0a\x0d]*([^\x20\x09\x0a\x0d])/;

async function leanSubmit(r: GatewayResources, auth: Authenticator, limit: number, req: IncomingMessage, res: ServerResponse): Promise<number> {
  (res as ServerResponse & { [STARTED]: number })[STARTED] = performance.now();
  const incoming = req.headers["x-request-id"];
  const requestId = typeof incoming === "string" && REQUEST_ID.test(incoming) ? incoming : `req_${randomUUID().replaceAll("-", "")}`;
  try {
    const raw = await readBody(req, limit);
    const body = parseJson(raw);
    checkJsonValue(body, "body");
    const p = await auth.authenticate(req.headers.authorization, undefined);
    if (!p.scopes.has("jobs:write")) throw new ApiError("insufficient_scope", "this API key lacks the jobs:write scope");
    return await withLogContext({ requestId, tenantId: p.tenantId, keyId: p.keyId }, () => submit(r, p, body, req, res, requestId));
  } catch (err) {
    const { status, headers, body } = apiErrorResponse(err, requestId, r.logger, "/v1/jobs");
    send(res, status, requestId, body, headers);
    return status;
  }
}

async function submit(r: GatewayResources, p: Principal, raw: unknown, req: IncomingMessage, res: ServerResponse, requestId: string): Promise<number> {
  const body = parseBody(CreateJobRequest, raw);
  const key = req.headers["idempotency-key"];
  const result = await submitJobTraced(r, p, body, Array.isArray(key) ? key.join(", ") : key);
  const headers: Record<string, string> = { Location: result.job.links.self, ...result.headers };
  if (result.replayed) headers["Idempotent-Replayed"] = "true";
  const status = result.replayed ? 200 : 202;
  send(res, status, requestId, result.job, headers);
  return status;
}

/** The JSON answer with the headers express would have sent (`x-request-id`, `Vary: Origin`, the type and length). */
function send(res: ServerResponse, status: number, requestId: string, value: unknown, headers: Record<string, string> | undefined): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const json = JSON.stringify(value);
  const out: Record<string, string | number> = { "x-request-id": requestId, Vary: "Origin", ...headers, "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(json) };
  res.writeHead(status, out);
  res.end(json);
}

/** The body as text, at most `limit` bytes (413 past it, as body-parser answers); a byte-order mark is dropped. */
function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = req.headers["content-length"];
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on("data", (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        chunks.length = 0;
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (failed) return;
      const text = chunks.length === 1 ? chunks[0]!.toString("utf8") : Buffer.concat(chunks, size).toString("utf8");
      resolve(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
    });
    req.on("error", () => {
      if (!failed) reject(new ApiError("invalid_request", "request aborted by the client"));
      failed = true;
    });
  });
}

const tooLarge = () => new ApiError("payload_too_large", "request body is larger than the limit (1 MB)");

/** body-parser's `json({ strict: true })`: an empty body is `{}`, anything but an object or array is refused. */
function parseJson(text: string): unknown {
  if (text.length === 0) return {};
  const first = FIRST_CHAR.exec(text)?.[1];
  if (first !== "{" && first !== "[") throw new ApiError("invalid_json", `request body is not valid JSON: a JSON body must be an object or an array${first === undefined ? "" : ` (it starts with ${JSON.stringify(first)})`}`);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ApiError("invalid_json", `request body is not valid JSON: ${(err as Error).message}`);
  }
}

/** `BODY_LIMIT` as bytes: a number with an optional unit (b, kb, mb, gb; 1024-based, as body-parser reads it). */
export function parseByteSize(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(value);
  if (!m) throw new Error(`BODY_LIMIT: not a size: ${value}`);
  const unit = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[(m[2] ?? "b").toLowerCase() as "b"];
  return Math.floor(Number(m[1]) * unit);
}
