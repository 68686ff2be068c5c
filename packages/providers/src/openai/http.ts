import { ProviderHttp } from "../http/provider-http";
import { errorFromResponse } from "./errors";

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

/** A keep-alive pool to one OpenAI-compatible base URL: Bearer auth and OpenAI's error bodies. */
export class OpenAIHttp extends ProviderHttp {
  constructor(opts: OpenAIHttpOptions) {
    super({
      baseUrl: opts.baseUrl,
      name: opts.name,
      timeoutMs: opts.timeoutMs,
      maxConnections: opts.maxConnections,
      headers: { authorization: `Bearer ${opts.apiKey}`, ...opts.headers },
      errorFromResponse,
    });
  }
}
