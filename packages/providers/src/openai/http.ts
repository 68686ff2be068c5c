import { Pool, type Dispatcher } from "undici";
import { ProviderError } from "../types";
import { errorFromResponse, toProviderError } from "./errors";

/** Options of an OpenAI-compatible client; see `createOpenAIProvider` for the documented defaults. */
export interface OpenAIHttpOptions {
  baseUrl: string;
  apiKey: string;
  name: string;
  timeoutMs: number;
  maxConnections: number;
  /** Extra headers on every request (e.g. `OpenAI-Organization`, OpenRouter's `HTTP-Referer`). */
  headers?: Record<string, string>;
}

export type ResponseBody = Dispatcher.ResponseData["body"];

/** Longest error body we read; a misconfigured proxy can answer with a whole HTML page. */
const ERROR_BODY_LIMIT = 64 * 1024;

/**
 * A keep-alive connection pool to one OpenAI-compatible base URL. `post` resolves with the
 * body of a 2xx response and turns everything else into a ProviderError.
 */
export class OpenAIHttp {
  readonly name: string;
  private readonly pool: Pool;
  private readonly basePath: string;
  private readonly search: string;
  private readonly headers: Record<string, string>;

  constructor(private readonly opts: OpenAIHttpOptions) {
    this.name = opts.name;
    let url: URL;
    try {
      url = new URL(opts.baseUrl);
    } catch (cause) {
      throw new Error(`${opts.name}: invalid baseUrl ${JSON.stringify(opts.baseUrl)}`, { cause });
    }
    // The base URL is used as given (the official SDK's OPENAI_BASE_URL convention, `/v1`
    // included): compatible servers put the API under other prefixes (`/openai/v1`, `/api/v1`).
    this.basePath = url.pathname.replace(/\/+$/, "");
    // Azure-style `?api-version=` query strings are kept on every request.
    this.search = url.search;
    this.pool = new Pool(url.origin, {
      connections: opts.maxConnections,
      keepAliveTimeout: 30_000,
      connect: { timeout: Math.min(opts.timeoutMs, 10_000) },
    });
    this.headers = {
      authorization: `Bearer ${opts.apiKey}`,
      "content-type": "application/json",
      ...opts.headers,
    };
  }

  /** POSTs JSON to `path` (relative to the base URL). `bodyTimeoutMs: 0` leaves idle detection to the caller. */
  async post(path: string, payload: unknown, opts: { signal?: AbortSignal; accept: string; bodyTimeoutMs: number }): Promise<ResponseBody> {
    const { signal } = opts;
    if (signal?.aborted) throw new ProviderError("aborted", `${this.name}: request aborted`, { provider: this.name });
    let res: Dispatcher.ResponseData;
    try {
      res = await this.pool.request({
        method: "POST",
        path: `${this.basePath}${path}${this.search}`,
        headers: { ...this.headers, accept: opts.accept },
        body: JSON.stringify(payload),
        signal,
        headersTimeout: this.opts.timeoutMs,
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
    throw errorFromResponse(this.name, res.statusCode, res.headers, text);
  }

  /** Closes idle sockets and waits for in-flight requests. */
  async close(): Promise<void> {
    await this.pool.close();
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
