import type { IncomingMessage, ServerResponse } from "node:http";
import {
  anthropicErrorBody,
  anthropicEvent,
  anthropicMessageStart,
  anthropicHeaders,
  anthropicRequestId,
  anthropicUsage,
  defaultAnthropicError,
  validateMessagesBody,
} from "./fake-anthropic.test-helpers";
import { argumentPieces, type FakeToolReply, type RecordedRequest } from "./fake-openai";
import { countPromptTokens, replyPieces } from "./fake-openai.test-helpers";
import {
  INVALID_JSON,
  jsonBody,
  scriptedReply,
  scriptedToolReply,
  startFakeProviderHarness,
  type FakeServerControls,
  type FakeServerOptions,
} from "./fake-provider-harness";

/**
 * How the fake answers `POST /v1/messages` (FakeOpenAIMode's vocabulary). `chunks` counts SSE
 * events already written when the fault happens; the first three are the preamble
 * (`message_start`, `content_block_start`, `ping`), then one `content_block_delta` per word.
 * - `error`: that status with Anthropic's error body (`error.type` defaults per status: 529 →
 *   `overloaded_error` …) and extra `headers` (e.g. `retry-after`).
 * - `cut_after`: destroys the socket mid-stream. `malformed_after`: sends an event that is not JSON.
 * - `stall_after`: stops sending but keeps the socket open.
 * - `stream_error_after`: `event: error` (`type` default `overloaded_error`), then ends without `message_stop`.
 * - `slow`: `delayMs` (default 200) before every event after the preamble, so a client can cancel.
 */
export type FakeAnthropicMode =
  | { kind: "ok" }
  | { kind: "error"; status: number; type?: string; message?: string; headers?: Record<string, string> }
  | { kind: "cut_after"; chunks: number }
  | { kind: "malformed_after"; chunks: number }
  | { kind: "stall_after"; chunks: number }
  | { kind: "stream_error_after"; chunks: number; type?: string; message?: string }
  | { kind: "slow"; delayMs?: number };

/** Options of {@link startFakeAnthropic}. */
export interface FakeAnthropicOptions extends FakeServerOptions<FakeAnthropicMode> {
  /** Answer text, or a function of the request. Default `"Hello from the fake Anthropic server."`. */
  reply?: string | ((req: RecordedRequest) => string);
  /**
   * Tool calls to answer with (`tool_use` blocks, streamed as `input_json_delta` pieces), or a
   * function of the request (undefined → `reply`). Only for requests with `tools` and a tool
   * choice other than none; fault modes other than `error` and `cut_after` do not apply to them.
   */
  toolReply?: FakeToolReply | ((req: RecordedRequest) => FakeToolReply | undefined);
  /** When set, any other `x-api-key` gets 401 `authentication_error`. Default: any non-empty key. */
  apiKey?: string;
  /** SSE line ending. Default `"\n"`; `"\r\n"` exercises CRLF parsing. */
  lineEnding?: "\n" | "\r\n";
  /** Prompt tokens reported as cache reads (`cache_read_input_tokens`, taken out of `input_tokens`). Default 0. */
  cachedTokens?: number;
  /** Ids listed by `GET /v1/models`. */
  models?: string[];
}

/** A running fake. `url` is the API origin (`/v1/messages` is appended by clients, as with `https://api.anthropic.com`). */
export interface FakeAnthropic extends FakeServerControls<FakeAnthropicMode> {
  url: string;
}

/** Events before the first text delta: message_start, content_block_start, ping. */
const PREAMBLE = 3;
const DEFAULT_MODELS = ["claude-haiku-4-5", "claude-sonnet-4-5", "claude-opus-4-5"];

/** Starts a real HTTP server on 127.0.0.1 (random port) that speaks the Anthropic Messages API wire format. */
export async function startFakeAnthropic(opts: FakeAnthropicOptions = {}): Promise<FakeAnthropic> {
  const le = opts.lineEnding ?? "\n";
  const requests: RecordedRequest[] = [];
  const sseHeaders = (n: number) => ({ ...anthropicHeaders(n), "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" });

  function sendJson(res: ServerResponse, status: number, n: number, body: string, extra?: Record<string, string>): void {
    res.writeHead(status, { ...anthropicHeaders(n), ...extra, "content-type": "application/json" });
    res.end(body);
  }

  function sendError(
    res: ServerResponse,
    n: number,
    status: number,
    fields: Partial<{ type: string; message: string }> = {},
    extra?: Record<string, string>,
  ): void {
    sendJson(res, status, n, anthropicErrorBody({ ...defaultAnthropicError(status), ...fields }, anthropicRequestId(n)), extra);
  }

  const h = await startFakeProviderHarness("fake-anthropic", opts, { route, internalError: (res, n, message) => sendError(res, n, 500, { message }) });

  function toolReplyFor(rec: RecordedRequest): FakeToolReply | undefined {
    const body = rec.body as Record<string, unknown>;
    const choice = (body.tool_choice ?? {}) as { type?: unknown };
    return scriptedToolReply(opts.toolReply, rec, Array.isArray(body.tools) && body.tools.length > 0 && choice.type !== "none");
  }

  /** An answer with `tool_use` blocks (after a text block when the reply has text); stop reason `tool_use`. */
  async function toolAnswer(rec: RecordedRequest, res: ServerResponse, n: number, m: FakeAnthropicMode, reply: FakeToolReply): Promise<void> {
    const body = rec.body as Record<string, unknown>;
    const model = String(body.model);
    const text = reply.text === undefined ? [] : replyPieces(reply.text);
    const system = body.system === undefined ? [] : [{ content: body.system }];
    const output = text.length + reply.calls.reduce((sum, c) => sum + argumentPieces(c.arguments).length + 1, 0);
    const usage = anthropicUsage(countPromptTokens([...system, ...(body.messages as unknown[])]), opts.cachedTokens ?? 0, output);
    const id = `msg_01Fake${n.toString(36).padStart(18, "0")}`;
    const first = text.length > 0 ? 1 : 0;
    if (body.stream !== true) {
      const content = [
        ...(text.length > 0 ? [{ type: "text", text: reply.text }] : []),
        ...reply.calls.map((c) => ({ type: "tool_use", id: c.id, name: c.name, input: JSON.parse(c.arguments) as unknown })),
      ];
      return sendJson(
        res,
        200,
        n,
        JSON.stringify({ id, type: "message", role: "assistant", model, content, stop_reason: "tool_use", stop_sequence: null, usage }),
      );
    }
    const events = [
      anthropicMessageStart(id, model, usage, le),
      ...(text.length > 0
        ? [
            anthropicEvent("content_block_start", { index: 0, content_block: { type: "text", text: "" } }, le),
            ...text.map((t) => anthropicEvent("content_block_delta", { index: 0, delta: { type: "text_delta", text: t } }, le)),
            anthropicEvent("content_block_stop", { index: 0 }, le),
          ]
        : []),
      ...reply.calls.flatMap((c, i) => [
        anthropicEvent("content_block_start", { index: first + i, content_block: { type: "tool_use", id: c.id, name: c.name, input: {} } }, le),
        // The API opens each tool input with an empty fragment.
        anthropicEvent("content_block_delta", { index: first + i, delta: { type: "input_json_delta", partial_json: "" } }, le),
        ...argumentPieces(c.arguments).map((partial_json) =>
          anthropicEvent("content_block_delta", { index: first + i, delta: { type: "input_json_delta", partial_json } }, le),
        ),
        anthropicEvent("content_block_stop", { index: first + i }, le),
      ]),
      anthropicEvent("message_delta", { delta: { stop_reason: "tool_use", stop_sequence: null }, usage: { output_tokens: output } }, le),
      anthropicEvent("message_stop", {}, le),
    ];
    // Of the fault modes, only a cut applies to tool answers.
    return h.streamEvents(res, m.kind === "cut_after" ? m : { kind: "ok" }, sseHeaders(n), events);
  }

  async function messages(rec: RecordedRequest, res: ServerResponse, n: number, m: FakeAnthropicMode): Promise<void> {
    const toolReply = toolReplyFor(rec);
    if (toolReply) return toolAnswer(rec, res, n, m, toolReply);
    const body = rec.body as Record<string, unknown>;
    const model = String(body.model);
    const all = replyPieces(scriptedReply(opts.reply, rec, "Hello from the fake Anthropic server."));
    const pieces = all.slice(0, body.max_tokens as number);
    const stopReason = pieces.length < all.length ? "max_tokens" : "end_turn";
    const system = body.system === undefined ? [] : [{ content: body.system }];
    const promptTokens = countPromptTokens([...system, ...(body.messages as unknown[])]);
    const usage = anthropicUsage(promptTokens, opts.cachedTokens ?? 0, pieces.length);
    const id = `msg_01Fake${n.toString(36).padStart(18, "0")}`;

    if (body.stream !== true) {
      if (m.kind === "stream_error_after") return sendError(res, n, 529);
      const json = JSON.stringify({
        id,
        type: "message",
        role: "assistant",
        model,
        content: [{ type: "text", text: pieces.join("") }],
        stop_reason: stopReason,
        stop_sequence: null,
        usage,
      });
      return h.answerWhole(res, m, { ...anthropicHeaders(n), "content-type": "application/json" }, json);
    }

    const events = [
      anthropicMessageStart(id, model, usage, le),
      anthropicEvent("content_block_start", { index: 0, content_block: { type: "text", text: "" } }, le),
      anthropicEvent("ping", {}, le),
      ...pieces.map((text) => anthropicEvent("content_block_delta", { index: 0, delta: { type: "text_delta", text } }, le)),
      anthropicEvent("content_block_stop", { index: 0 }, le),
      anthropicEvent("message_delta", { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: pieces.length } }, le),
      anthropicEvent("message_stop", {}, le),
    ];
    return h.streamEvents(res, m, sseHeaders(n), events, {
      errorEvent: () => {
        const e: { type?: string; message?: string } = m.kind === "stream_error_after" ? m : {};
        const fields = {
          ...defaultAnthropicError(529),
          ...(e.type !== undefined ? { type: e.type } : {}),
          ...(e.message !== undefined ? { message: e.message } : {}),
        };
        return anthropicEvent("error", { error: fields }, le);
      },
      malformedEvent: `event: content_block_delta${le}data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"tru${le}${le}`,
      waitBefore: (i) => (i < PREAMBLE ? 0 : m.kind === "slow" ? (m.delayMs ?? 200) : (opts.chunkDelayMs ?? 0)),
    });
  }

  function route(req: IncomingMessage, res: ServerResponse, raw: string, n: number): void | Promise<void> {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    let body = jsonBody(raw);
    if (body === INVALID_JSON) {
      body = undefined;
      if (req.method === "POST")
        return sendError(res, n, 400, { message: "There was an error parsing the body of your request. Please ensure that it is valid JSON." });
    }
    const rec: RecordedRequest = { method: req.method ?? "GET", path, headers: req.headers, body };
    requests.push(rec);
    const key = req.headers["x-api-key"];
    if (typeof key !== "string" || key === "") return sendError(res, n, 401, { message: "x-api-key header is required" });
    if (opts.apiKey !== undefined && key !== opts.apiKey) return sendError(res, n, 401);
    if (typeof req.headers["anthropic-version"] !== "string") return sendError(res, n, 400, { message: "anthropic-version: header is required" });
    const m = h.mode();
    const b = (body ?? {}) as Record<string, unknown>;

    if (req.method === "GET" && path === "/v1/models") {
      const data = (opts.models ?? DEFAULT_MODELS).map((id) => ({ type: "model", id, display_name: id, created_at: "2025-10-01T00:00:00Z" }));
      return sendJson(res, 200, n, JSON.stringify({ data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null }));
    }
    if (req.method === "POST" && path === "/v1/messages") {
      if (m.kind === "error") {
        return sendError(
          res,
          n,
          m.status,
          { ...(m.type !== undefined ? { type: m.type } : {}), ...(m.message !== undefined ? { message: m.message } : {}) },
          m.headers,
        );
      }
      const problem = validateMessagesBody(b);
      if (problem) return sendError(res, n, 400, { type: "invalid_request_error", message: problem });
      return messages(rec, res, n, m);
    }
    if (req.method === "POST" && path === "/v1/messages/count_tokens") {
      const system = b.system === undefined ? [] : [{ content: b.system }];
      return sendJson(res, 200, n, JSON.stringify({ input_tokens: countPromptTokens([...system, ...(Array.isArray(b.messages) ? b.messages : [])]) }));
    }
    return sendError(res, n, 404, { type: "not_found_error", message: `Not Found: ${req.method} ${path}` });
  }

  return { url: h.origin, ...h.controls(requests) };
}
