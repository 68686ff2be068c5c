import type { Pool } from "undici";

/**
 * What one job's event stream showed. `*Ms` are client receive times relative to `t0`
 * (performance.now()); `written.*` are when the worker wrote the event, read from the Redis
 * Stream id (`<ms>-<seq>`) and taken relative to `t0Wall` (Date.now() at the same instant).
 */
export interface StreamTiming {
  status: number;
  /** `done` or `error`, or null when the stream ended without a terminal event. */
  terminal: "done" | "error" | null;
  firstDeltaMs: number | null;
  terminalMs: number | null;
  deltas: number;
  written: { running: number | null; firstDelta: number | null; terminal: number | null };
}

/**
 * Reads `GET path` as SSE over a keep-alive pool and notes when the first `delta` and the
 * terminal event arrive. The body is read to its end (the gateway closes it right after the
 * terminal event) so the connection goes back to the pool instead of being torn down.
 */
export async function sseUntilTerminal(
  pool: Pool,
  path: string,
  headers: Record<string, string>,
  t0: { perf: number; wall: number },
  timeoutMs: number,
): Promise<StreamTiming> {
  const res = await pool.request({
    method: "GET",
    path,
    headers: { accept: "text/event-stream", ...headers },
    bodyTimeout: timeoutMs,
    headersTimeout: timeoutMs,
  });
  const out: StreamTiming = {
    status: res.statusCode,
    terminal: null,
    firstDeltaMs: null,
    terminalMs: null,
    deltas: 0,
    written: { running: null, firstDelta: null, terminal: null },
  };
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
      const type = /^event: (\w+)$/m.exec(block)?.[1];
      const idMs = Number(/^id: (\d+)-\d+$/m.exec(block)?.[1] ?? NaN);
      const writtenAt = Number.isFinite(idMs) ? idMs - t0.wall : null;
      if (type === "status" && out.written.running === null && /"status":"running"/.test(block)) out.written.running = writtenAt;
      else if (type === "delta") {
        out.deltas++;
        if (out.firstDeltaMs === null) {
          out.firstDeltaMs = now - t0.perf;
          out.written.firstDelta = writtenAt;
        }
      } else if ((type === "done" || type === "error") && out.terminal === null) {
        out.terminal = type;
        out.terminalMs = now - t0.perf;
        out.written.terminal = writtenAt;
      }
    }
  }
  return out;
}
