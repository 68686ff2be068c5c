import http from "node:http";

export interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

export interface SseReadResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  events: SseEvent[];
  comments: string[];
  /** True when we cut the connection ourselves (stopAfter). */
  cut: boolean;
}

/**
 * A minimal SSE client over node:http: collects events until the server closes the stream, or
 * until `stopAfter` events have arrived, when it destroys the socket (a dropped connection).
 */
export function readSse(url: string, opts: { headers?: Record<string, string>; stopAfter?: number; timeoutMs?: number } = {}): Promise<SseReadResult> {
  return new Promise((resolve, reject) => {
    const events: SseEvent[] = [];
    const comments: string[] = [];
    let buf = "";
    let cut = false;
    const req = http.get(url, { headers: { accept: "text/event-stream", ...opts.headers } }, (res) => {
      const timer = setTimeout(() => {
        cut = true;
        req.destroy();
      }, opts.timeoutMs ?? 30_000);
      res.setEncoding("utf8");
      const finish = () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, events, comments, cut });
      };
      res.on("data", (chunk: string) => {
        buf += chunk;
        let idx: number;
        while ((idx = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, idx);
          buf = buf.slice(idx + 2);
          const ev: SseEvent = { event: "message", data: "" };
          const data: string[] = [];
          let isComment = true;
          for (const line of block.split("\n")) {
            if (line.startsWith(":")) {
              comments.push(line.slice(1).trim());
              continue;
            }
            isComment = false;
            const c = line.indexOf(":");
            const field = c < 0 ? line : line.slice(0, c);
            const value = c < 0 ? "" : line.slice(c + 1).replace(/^ /, "");
            if (field === "id") ev.id = value;
            else if (field === "event") ev.event = value;
            else if (field === "data") data.push(value);
          }
          if (isComment) continue;
          ev.data = data.join("\n");
          events.push(ev);
          if (opts.stopAfter !== undefined && events.length >= opts.stopAfter) {
            cut = true;
            req.destroy();
            return finish();
          }
        }
      });
      res.on("end", finish);
      res.on("close", finish);
      res.on("error", () => finish());
    });
    req.on("error", (err) => (cut ? undefined : reject(err)));
  });
}
