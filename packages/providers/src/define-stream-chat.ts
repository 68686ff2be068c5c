import { ProviderError, hasTools, type ChatChunk, type ChatProvider, type ChatRequest, type TextChatChunk, type TextChatRequest } from "./types";

/**
 * Builds a ChatProvider's `streamChat` from an implementation that may yield tool-call chunks.
 * The promise of the interface's first overload (a request without tools gets text chunks only)
 * is kept here, once for every adapter: a tool call in the answer to a request that declared no
 * tools is a `malformed` answer, never handed on as text.
 */
export function defineStreamChat(provider: string, impl: (req: ChatRequest) => AsyncIterable<ChatChunk>): ChatProvider["streamChat"] {
  function streamChat(req: TextChatRequest): AsyncIterable<TextChatChunk>;
  function streamChat(req: ChatRequest): AsyncIterable<ChatChunk>;
  function streamChat(req: ChatRequest): AsyncIterable<ChatChunk> {
    return hasTools(req) ? impl(req) : textOnly(provider, impl(req));
  }
  return streamChat;
}

async function* textOnly(provider: string, chunks: AsyncIterable<ChatChunk>): AsyncGenerator<TextChatChunk> {
  for await (const c of chunks) {
    if (c.type === "tool_call") throw new ProviderError("malformed", `${provider}: the answer calls a tool, but the request declared none`, { provider });
    yield c;
  }
}
