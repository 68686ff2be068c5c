import type { Pool } from "undici";

/** What one streamed `POST …/chat/completions` showed; `*Ms` are receive times relative to `t0` (performance.now()). */
export interface ChatStreamTiming {
  status: number;
  /** When the response headers arrived. */
  headersMs: number;
  /** When the first `chat.completion.chunk` with non-empty `delta.content` arrived (null: none did). */
  firstContentMs: number | null;
  /** When `data: [DONE]` arrived (null: the body ended without it). */
  doneMs: number | null;
  /** Chunks with non-empty content. */
  contentChunks: number;
  /** The text of every content chunk, joined. */
  text: string;
  headers: Record<string, string | string[] | undefined>;
  /** A `data: {"error":…}` payload, if the stream carried one. */
  error: string | null;
}

/**
 * POSTs a streaming Chat Completions request over a keep-alive pool and notes when the headers,
 * the first content chunk and `[DONE]` arrive. The body is read to its end so the connection goes
 * back to the pool. Works against OpenAI's wire format (a fake upstream, or Switchyard's facade).
 */
export async function chatStreamTiming(
  pool: Pool,
  path: string,
  headers: Record<string, string>,
  body: unknown,
  t0: number,
  timeoutMs: number,
): Promise<ChatStreamTiming> {
  const res = await pool.request({
    method: "POST",
    path,
    headers: { "content-type": "application/json", accept: "text/event-stream", ...headers },
    body: JSON.stringify(body),
    bodyTimeout: timeoutMs,
    headersTimeout: timeoutMs,
  });
  const out: ChatStreamTiming = {
    status: res.statusCode,
    headersMs: performance.now() - t0,
    firstContentMs: null,
    doneMs: null,
    contentChunks: 0,
    text: "",
    headers: res.headers,
    error: null,
  };
  if (res.statusCode !== 200) {
    out.error = (await res.body.text()).slice(0, 300);
    return out;
  }
  res.body.setEncoding("utf8");
  let buf = "";
  for await (const piece of res.body as AsyncIterable<string>) {
    const now = performance.now();
    buf += piece;
    let idx: number;
    while ((idx = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, idx);
      buf = buf.slice(idx + 2);
      const data = block
        .split("\n")
        .filter((l) => l.startsWith("data: "))
        .map((l) => l.slice(6))
        .join("\n");
      if (data === "") continue;
      if (data === "[DONE]") {
        out.doneMs ??= now - t0;
        continue;
      }
      const json = JSON.parse(data) as { error?: { message?: string }; choices?: Array<{ delta?: { content?: string | null } }> };
      if (json.error) out.error = json.error.message ?? JSON.stringify(json.error);
      const content = json.choices?.[0]?.delta?.content;
      if (typeof content === "string" && content !== "") {
        out.contentChunks++;
        out.text += content;
        out.firstContentMs ??= now - t0;
      }
    }
  }
  return out;
}
