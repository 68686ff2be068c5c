import { toProviderError } from "../http/errors";
import { readSseEvents, SseDecoder } from "../http/sse";
import { ProviderError, isProviderError, type ChatChunk, type ChatRequest, type TokenUsage } from "../types";
import { mapFinish, readResponse } from "./chat";
import { readGeminiError } from "./errors";
import { buildGenerateContentBody, methodPath, type GeminiContext } from "./request";
import { toolCallId } from "./tools";

/** Most text kept from lines that are not SSE (a bare JSON error body); more than this is not an error body. */
const STRAY_LIMIT = 64 * 1024;

/**
 * Streaming `POST /{version}/models/{model}:streamGenerateContent?alt=sse` (LF, CRLF or CR
 * framing). Each `data:` chunk is a GenerateContentResponse with only the new text (and whole
 * `functionCall` parts, each yielded as one tool-call piece); every chunk
 * repeats the cumulative `usageMetadata`, so the last one seen is reported, once, after the
 * finish reason. Gemini has no end sentinel: the stream is complete when the body ends after a
 * chunk with `finishReason` (or a blocked prompt); ending earlier is a `connection` error.
 * Errors may come as `data: {"error":…}` or as a bare (possibly pretty-printed) JSON error body
 * in the stream; both throw, mapped like HTTP errors. No bytes for `streamIdleTimeoutMs` is a
 * `timeout`; aborting the signal, or returning early, closes the socket.
 */
export async function* streamChat(ctx: GeminiContext, req: ChatRequest): AsyncGenerator<ChatChunk> {
  const provider = ctx.http.name;
  const { signal } = req;
  const idleMs = ctx.streamIdleTimeoutMs;
  const body = await ctx.http.post(`${methodPath(ctx, req.model, "streamGenerateContent")}?alt=sse`, buildGenerateContentBody(req), {
    signal,
    accept: "text/event-stream",
    // readSseEvents' idle timer replaces undici's body timeout (consumer time is not upstream silence).
    bodyTimeoutMs: idleMs > 0 ? 0 : ctx.timeoutMs,
  });
  let stray = "";
  const decoder = new SseDecoder({
    onIgnoredLine(line) {
      if (stray.length > STRAY_LIMIT) return undefined;
      stray += `${line}\n`;
      let json: unknown;
      try {
        json = JSON.parse(stray);
      } catch {
        return undefined; // not (yet) a whole JSON document
      }
      if (!readGeminiError(json)) return undefined;
      // Handed on as an event, in wire order: readResponse below throws the mapped error.
      const data = stray;
      stray = "";
      return { event: "message", data };
    },
  });
  let finishReason: string | undefined;
  let usage: TokenUsage | null = null;
  let calls = 0;
  const ending = (): ChatChunk[] => [
    { type: "finish", finishReason: mapFinish(finishReason ?? "STOP", calls > 0) },
    ...(usage ? [{ type: "usage" as const, usage }] : []),
  ];
  try {
    for await (const ev of readSseEvents(body, { provider, idleMs, decoder })) {
      let json: unknown;
      try {
        json = JSON.parse(ev.data);
      } catch (cause) {
        throw new ProviderError("malformed", `${provider}: stream chunk is not JSON: ${ev.data.slice(0, 120)}`, { provider, cause });
      }
      const chunk = readResponse(provider, json);
      if (chunk.usage) usage = chunk.usage;
      if (chunk.finishReason !== undefined) finishReason = chunk.finishReason;
      if (chunk.text !== "") yield { type: "delta", text: chunk.text };
      // Function calls arrive whole: each is one piece carrying id, name and all of its arguments.
      for (const c of chunk.functionCalls ?? []) {
        const index = calls++;
        yield { type: "tool_call", index, id: toolCallId(c, chunk.responseId, index), name: c.name, argumentsDelta: JSON.stringify(c.args) };
      }
    }
  } catch (err) {
    // A cut (or a stall) after the finishing chunk loses nothing: Gemini sends nothing after it.
    const transport = !isProviderError(err) || err.kind === "connection" || err.kind === "timeout";
    if (finishReason !== undefined && !signal?.aborted && transport) {
      yield* ending();
      return;
    }
    throw toProviderError(err, { provider, signal, phase: "body" });
  }
  if (finishReason === undefined) {
    if (stray.trim() !== "")
      throw new ProviderError("malformed", `${provider}: stream carried text that is not an event: ${stray.slice(0, 120)}`, { provider });
    throw new ProviderError("connection", `${provider}: upstream cut the stream before a finishReason`, { provider });
  }
  yield* ending();
}
