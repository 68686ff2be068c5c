import type { ApiErrorBody } from "@switchyard/contracts";
import { CliError, type CliContext } from "./command";

/** The gateway when neither `--url` nor `SWITCHYARD_URL` names one. */
export const DEFAULT_GATEWAY_URL = "http://127.0.0.1:8080";

/** Flags every admin API command takes (spread into its `parseCommandLine` options). */
export const API_FLAGS = {
  url: { type: "string" },
  key: { type: "string" },
  json: { type: "boolean" },
} as const;

/** Help lines for {@link API_FLAGS}. */
export const API_FLAGS_HELP = [
  "  --url URL   the gateway (default $SWITCHYARD_URL, else http://127.0.0.1:8080)",
  "  --key KEY   a key with the admin scope (default $SWITCHYARD_ADMIN_KEY)",
  "  --json      print the API's JSON answer instead of text",
];

/** A call to the admin API: the parsed JSON answer of a 2xx. */
export interface AdminResponse<T> {
  status: number;
  headers: Headers;
  body: T;
}

/** The gateway's API (the admin API `/admin/v1/…`, or the tenant API `/v1/…`), as the commands use it. */
export interface AdminApi {
  /** The gateway's base URL, without a trailing slash. */
  baseUrl: string;
  /**
   * `method <root><path>` with a JSON body; resolves with a 2xx answer. Anything else is a
   * {@link CliError} (exit 1) carrying the API's own message, status and code.
   */
  call<T>(
    method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE",
    path: string,
    opts?: { body?: unknown; headers?: Record<string, string> },
  ): Promise<AdminResponse<T>>;
  /**
   * `method <root><path>` with a body of any kind (a multipart upload) or none, for an answer that
   * need not be JSON (a file's bytes): the 2xx response as it came, unread. Errors as {@link call}'s.
   */
  send(method: "GET" | "POST", path: string, opts?: { body?: FormData | string; headers?: Record<string, string> }): Promise<Response>;
}

/** Encode one path segment (an id or a name from the command line). */
export const seg = (s: string) => encodeURIComponent(s);

/** `?a=1&b=2` from the parameters that are set, or "" when none is. */
export function queryString(params: Readonly<Record<string, string | number | undefined>>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, String(v));
  return q.size ? `?${q.toString()}` : "";
}

/** Which part of the gateway's API a client calls, and the key it needs. */
export interface ApiArea {
  /** Path prefix of every call: `/admin/v1` (admin API) or `/v1` (tenant API). */
  root: string;
  /** The environment variable holding the key when `--key` is not given. */
  keyEnv: string;
  /** What the key must allow, for the message when it is missing. */
  keyWhat: string;
}

/** The admin API (`/admin/v1/…`) with an admin key. */
export const ADMIN_AREA: ApiArea = { root: "/admin/v1", keyEnv: "SWITCHYARD_ADMIN_KEY", keyWhat: "the admin scope" };

/**
 * The admin API client for a command: the gateway from `--url`/`SWITCHYARD_URL` (default
 * http://127.0.0.1:8080), the key from `--key`/`SWITCHYARD_ADMIN_KEY`. A missing key or a
 * malformed URL is a settings error (exit 2), found before any request.
 */
export function adminApi(ctx: CliContext, flags: { url?: string; key?: string }): AdminApi {
  return gatewayApi(ctx, flags, ADMIN_AREA);
}

/** A client for one area of the gateway's API (see {@link adminApi}); paths given to `call` are under `area.root`. */
export function gatewayApi(ctx: CliContext, flags: { url?: string; key?: string }, area: ApiArea): AdminApi {
  const rawUrl = flags.url ?? (ctx.env.SWITCHYARD_URL?.trim() || DEFAULT_GATEWAY_URL);
  let base: URL;
  try {
    base = new URL(rawUrl);
  } catch {
    throw new CliError(`${flags.url !== undefined ? "--url" : "SWITCHYARD_URL"} is not a URL: expected http(s)://host:port, got ${JSON.stringify(rawUrl)}`, 2);
  }
  if (base.protocol !== "http:" && base.protocol !== "https:")
    throw new CliError(`${flags.url !== undefined ? "--url" : "SWITCHYARD_URL"} must be an http(s) URL, not ${base.protocol}//…`, 2);
  const key = flags.key ?? ctx.env[area.keyEnv]?.trim();
  if (!key) throw new CliError(`${area.keyEnv} is not set: export ${area.keyEnv}=<a key with ${area.keyWhat}>, or pass --key`, 2);
  const baseUrl = base.toString().replace(/\/+$/, "");
  /** One request: the response, or a CliError for no answer. */
  const request = async (method: string, path: string, headers: Record<string, string>, body: FormData | string | undefined): Promise<Response> => {
    try {
      return await ctx.fetch(`${baseUrl}${area.root}${path}`, {
        method,
        headers: { authorization: `Bearer ${key}`, ...headers },
        body,
        signal: AbortSignal.timeout(30_000),
      });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      const why = e.name === "TimeoutError" ? "no answer within 30 s" : (e.cause?.code ?? e.cause?.message ?? e.message);
      throw new CliError(`cannot reach the gateway at ${baseUrl} (${why}); is it running? set SWITCHYARD_URL or --url`);
    }
  };
  const parse = (text: string): unknown => {
    try {
      return text ? JSON.parse(text) : null;
    } catch {
      return null;
    }
  };
  /** A non-2xx answer as a CliError carrying the API's own message, status and code. */
  const refused = (res: Response, text: string, method: string, path: string): CliError => {
    // A proxy or an older gateway may answer with anything: every field is looked at as optional.
    const err = (parse(text) as Partial<ApiErrorBody> | null)?.error as Partial<ApiErrorBody["error"]> | undefined;
    const what = err?.message ?? (text.trim().slice(0, 200) || res.statusText);
    const code = err?.code ? ` ${err.code}` : "";
    const hint = res.status === 401 ? `; check ${area.keyEnv}` : res.status === 404 && !err ? `; does this gateway have ${method} ${area.root}${path}?` : "";
    return new CliError(`${what} (${res.status}${code}${hint})`);
  };
  return {
    baseUrl,
    async call<T>(
      method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE",
      path: string,
      opts: { body?: unknown; headers?: Record<string, string> } = {},
    ): Promise<AdminResponse<T>> {
      const headers: Record<string, string> = { accept: "application/json", ...opts.headers };
      // POSTs send a JSON object even when there is nothing to say: the API's schemas want one.
      const body = opts.body !== undefined ? JSON.stringify(opts.body) : method === "POST" ? "{}" : undefined;
      if (body !== undefined) headers["content-type"] = "application/json";
      const res = await request(method, path, headers, body);
      const text = await res.text();
      if (!res.ok) throw refused(res, text, method, path);
      const parsed = parse(text);
      if (parsed === null && text) throw new CliError(`the gateway at ${baseUrl} answered ${method} ${path} with something that is not JSON`);
      return { status: res.status, headers: res.headers, body: parsed as T };
    },
    async send(method: "GET" | "POST", path: string, opts: { body?: FormData | string; headers?: Record<string, string> } = {}): Promise<Response> {
      const res = await request(method, path, opts.headers ?? {}, opts.body);
      if (!res.ok) throw refused(res, await res.text(), method, path);
      return res;
    },
  };
}
