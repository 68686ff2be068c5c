import { randomUUID } from "node:crypto";
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { ApiError } from "@switchyard/contracts";
import { withRequestContext } from "@switchyard/telemetry";
import type { Express } from "express";
import type { Authenticator } from "./middleware/authenticate";
import { apiErrorResponse } from "./middleware/error-handler";
import { checkJsonValue } from "./middleware/input-guard";
import type { Principal } from "@switchyard/contracts";
import type { GatewayResources } from "./resources";
import { postJob } from "./routes/jobs";
import { postChatCompletion } from "./routes/openai-compat";
import { sendJson } from "./services/http-json";

/** A route the lean path serves: what runs once the caller is known (the same function express's route calls). */
type LeanHandler = (r: GatewayResources, p: Principal, body: unknown, req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** The hot endpoints, all `POST` with scope `jobs:write`. */
const LEAN_ROUTES: ReadonlyMap<string, LeanHandler> = new Map([
  ["/v1/jobs", postJob],
  ["/v1/chat/completions", postChatCompletion],
]);

/**
 * The hot endpoints, `POST /v1/jobs` and `POST /v1/chat/completions`, answered without express's
 * layers (issue 13: router, body-parser and `res.json` were about a third of the submit path's
 * CPU). Express stays the framework: this listener takes only a request whose headers it can
 * judge completely — exact path, JSON in UTF-8, no Content-Encoding, no `Origin` (CORS stays
 * express's) — and hands every other request to the app untouched, before reading a byte of its
 * body. What the middleware chain does for these routes is done here in the same order, with the
 * same answers: request id, `Vary: Origin`, the body limit and JSON parse (strict, an empty body
 * is `{}`), the storable-strings guard, authentication and scope, the log and trace context (`traceparent`), the route's
 * own handler (shared with express), the error shape and the HTTP metrics. The routes'
 * integration tests run through this path; lean-submit.int.test.ts compares it with express's.
 */
export function leanRoutes(r: GatewayResources, auth: Authenticator, app: Express): RequestListener {
  const limit = parseByteSize(r.config.bodyLimit);
  const recorder = r.metrics.http;
  return (req, res) => {
    const route = req.method === "POST" ? req.url : undefined;
    const handler = route === undefined ? undefined : LEAN_ROUTES.get(route);
    if (handler === undefined || !plainJson(req)) return void app(req, res);
    const started = performance.now();
    void serve(r, auth, limit, handler, req, res).then(() => recorder.record("POST", route!, res.statusCode, (performance.now() - started) / 1000));
  };
}

/** JSON in UTF-8 (or no charset), not compressed, not from a browser: everything the lean path can answer exactly as express would. */
function plainJson(req: IncomingMessage): boolean {
  const h = req.headers;
  if (h.origin !== undefined || (h["content-encoding"] !== undefined && h["content-encoding"].toLowerCase() !== "identity")) return false;
  const type = h["content-type"];
  return type !== undefined && JSON_TYPE.test(type);
}
const JSON_TYPE = /^\s*application\/json\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;
/** body-parser's strict mode: the first character that is not JSON whitespace must open an object or an array. */
// eslint-disable-next-line no-control-regex -- JSON's whitespace is space, tab, newline and carriage return
const FIRST_CHAR = /^[\x20\x09\x0a\x0d]*([^\x20\x09\x0a\x0d])/;

async function serve(r: GatewayResources, auth: Authenticator, limit: number, handler: LeanHandler, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const incoming = req.headers["x-request-id"];
  const requestId = typeof incoming === "string" && REQUEST_ID.test(incoming) ? incoming : `req_${randomUUID().replaceAll("-", "")}`;
  res.setHeader("x-request-id", requestId);
  res.setHeader("Vary", "Origin");
  try {
    const body = parseJson(await readBody(req, limit));
    checkJsonValue(body, "body");
    const p = await auth.authenticate(req.headers.authorization, undefined);
    if (!p.scopes.has("jobs:write")) throw new ApiError("insufficient_scope", "this API key lacks the jobs:write scope");
    await withRequestContext(req.headers, { requestId, tenantId: p.tenantId, keyId: p.keyId }, () => handler(r, p, body, req, res));
  } catch (err) {
    const { status, headers, body } = apiErrorResponse(err, requestId, r.logger, req.url ?? "");
    if (res.headersSent) res.end();
    else sendJson(res, status, body, headers);
  }
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
      failed = true; // settled
      const text = chunks.length === 1 ? chunks[0]!.toString("utf8") : Buffer.concat(chunks, size).toString("utf8");
      resolve(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
    });
    // A client that goes away mid-body ends the read either way ('error', or only 'close').
    const aborted = () => {
      if (!failed) reject(new ApiError("invalid_request", "request aborted by the client"));
      failed = true;
    };
    req.on("error", aborted);
    req.on("close", aborted);
  });
}

const tooLarge = () => new ApiError("payload_too_large", "request body is larger than the limit (1 MB)");

/** body-parser's `json({ strict: true })`: an empty body is `{}`, anything but an object or array is refused. */
function parseJson(text: string): unknown {
  if (text.length === 0) return {};
  const first = FIRST_CHAR.exec(text)?.[1];
  if (first !== "{" && first !== "[")
    throw new ApiError(
      "invalid_json",
      `request body is not valid JSON: a JSON body must be an object or an array${first === undefined ? "" : ` (it starts with ${JSON.stringify(first)})`}`,
    );
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
