import type { IncomingHttpHeaders } from "node:http";
import { Pool, type Dispatcher } from "undici";
import { ProviderError } from "../types";
import { toProviderError } from "./errors";

/** Maps a non-2xx response (status, headers, error body text) to the ProviderError it means. */
export type ErrorFromResponse = (provider: string, status: number, headers: IncomingHttpHeaders, bodyText: string) => ProviderError;

/** Options of {@link ProviderHttp}: one keep-alive pool to one provider base URL. */
export interface ProviderHttpOptions {
  /** Origin plus an optional path prefix and query string, kept on every request. */
  baseUrl: string;
  name: string;
  timeoutMs: number;
  maxConnections: number;
  /** Headers on every request: auth, version, content type, anything the caller adds. */
  headers: Record<string, string>;
  /** How this provider's error responses are classified. */
  errorFromResponse: ErrorFromResponse;
}

export type ResponseBody = Dispatcher.ResponseData["body"];

/** Longest error body we read; a misconfigured proxy can answer with a whole HTML page. */
const ERROR_BODY_LIMIT = 64 * 1024;

/**
 * A keep-alive connection pool to one provider base URL (undici `Pool`, whose `request` costs a
 * fraction of WHATWG `fetch`). `post` resolves with the body of a 2xx response and turns
 * everything else into a ProviderError through the provider's own error mapping.
 */
export class ProviderHttp {
  readonly name: string;
  private readonly pool: Pool;
  private readonly basePath: string;
  private readonly baseQuery: string;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly toError: ErrorFromResponse;

  constructor(opts: ProviderHttpOptions) {
    this.name = opts.name;
    let url: URL;
    try {
      url = new URL(opts.baseUrl);
    } catch (cause) {
      throw new Error(`${opts.name}: invalid baseUrl ${JSON.stringify(opts.baseUrl)}`, { cause });
    }
    // A path prefix in the base URL is kept (proxies and compatible servers mount APIs under
    // `/openai/v1`, `/api/v1`, `/anthropic` …).
    this.basePath = url.pathname.replace(/\/+$/, "");
    // Azure-style `?api-version=` query strings are kept on every request.
    this.baseQuery = url.search.replace(/^\?/, "");
    this.timeoutMs = opts.timeoutMs;
    this.toError = opts.errorFromResponse;
    this.pool = new Pool(url.origin, {
      connections: opts.maxConnections,
      keepAliveTimeout: 30_000,
      connect: { timeout: Math.min(opts.timeoutMs, 10_000) },
    });
    this.headers = { "content-type": "application/json", ...opts.headers };
  }

  /**
   * POSTs JSON to `path` (relative to the base URL; it may carry its own query string, merged
   * with the base URL's). `bodyTimeoutMs: 0` leaves idle detection to the caller.
   */
  async post(path: string, payload: unknown, opts: { signal?: AbortSignal; accept: string; bodyTimeoutMs: number }): Promise<ResponseBody> {
    const { signal } = opts;
    if (signal?.aborted) throw new ProviderError("aborted", `${this.name}: request aborted`, { provider: this.name });
    let res: Dispatcher.ResponseData;
    try {
      res = await this.pool.request({
        method: "POST",
        path: this.pathFor(path),
        headers: { ...this.headers, accept: opts.accept },
        body: JSON.stringify(payload),
        signal,
        headersTimeout: this.timeoutMs,
        bodyTimeout: opts.bodyTimeoutMs,
      });
    } catch (err) {
      throw toProviderError(err, { provider: this.name, signal, phase: "request" });
    }
    if (res.statusCode >= 200 && res.statusCode < 300) return res.body;
    let text = "";
    try {
      text = await readCapped(res.body, ERROR_BODY_LIMIT);
    } catch (err) {
      if (signal?.aborted) throw toProviderError(err, { provider: this.name, signal, phase: "body" });
      // The status alone is enough to classify the failure; a broken error body adds nothing.
    }
    throw this.toError(this.name, res.statusCode, res.headers, text);
  }

  /**
   * A non-streaming call: POSTs JSON to `path` and parses the 2xx answer as JSON, the whole call
   * bounded by the timeout. A body that breaks off or is not JSON is a ProviderError.
   */
  async postJson(path: string, payload: unknown, opts: { signal?: AbortSignal }): Promise<unknown> {
    const { signal } = opts;
    const body = await this.post(path, payload, { signal, accept: "application/json", bodyTimeoutMs: this.timeoutMs });
    let text: string;
    try {
      text = await body.text();
    } catch (err) {
      throw toProviderError(err, { provider: this.name, signal, phase: "body" });
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (cause) {
      throw new ProviderError("malformed", `${this.name}: response is not JSON: ${text.slice(0, 120)}`, { provider: this.name, cause });
    }
  }

  /** Closes idle sockets and waits for in-flight requests. */
  async close(): Promise<void> {
    await this.pool.close();
  }

  private pathFor(path: string): string {
    const q = path.indexOf("?");
    const own = q === -1 ? "" : path.slice(q + 1);
    const query = [own, this.baseQuery].filter((s) => s !== "").join("&");
    return `${this.basePath}${q === -1 ? path : path.slice(0, q)}${query === "" ? "" : `?${query}`}`;
  }
}

/** Reads a body as UTF-8 text up to `limit` bytes, then drops the rest (closing the socket). */
export async function readCapped(body: ResponseBody, limit: number): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    parts.push(buf);
    size += buf.length;
    if (size >= limit) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(parts).toString("utf8").slice(0, limit);
}
