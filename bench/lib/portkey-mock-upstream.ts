/**
 * The mock OpenAI upstream of `bench/portkey-compare.ts`: `POST /v1/chat/completions` answered
 * after a fixed delay, and counters on `GET /_stats`. It runs in a process of its own (the bench
 * file started again with `--mock-upstream`: {@link startMock}), so the load generator's event
 * loop cannot delay its timers.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { spawnChild, waitFor, type Child } from "./portkey-children";
import { API_KEY, REPLY, REPLY_PIECES, USAGE } from "./portkey-config";

/** Counters the mock serves on `GET /_stats`. */
export interface MockStats {
  chat: number;
  stream: number;
  non_stream: number;
  rejected: number;
}

function openaiError(res: ServerResponse, status: number, message: string, param: string | null = null): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify({ error: { message, type: "invalid_request_error", param, code: null } }));
}

/**
 * `POST /v1/chat/completions` answered after `delayMs` (from the end of the request body), whole:
 * a non-stream request gets a chat.completion, a streamed one every chunk at once (role, one per
 * reply piece, finish, usage when asked, `[DONE]`), so both modes cost the same upstream time.
 */
export function runMockUpstream(delayMs: number): void {
  const stats: MockStats = { chat: 0, stream: 0, non_stream: 0, rejected: 0 };
  let seq = 0;
  const answer = (res: ServerResponse, body: { model: string; stream?: unknown; stream_options?: { include_usage?: unknown } }): void => {
    const id = `chatcmpl-mock${++seq}`;
    const created = Math.floor(Date.now() / 1000);
    const base = { id, created, model: body.model, system_fingerprint: "fp_mock", service_tier: "default" };
    if (body.stream !== true) {
      stats.non_stream++;
      const json = JSON.stringify({
        ...base,
        object: "chat.completion",
        choices: [{ index: 0, message: { role: "assistant", content: REPLY, refusal: null, annotations: [] }, logprobs: null, finish_reason: "stop" }],
        usage: USAGE,
      });
      res.writeHead(200, { "content-type": "application/json", "x-request-id": id });
      res.end(json);
      return;
    }
    stats.stream++;
    const includeUsage = body.stream_options?.include_usage === true;
    const chunk = (delta: Record<string, unknown>, finish: string | null) =>
      JSON.stringify({
        ...base,
        object: "chat.completion.chunk",
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
        ...(includeUsage ? { usage: null } : {}),
      });
    const events = [
      chunk({ role: "assistant", content: "", refusal: null }, null),
      ...REPLY_PIECES.map((p) => chunk({ content: p }, null)),
      chunk({}, "stop"),
      ...(includeUsage ? [JSON.stringify({ ...base, object: "chat.completion.chunk", choices: [], usage: USAGE })] : []),
      "[DONE]",
    ];
    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "x-request-id": id });
    res.end(events.map((e) => `data: ${e}\n\n`).join(""));
  };
  const server = createServer({ keepAliveTimeout: 65_000 }, (req: IncomingMessage, res: ServerResponse) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => {
      const url = (req.url ?? "/").split("?")[0];
      if (req.method === "GET" && url === "/_stats") {
        res.writeHead(200, { "content-type": "application/json" });
        return void res.end(JSON.stringify(stats));
      }
      if (req.method !== "POST" || url !== "/v1/chat/completions") {
        stats.rejected++;
        return openaiError(res, 404, `Unknown request URL: ${req.method} ${url}.`);
      }
      stats.chat++;
      const auth = req.headers.authorization ?? "";
      if (auth !== `Bearer ${API_KEY}`) {
        stats.rejected++;
        res.writeHead(401, { "content-type": "application/json" });
        return void res.end(
          JSON.stringify({ error: { message: "Incorrect API key provided.", type: "invalid_request_error", param: null, code: "invalid_api_key" } }),
        );
      }
      let body: { model?: unknown; messages?: unknown; stream?: unknown; stream_options?: { include_usage?: unknown } };
      try {
        body = JSON.parse(Buffer.concat(parts).toString("utf8")) as typeof body;
      } catch {
        stats.rejected++;
        return openaiError(res, 400, "We could not parse the JSON body of your request.");
      }
      if (typeof body.model !== "string") return (stats.rejected++, openaiError(res, 400, "you must provide a model parameter", "model"));
      if (!Array.isArray(body.messages) || body.messages.length === 0)
        return (stats.rejected++, openaiError(res, 400, "Invalid 'messages': empty array.", "messages"));
      const model = body.model;
      setTimeout(() => answer(res, { ...body, model }), delayMs);
    });
  });
  server.headersTimeout = 66_000;
  server.listen(0, "127.0.0.1", () => {
    process.stdout.write(`mock-upstream listening ${(server.address() as AddressInfo).port}\n`);
  });
  // Dies with its parent: a closed stdin means the bench is gone.
  process.stdin.resume();
  process.stdin.on("end", () => process.exit(0));
  process.on("SIGTERM", () => process.exit(0));
}

/** Starts the mock: `entry` (the bench file, which runs {@link runMockUpstream} when given `--mock-upstream`) under node with tsx. */
export async function startMock(entry: string, delayMs: number): Promise<{ child: Child; url: string; stats(): Promise<MockStats> }> {
  const c = spawnChild("mock-upstream", process.execPath, ["--import", "tsx", entry, "--mock-upstream", String(delayMs)]);
  let port = 0;
  await waitFor(
    "mock upstream",
    c,
    async () => {
      const m = /mock-upstream listening (\d+)/.exec(c.output());
      if (m) port = Number(m[1]);
      return port > 0;
    },
    30_000,
  );
  const origin = `http://127.0.0.1:${port}`;
  return {
    child: c,
    url: origin,
    async stats() {
      const res = await fetch(`${origin}/_stats`, { signal: AbortSignal.timeout(5000) });
      return (await res.json()) as MockStats;
    },
  };
}
