import type { Pool } from "undici";

/** What one job's event stream showed, with times relative to `t0` (ms). */
export interface StreamTiming {
  status: number;
  /** `done` or `error`, or null when the stream ended without a terminal event. */
  terminal: "done" | "error" | null;
  firstDeltaMs: number | null;
  terminalMs: number | null;
  deltas: number;
}

/**
 * Reads `GET path` as SSE over a keep-alive pool and notes when the first `delta` and the
 * terminal event arrive. The body is read to its end (the gateway closes it right after the
 * terminal event) so the connection goes back to the pool instead of being torn down.
 */
export async function sseUntilTerminal(pool: Pool, path: string, headers: Record<string, string>, t0: number, timeoutMs: number): Promise<StreamTiming> {
  const res = await pool.request({ method: "GET", path, headers: { accept: "text/event-stream", ...headers }, bodyTimeout: timeoutMs, headersTimeout: timeoutMs });
  const out: StreamTiming = { status: res.statusCode, terminal: null, firstDeltaMs: null, terminalMs: null, deltas: 0 };
  if (res.statusCode !== 200) {
    await res.body.dump();
    return out;
  }
  res.body.setEncoding("utf8");
  let buf = "";
  for await (const chunk of res.body as AsyncIterable<string>) {
    const now = performance.now();
    buf += chunk;
    let idx: number;
    while ((idx = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, idx);
      buf = buf.slice(idx + 2);
      const m = /^event: (\w+)$/m.exec(block);
      const type = m?.[1];
      if (type === "delta") {
        out.deltas++;
        out.firstDeltaMs ??= now - t0;
      } else if ((type === "done" || type === "error") && out.terminal === null) {
        out.terminal = type;
        out.terminalMs = now - t0;
      }
    }
  }
  return out;
}
