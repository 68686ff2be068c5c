import type { IncomingMessage, ServerResponse } from "node:http";
import {
  countPromptTokens,
  defaultErrorFields,
  embeddingBase64,
  embeddingFor,
  errorBody,
  logprobsProblem,
  obfuscation,
  replyPieces,
  tokenLogprobs,
  toolProblem,
  usageObject,
} from "./fake-openai.test-helpers";
export * from "./fake-openai-types";
import { argumentPieces, type FakeOpenAI, type FakeOpenAIMode, type FakeOpenAIOptions, type FakeToolReply, type RecordedRequest } from "./fake-openai-types";
import { INVALID_JSON, jsonBody, scriptedReply, scriptedToolReply, startFakeProviderHarness } from "./fake-provider-harness";

const DEFAULT_MODELS = ["gpt-4o-mini", "gpt-4.1-nano", "gpt-4.1", "text-embedding-3-small"];

/**
 * Starts a real HTTP server on 127.0.0.1 (random port) that speaks OpenAI's wire format. A text
 * answer asked with `logprobs: true` carries `choices[].logprobs.content` (one item per reply
 * piece, `top_logprobs` alternatives each); a tool-call answer carries none.
 */
export async function startFakeOpenAI(opts: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const le = opts.lineEnding ?? "\n";
  const requests: RecordedRequest[] = [];

  const headersFor = (n: number, extra: Record<string, string> = {}): Record<string, string> => ({
    "x-request-id": `req_${n.toString(16).padStart(24, "0")}`,
    "openai-version": "2020-10-01",
    "openai-organization": "org-fake",
    "openai-processing-ms": "7",
    "x-ratelimit-limit-requests": "10000",
    "x-ratelimit-remaining-requests": String(Math.max(0, 9999 - n)),
    "x-ratelimit-reset-requests": "6ms",
    "x-ratelimit-limit-tokens": "30000000",
    "x-ratelimit-remaining-tokens": "29999000",
    "x-ratelimit-reset-tokens": "2ms",
    ...extra,
  });
  const sseHeaders = (n: number) => ({ ...headersFor(n), "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" });

  function sendJson(res: ServerResponse, status: number, n: number, body: string, extra?: Record<string, string>): void {
    res.writeHead(status, { ...headersFor(n, extra), "content-type": "application/json" });
    res.end(body);
  }

  function sendError(
    res: ServerResponse,
    n: number,
    status: number,
    fields: Partial<{ type: string; code: string | null; message: string; param: string | null }> = {},
    extra?: Record<string, string>,
  ): void {
    sendJson(res, status, n, errorBody({ ...defaultErrorFields(status), ...fields }), extra);
  }

  const h = await startFakeProviderHarness("fake-openai", opts, { route, internalError: (res, n, message) => sendError(res, n, 500, { message }) });

  async function chat(rec: RecordedRequest, res: ServerResponse, n: number, m: FakeOpenAIMode): Promise<void> {
    const body = rec.body as Record<string, unknown>;
    const model = String(body.model);
    const all = replyPieces(scriptedReply(opts.reply, rec, "Hello from the fake OpenAI server."));
    const cap = typeof body.max_completion_tokens === "number" ? body.max_completion_tokens : typeof body.max_tokens === "number" ? body.max_tokens : Infinity;
    const pieces = all.slice(0, cap);
    const finish = pieces.length < all.length ? "length" : "stop";
    const usage = usageObject(countPromptTokens(body.messages), pieces.length);
    const id = `chatcmpl-fake${n}`;
    const created = Math.floor(Date.now() / 1000);
    const toolReply = scriptedToolReply(opts.toolReply, rec, Array.isArray(body.tools) && body.tools.length > 0 && body.tool_choice !== "none");
    // With `logprobs: true`, each reply piece is one token: `logprobs.content` items, `top_logprobs` alternatives each.
    const logprobs = body.logprobs === true ? tokenLogprobs(pieces, typeof body.top_logprobs === "number" ? body.top_logprobs : 0) : null;

    if (body.stream !== true && !toolReply) {
      if ("streamOnly" in m && m.streamOnly) m = { kind: "ok" };
      if (m.kind === "stream_error_after") return sendError(res, n, 500);
      const json = JSON.stringify({
        id,
        object: "chat.completion",
        created,
        model,
        choices: [
          {
            index: 0,
            message: { role: "assistant", content: pieces.join(""), refusal: null, annotations: [] },
            logprobs: logprobs ? { content: logprobs, refusal: null } : null,
            finish_reason: finish,
          },
        ],
        usage,
        service_tier: "default",
        system_fingerprint: "fp_fake",
      });
      return h.answerWhole(res, m, { ...headersFor(n), "content-type": "application/json" }, json);
    }

    if (toolReply) return toolAnswer(rec, res, n, m, toolReply);

    const streamOptions = (body.stream_options ?? {}) as { include_usage?: unknown; include_obfuscation?: unknown };
    const includeUsage = streamOptions.include_usage === true;
    let chunkSeq = 0;
    const chunk = (choices: unknown[], usageValue?: unknown): string =>
      JSON.stringify({
        id,
        object: "chat.completion.chunk",
        created,
        model,
        service_tier: "default",
        system_fingerprint: "fp_fake",
        choices,
        ...(includeUsage ? { usage: usageValue ?? null } : {}),
        ...(streamOptions.include_obfuscation === false ? {} : { obfuscation: obfuscation(n * 1000 + chunkSeq++) }),
      });
    // As OpenAI streams them: the role chunk has `content: []`, each piece its token, the finish chunk null.
    const choice = (delta: Record<string, unknown>, finishReason: string | null, tokens: unknown[] | null = null): unknown[] => [
      { index: 0, delta, logprobs: logprobs && tokens ? { content: tokens, refusal: null } : null, finish_reason: finishReason },
    ];
    const events = [
      chunk(choice({ role: "assistant", content: "", refusal: null }, null, [])),
      ...pieces.map((p, i) => chunk(choice({ content: p }, null, logprobs ? [logprobs[i]] : null))),
      chunk(choice({}, finish)),
      ...(includeUsage ? [chunk([], usage)] : []),
      "[DONE]",
    ];
    return h.streamEvents(
      res,
      m,
      sseHeaders(n),
      events.map((e) => `data: ${e}${le}${le}`),
      {
        errorEvent: () =>
          m.kind === "stream_error_after"
            ? `data: ${errorBody({ type: m.type ?? "server_error", code: null, message: m.message ?? "The server had an error while processing your request." })}${le}${le}`
            : "",
        malformedEvent: `data: {"id":"${id}","object":"chat.completion.chunk","choices":[{"delta":{"content":"tru${le}${le}`,
        waitBefore: (i) => (i === 0 ? (opts.firstChunkDelayMs ?? 0) : m.kind === "slow" ? (m.delayMs ?? 200) : (opts.chunkDelayMs ?? 0)),
      },
    );
  }

  /** An answer that calls tools: `message.tool_calls`, or streamed `delta.tool_calls` pieces by index; finish reason `tool_calls`. */
  async function toolAnswer(rec: RecordedRequest, res: ServerResponse, n: number, m: FakeOpenAIMode, reply: FakeToolReply): Promise<void> {
    const body = rec.body as Record<string, unknown>;
    const model = String(body.model);
    const text = reply.text === undefined ? [] : replyPieces(reply.text);
    const completion = text.length + reply.calls.reduce((sum, c) => sum + argumentPieces(c.arguments).length + 1, 0);
    const usage = usageObject(countPromptTokens(body.messages), completion);
    const id = `chatcmpl-fake${n}`;
    const created = Math.floor(Date.now() / 1000);
    if (m.kind === "error") return sendError(res, n, m.status, {}, m.headers);
    if (body.stream !== true) {
      const toolCalls = reply.calls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.arguments } }));
      return sendJson(
        res,
        200,
        n,
        JSON.stringify({
          id,
          object: "chat.completion",
          created,
          model,
          choices: [
            {
              index: 0,
              message: { role: "assistant", content: reply.text ?? null, tool_calls: toolCalls, refusal: null, annotations: [] },
              logprobs: null,
              finish_reason: "tool_calls",
            },
          ],
          usage,
          service_tier: "default",
          system_fingerprint: "fp_fake",
        }),
      );
    }
    const includeUsage = (body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
    const chunk = (delta: Record<string, unknown>, finishReason: string | null): string =>
      JSON.stringify({
        id,
        object: "chat.completion.chunk",
        created,
        model,
        system_fingerprint: "fp_fake",
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
        ...(includeUsage ? { usage: null } : {}),
      });
    const events = [
      chunk({ role: "assistant", content: text.length > 0 ? "" : null, refusal: null }, null),
      ...text.map((p) => chunk({ content: p }, null)),
      ...reply.calls.flatMap((c, index) => [
        chunk({ tool_calls: [{ index, id: c.id, type: "function", function: { name: c.name, arguments: "" } }] }, null),
        ...argumentPieces(c.arguments).map((arguments_) => chunk({ tool_calls: [{ index, function: { arguments: arguments_ } }] }, null)),
      ]),
      chunk({}, "tool_calls"),
      ...(includeUsage ? [JSON.stringify({ id, object: "chat.completion.chunk", created, model, choices: [], usage })] : []),
      "[DONE]",
    ];
    // Of the fault modes, only a cut applies to tool answers.
    return h.streamEvents(
      res,
      m.kind === "cut_after" ? m : { kind: "ok" },
      sseHeaders(n),
      events.map((e) => `data: ${e}${le}${le}`),
    );
  }

  function route(req: IncomingMessage, res: ServerResponse, raw: string, n: number): void | Promise<void> {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    let body = jsonBody(raw);
    if (body === INVALID_JSON) {
      body = undefined;
      if (req.method === "POST") return sendError(res, n, 400, { code: null, message: "We could not parse the JSON body of your request." });
    }
    const rec: RecordedRequest = { method: req.method ?? "GET", path, headers: req.headers, body };
    requests.push(rec);
    const auth = req.headers.authorization ?? "";
    if (!auth.startsWith("Bearer ") || auth.length <= 7)
      return sendError(res, n, 401, {
        code: null,
        message:
          "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
      });
    if (opts.apiKey !== undefined && auth !== `Bearer ${opts.apiKey}`) return sendError(res, n, 401);
    const m = h.mode();
    const b = (body ?? {}) as Record<string, unknown>;

    if (req.method === "GET" && path === "/v1/models") {
      const data = (opts.models ?? DEFAULT_MODELS).map((id) => ({ id, object: "model", created: 1686935002, owned_by: "system" }));
      return sendJson(res, 200, n, JSON.stringify({ object: "list", data }));
    }
    if (req.method === "GET" && path.startsWith("/v1/models/")) {
      const id = decodeURIComponent(path.slice("/v1/models/".length));
      if (!(opts.models ?? DEFAULT_MODELS).includes(id))
        return sendError(res, n, 404, { message: `The model \`${id}\` does not exist or you do not have access to it.` });
      return sendJson(res, 200, n, JSON.stringify({ id, object: "model", created: 1686935002, owned_by: "system" }));
    }
    if (req.method === "POST" && (path === "/v1/chat/completions" || path === "/v1/embeddings") && m.kind === "error") {
      return sendError(
        res,
        n,
        m.status,
        {
          ...(m.type !== undefined ? { type: m.type } : {}),
          ...(m.code !== undefined ? { code: m.code } : {}),
          ...(m.message !== undefined ? { message: m.message } : {}),
        },
        m.headers,
      );
    }
    if (req.method === "POST" && path === "/v1/chat/completions") {
      if (typeof b.model !== "string") return sendError(res, n, 400, { code: null, param: "model", message: "you must provide a model parameter" });
      if (!Array.isArray(b.messages) || b.messages.length === 0)
        return sendError(res, n, 400, {
          code: "empty_array",
          param: "messages",
          message: "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
        });
      if (b.stream_options != null && b.stream !== true)
        return sendError(res, n, 400, {
          code: null,
          param: "stream_options",
          message: "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
        });
      const problem = toolProblem(b) ?? logprobsProblem(b);
      if (problem) return sendError(res, n, 400, { code: null, param: problem.param, message: problem.message });
      return chat(rec, res, n, m);
    }
    if (req.method === "POST" && path === "/v1/embeddings") {
      const input = typeof b.input === "string" ? [b.input] : b.input;
      if (typeof b.model !== "string" || !Array.isArray(input) || input.length === 0 || !input.every((x) => typeof x === "string" && x !== "")) {
        return sendError(res, n, 400, { code: null, param: "input", message: "'input' must be a non-empty string or array of non-empty strings" });
      }
      const dims = typeof b.dimensions === "number" ? b.dimensions : (opts.embeddingDimensions ?? 8);
      const data = (input as string[]).map((text, index) => {
        const v = embeddingFor(text, dims);
        return { object: "embedding", index, embedding: b.encoding_format === "base64" ? embeddingBase64(v) : v };
      });
      const tokens = countPromptTokens((input as string[]).map((content) => ({ content })));
      return sendJson(res, 200, n, JSON.stringify({ object: "list", data, model: b.model, usage: { prompt_tokens: tokens, total_tokens: tokens } }));
    }
    return sendError(res, n, 404, { type: "invalid_request_error", code: "unknown_url", message: `Unknown request URL: ${req.method} ${path}.` });
  }

  return { url: `${h.origin}/v1`, ...h.controls(requests) };
}
