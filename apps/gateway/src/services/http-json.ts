import type { IncomingMessage, ServerResponse } from "node:http";

/** One request header as a string (repeated headers joined as Node joins them), or undefined. */
export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(", ") : v;
}

/**
 * A JSON answer on a plain Node response, as express's `res.status(s).json(v)` sends it (type with
 * charset, length), on top of whatever headers were set before (`x-request-id`, `Vary`, CORS).
 */
export function sendJson(res: ServerResponse, status: number, value: unknown, headers?: Record<string, string>): void {
  const json = JSON.stringify(value);
  if (headers) for (const k in headers) res.setHeader(k, headers[k]!);
  res.setHeader("Content-Type", "application/json; charset=utf-8");
  res.setHeader("Content-Length", Buffer.byteLength(json));
  res.statusCode = status;
  res.end(json);
}
