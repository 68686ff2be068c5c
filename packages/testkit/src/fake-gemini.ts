import type { IncomingMessage, ServerResponse } from "node:http";
import type { FakeToolReply, RecordedRequest } from "./fake-openai";
import { countPromptTokens, embeddingFor, replyPieces } from "./fake-openai.test-helpers";
import {
  INVALID_JSON,
  jsonBody,
  scriptedReply,
  scriptedToolReply,
  startFakeProviderHarness,
  type FakeServerControls,
  type FakeServerOptions,
} from "./fake-provider-harness";
import {
  badKeyDetails,
  defaultGeminiMessage,
  field,
  geminiErrorBody,
  grpcStatusFor,
  promptItems,
  quotaDetails,
  responseId,
  usageMetadata,
  validateGenerateContentBody,
} from "./fake-gemini.test-helpers";

/** A request the fake received; `path` has no query string, `query` holds it (`alt`, `key`). */
export interface GeminiRecordedRequest extends RecordedRequest {
  query: Record<string, string>;
}

/**
 * How the fake answers `generateContent`/`streamGenerateContent` (FakeOpenAIMode's vocabulary).
 * `chunks` counts SSE `data:` events already written when the fault happens (one per word;
 * Gemini sends no preamble).
 * - `error`: that status with Google's error envelope (`grpcStatus` defaults per status, e.g. 429
 *   → RESOURCE_EXHAUSTED, 503 → UNAVAILABLE); `retryDelay` (e.g. `"47s"`) adds the QuotaFailure,
 *   Help and RetryInfo details of a quota 429; extra `headers`. Also applies to embeddings.
 * - `cut_after`: destroys the socket mid-stream. `malformed_after`: sends a chunk that is not JSON.
 * - `stall_after`: stops sending but keeps the socket open.
 * - `stream_error_after`: an `{"error":…}` object (default 503 UNAVAILABLE) as a `data:` event,
 *   or with `bare: true` as a pretty-printed JSON body without `data:` (framing of mid-stream
 *   errors is unconfirmed; the official SDK accepts both), then ends.
 * - `slow`: `delayMs` (default 200) before every chunk after the first, so a client can cancel.
 */
export type FakeGeminiMode =
  | { kind: "ok" }
  | { kind: "error"; status: number; grpcStatus?: string; message?: string; retryDelay?: string; details?: unknown[]; headers?: Record<string, string> }
  | { kind: "cut_after"; chunks: number }
  | { kind: "malformed_after"; chunks: number }
  | { kind: "stall_after"; chunks: number }
  | { kind: "stream_error_after"; chunks: number; code?: number; grpcStatus?: string; message?: string; bare?: boolean }
  | { kind: "slow"; delayMs?: number };

/** Options of {@link startFakeGemini}. */
export interface FakeGeminiOptions extends FakeServerOptions<FakeGeminiMode, GeminiRecordedRequest> {
  /** Answer text, or a function of the request. Default `"Hello from the fake Gemini server."`. */
  reply?: string | ((req: GeminiRecordedRequest) => string);
  /**
   * Tool calls to answer with (`functionCall` parts, whole, in one chunk after any text, as the
   * API sends them; ids are not sent, as the Gemini API does not), or a function of the request
   * (undefined → `reply`). Only for requests with `tools` whose function calling mode is not
   * NONE; fault modes other than `error` and `cut_after` do not apply to them.
   */
  toolReply?: FakeToolReply | ((req: GeminiRecordedRequest) => FakeToolReply | undefined);
  /** When set, any other key gets 400 INVALID_ARGUMENT / `API_KEY_INVALID`. Default: any non-empty key. */
  apiKey?: string;
  /** SSE line ending. Default `"\r\n"`: the live API is observed to frame `alt=sse` with CRLF. */
  lineEnding?: "\r\n" | "\n" | "\r";
  /** `cachedContentTokenCount` reported (a subset of `promptTokenCount`). Default 0 (left out). */
  cachedTokens?: number;
  /** `thoughtsTokenCount` reported on the final chunk (thinking models). Default 0 (left out). */
  thoughtsTokens?: number;
  /** Embedding length when the request has no `outputDimensionality`. Default 8. */
  embeddingDimensions?: number;
  /** Ids listed by `GET /v1beta/models`. */
  models?: string[];
}

/** A running fake. `url` is the API origin (clients append `/v1beta/models/…`). */
export interface FakeGemini extends FakeServerControls<FakeGeminiMode, GeminiRecordedRequest> {
  url: string;
}

const DEFAULT_MODELS = ["gemini-2.5-flash-lite", "gemini-2.5-flash", "gemini-2.5-pro", "text-embedding-004", "gemini-embedding-001"];
const METHOD = /^\/(v1beta|v1|v1alpha)\/models\/([^/:]+):([A-Za-z]+)$/;
const BATCH_LIMIT = 100;

/** Starts a real HTTP server on 127.0.0.1 (random port) that speaks the Gemini API wire format. */
export async function startFakeGemini(opts: FakeGeminiOptions = {}): Promise<FakeGemini> {
  const le = opts.lineEnding ?? "\r\n";
  const requests: GeminiRecordedRequest[] = [];

  const headers = (extra?: Record<string, string>): Record<string, string> => ({
    vary: "Origin, X-Origin, Referer",
    server: "scaffolding on HTTPServer2",
    "x-content-type-options": "nosniff",
    "server-timing": "gfet4t7; dur=412",
    ...extra,
  });
  const sseHeaders = () => ({ ...headers(), "content-type": "text/event-stream", "content-disposition": "attachment", "x-accel-buffering": "no" });

  function sendJson(res: ServerResponse, status: number, body: string, extra?: Record<string, string>): void {
    res.writeHead(status, { ...headers(extra), "content-type": "application/json; charset=UTF-8" });
    res.end(body);
  }

  function sendError(
    res: ServerResponse,
    status: number,
    f: { message?: string; grpcStatus?: string; details?: unknown[] } = {},
    extra?: Record<string, string>,
  ): void {
    sendJson(
      res,
      status,
      geminiErrorBody({ code: status, message: f.message ?? defaultGeminiMessage(status), status: f.grpcStatus ?? grpcStatusFor(status), details: f.details }),
      extra,
    );
  }

  const h = await startFakeProviderHarness("fake-gemini", opts, { route, internalError: (res, _n, message) => sendError(res, 500, { message }) });

  function toolReplyFor(rec: GeminiRecordedRequest): FakeToolReply | undefined {
    const body = rec.body as Record<string, unknown>;
    const mode = field(field(field(body, "toolConfig", "tool_config"), "functionCallingConfig", "function_calling_config"), "mode", "mode");
    return scriptedToolReply(opts.toolReply, rec, Array.isArray(body.tools) && body.tools.length > 0 && mode !== "NONE");
  }

  /** An answer with `functionCall` parts; finishReason STOP (Gemini has no tool-call finish reason). */
  async function toolAnswer(
    rec: GeminiRecordedRequest,
    res: ServerResponse,
    n: number,
    model: string,
    stream: boolean,
    m: FakeGeminiMode,
    reply: FakeToolReply,
  ): Promise<void> {
    const body = rec.body as Record<string, unknown>;
    const prompt = countPromptTokens(promptItems(body));
    const text = reply.text === undefined ? [] : replyPieces(reply.text);
    const calls = reply.calls.map((c) => ({ functionCall: { name: c.name, args: JSON.parse(c.arguments) as unknown } }));
    const usage = usageMetadata(prompt, 0, text.length + calls.length);
    const meta = { modelVersion: model, responseId: responseId(n) };
    if (!stream) {
      const parts = [...(reply.text === undefined ? [] : [{ text: reply.text }]), ...calls];
      return sendJson(res, 200, JSON.stringify({ candidates: [{ content: { parts, role: "model" }, finishReason: "STOP" }], usageMetadata: usage, ...meta }));
    }
    const chunks = [
      ...text.map((t) =>
        JSON.stringify({ candidates: [{ content: { parts: [{ text: t }], role: "model" } }], usageMetadata: usageMetadata(prompt, 0, undefined), ...meta }),
      ),
      JSON.stringify({ candidates: [{ content: { parts: calls, role: "model" }, finishReason: "STOP" }], usageMetadata: usage, ...meta }),
    ];
    // Of the fault modes, only a cut applies to tool answers.
    return h.streamEvents(
      res,
      m.kind === "cut_after" ? m : { kind: "ok" },
      sseHeaders(),
      chunks.map((c) => `data: ${c}${le}${le}`),
    );
  }

  async function generate(rec: GeminiRecordedRequest, res: ServerResponse, n: number, model: string, stream: boolean, m: FakeGeminiMode): Promise<void> {
    const toolReply = toolReplyFor(rec);
    if (toolReply) return toolAnswer(rec, res, n, model, stream, m, toolReply);
    const body = rec.body as Record<string, unknown>;
    const all = replyPieces(scriptedReply(opts.reply, rec, "Hello from the fake Gemini server."));
    const max = field(field(body, "generationConfig", "generation_config"), "maxOutputTokens", "max_output_tokens");
    const pieces = all.slice(0, typeof max === "number" ? max : Infinity);
    const finishReason = pieces.length < all.length ? "MAX_TOKENS" : "STOP";
    const prompt = countPromptTokens(promptItems(body));
    const cached = Math.min(opts.cachedTokens ?? 0, prompt);
    const thoughts = opts.thoughtsTokens ?? 0;
    const meta = { modelVersion: model, responseId: responseId(n) };
    const finalUsage = (): Record<string, unknown> => {
      const u = usageMetadata(prompt, cached, pieces.length);
      if (thoughts > 0) u.thoughtsTokenCount = thoughts;
      u.totalTokenCount = prompt + pieces.length + thoughts;
      return u;
    };

    if (!stream) {
      if (m.kind === "stream_error_after") return sendError(res, 503);
      const json = JSON.stringify({
        candidates: [{ content: { parts: [{ text: pieces.join("") }], role: "model" }, finishReason, avgLogprobs: -0.0021 }],
        usageMetadata: finalUsage(),
        ...meta,
      });
      return h.answerWhole(res, m, { ...headers(), "content-type": "application/json; charset=UTF-8" }, json);
    }

    // Each chunk holds only the new text; middle chunks carry prompt counts only, the last one
    // adds finishReason and the candidates count (as in the recorded stream).
    const texts = pieces.length > 0 ? pieces : [""];
    const chunks = texts.map((text, i) => {
      const last = i === texts.length - 1;
      const candidate: Record<string, unknown> = { content: { parts: [{ text }], role: "model" } };
      if (last) candidate.finishReason = finishReason;
      return JSON.stringify({ candidates: [candidate], usageMetadata: last ? finalUsage() : usageMetadata(prompt, cached, undefined), ...meta });
    });
    if (rec.query.alt !== "sse") {
      // Without alt=sse the method answers a JSON array of the same responses.
      return sendJson(res, 200, `[${chunks.join(",\r\n")}]`);
    }
    return h.streamEvents(
      res,
      m,
      sseHeaders(),
      chunks.map((c) => `data: ${c}${le}${le}`),
      {
        errorEvent: () => {
          const e: { code?: number; grpcStatus?: string; message?: string; bare?: boolean } = m.kind === "stream_error_after" ? m : {};
          const code = e.code ?? 503;
          const error = { code, message: e.message ?? defaultGeminiMessage(code), status: e.grpcStatus ?? grpcStatusFor(code) };
          return e.bare ? `${geminiErrorBody(error).split("\n").join(le)}${le}` : `data: ${JSON.stringify({ error })}${le}${le}`;
        },
        malformedEvent: `data: {"candidates":[{"content":{"parts":[{"text":"tru${le}${le}`,
        waitBefore: (i) => (i === 0 ? 0 : m.kind === "slow" ? (m.delayMs ?? 200) : (opts.chunkDelayMs ?? 0)),
      },
    );
  }

  function embed(res: ServerResponse, model: string, method: string, b: Record<string, unknown>): void {
    const vector = (req: unknown): number[] | string => {
      const parts = field(field(req, "content", "content"), "parts", "parts");
      const text = Array.isArray(parts)
        ? parts
            .map((p) => field(p, "text", "text"))
            .filter((t) => typeof t === "string")
            .join(" ")
        : "";
      if (text === "") return "* EmbedContentRequest.content: content is not specified";
      const dims = field(req, "outputDimensionality", "output_dimensionality");
      return embeddingFor(text, typeof dims === "number" ? dims : (opts.embeddingDimensions ?? 8));
    };
    if (method === "embedContent") {
      const v = vector(b);
      return typeof v === "string" ? sendError(res, 400, { message: v }) : sendJson(res, 200, JSON.stringify({ embedding: { values: v } }));
    }
    const reqs = b.requests;
    if (!Array.isArray(reqs) || reqs.length === 0) return sendError(res, 400, { message: "* BatchEmbedContentsRequest.requests: requests is not specified" });
    if (reqs.length > BATCH_LIMIT)
      return sendError(res, 400, { message: `* BatchEmbedContentsRequest.requests: at most ${BATCH_LIMIT} requests can be in one batch` });
    const embeddings: Array<{ values: number[] }> = [];
    for (const [i, r] of reqs.entries()) {
      if (field(r, "model", "model") !== `models/${model}`)
        return sendError(res, 400, {
          message: `* BatchEmbedContentsRequest.requests[${i}].model: the model in each request must match the model in the URL (models/${model})`,
        });
      const v = vector(r);
      if (typeof v === "string") return sendError(res, 400, { message: v });
      embeddings.push({ values: v });
    }
    return sendJson(res, 200, JSON.stringify({ embeddings }));
  }

  function route(req: IncomingMessage, res: ServerResponse, raw: string, n: number): void | Promise<void> {
    const url = new URL(req.url ?? "/", "http://fake");
    const query = Object.fromEntries(url.searchParams);
    let body = jsonBody(raw);
    if (body === INVALID_JSON) {
      body = undefined;
      if (req.method === "POST") return sendError(res, 400, { message: `Invalid JSON payload received. Unexpected token.\n${raw.slice(0, 40)}\n^` });
    }
    const rec: GeminiRecordedRequest = { method: req.method ?? "GET", path: url.pathname, query, headers: req.headers, body };
    requests.push(rec);
    const headerKey = req.headers["x-goog-api-key"];
    const key = typeof headerKey === "string" && headerKey !== "" ? headerKey : query.key;
    if (key === undefined || key === "") {
      return sendError(res, 403, {
        message:
          "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
      });
    }
    if (opts.apiKey !== undefined && key !== opts.apiKey)
      return sendError(res, 400, { message: "API key not valid. Please pass a valid API key.", details: badKeyDetails() });
    const m = h.mode();
    const b = (body ?? {}) as Record<string, unknown>;

    if (req.method === "GET" && /^\/(v1beta|v1|v1alpha)\/models$/.test(url.pathname)) {
      const models = (opts.models ?? DEFAULT_MODELS).map((id) => ({
        name: `models/${id}`,
        version: "001",
        displayName: id,
        inputTokenLimit: 1048576,
        outputTokenLimit: 65536,
      }));
      return sendJson(res, 200, JSON.stringify({ models }));
    }
    const match = req.method === "POST" ? METHOD.exec(url.pathname) : null;
    const [, , model = "", method = ""] = match ?? [];
    if (!match || !["generateContent", "streamGenerateContent", "embedContent", "batchEmbedContents", "countTokens"].includes(method)) {
      return sendError(res, 404, { message: `Method not found: ${req.method} ${url.pathname}` });
    }
    if (m.kind === "error" && method !== "countTokens") {
      const details = m.details ?? (m.retryDelay !== undefined ? quotaDetails(model, m.retryDelay) : undefined);
      const message =
        m.message ??
        (m.retryDelay !== undefined
          ? `You exceeded your current quota, please check your plan and billing details. Please retry in ${m.retryDelay}.`
          : undefined);
      return sendError(res, m.status, { message, grpcStatus: m.grpcStatus, details }, m.headers);
    }
    if (method === "embedContent" || method === "batchEmbedContents") return embed(res, model, method, b);
    const problem = validateGenerateContentBody(b);
    if (problem) return sendError(res, 400, { message: problem });
    if (method === "countTokens") return sendJson(res, 200, JSON.stringify({ totalTokens: countPromptTokens(promptItems(b)) }));
    return generate(rec, res, n, model, method === "streamGenerateContent", m);
  }

  return { url: h.origin, ...h.controls(requests) };
}
