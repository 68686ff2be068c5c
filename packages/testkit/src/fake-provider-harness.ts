import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One request the fake received, body parsed as JSON (undefined when empty or not JSON). */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

/** One tool call a fake answers with; `arguments` is the JSON text, streamed in pieces. */
export interface FakeToolCall {
  id: string;
  name: string;
  arguments: string;
}

/**
 * A scripted answer that calls tools (optionally after some text). The fakes give it only to a
 * request that declares tools and does not set tool choice to none; anything else gets `reply`.
 */
export interface FakeToolReply {
  text?: string;
  calls: FakeToolCall[];
}

/**
 * The fault vocabulary every fake shares (FakeOpenAIMode and its siblings add their own fields):
 * `chunks` counts the events already written when a stream fault happens.
 */
export type FakeFault =
  | { kind: "ok" }
  | { kind: "error"; status: number }
  | { kind: "cut_after"; chunks: number }
  | { kind: "malformed_after"; chunks: number }
  | { kind: "stall_after"; chunks: number }
  | { kind: "stream_error_after"; chunks: number }
  | { kind: "slow"; delayMs?: number };

/** What every running fake offers besides its `url`. */
export interface FakeServerControls<M, R extends RecordedRequest = RecordedRequest> {
  requests: R[];
  /** TCP connections accepted so far (keep-alive reuse keeps this low). */
  connections(): number;
  /** Responses the client closed before they ended (a cut made by the fake itself is not counted). */
  abortedRequests(): number;
  /** Resolves once `abortedRequests() >= count` (default 1); rejects after `timeoutMs` (default 5000). */
  waitForClientAbort(timeoutMs?: number, count?: number): Promise<void>;
  setMode(mode: M): void;
  close(): Promise<void>;
}

/** Options every fake takes alike. */
export interface FakeServerOptions<M, R extends RecordedRequest = RecordedRequest> {
  /** Delay before each stream chunk after the first (OpenAI, Gemini) or after the preamble (Anthropic). Default 0. */
  chunkDelayMs?: number;
  /** Initial mode. Default `{ kind: "ok" }`. */
  mode?: M;
  /** Write each SSE event in pieces of this many bytes (splitting UTF-8 sequences). Default: whole events. */
  fragmentBytes?: number;
  /**
   * Tool calls to answer with (see FakeToolReply), or a function of the request (undefined →
   * `reply`). Only for requests that offer tools and do not turn tool calling off.
   */
  toolReply?: FakeToolReply | ((req: R) => FakeToolReply | undefined);
}

/** How the harness answers one request: `n` numbers the requests from 1, `raw` is the body text. */
export type FakeRoute = (req: IncomingMessage, res: ServerResponse, raw: string, n: number) => void | Promise<void>;

/** A fake's own wire format, which the harness serves. */
export interface FakeWire {
  route: FakeRoute;
  /** Answers a request whose route threw before sending headers (a 500 in the provider's error shape). */
  internalError(res: ServerResponse, n: number, message: string): void;
}

/** How {@link FakeProviderHarness.streamEvents} meets a fault at `chunks` events. */
export interface StreamFaults {
  /** The framed event `stream_error_after` writes before ending the stream. */
  errorEvent?: () => string;
  /** The framed, truncated event `malformed_after` writes before the rest. */
  malformedEvent?: string;
  /** Delay before event `i` (0: none). */
  waitBefore?: (i: number) => number;
}

/**
 * One fake provider's HTTP server on 127.0.0.1 (a random port): request numbering, the current
 * mode, timers cleared on close, SSE writes (whole or in `fragmentBytes` pieces), scripted faults
 * (cuts, stalls, malformed or error events, slow chunks) on whole and streamed answers, and the
 * counters and controls every fake returns. The three fakes (`fake-openai.ts`, `fake-anthropic.ts`,
 * `fake-gemini.ts`) add only their wire format: routes, headers, bodies and error shapes.
 */
export interface FakeProviderHarness<M> {
  /** `http://127.0.0.1:<port>`. */
  origin: string;
  mode(): M | { kind: "ok" };
  /** True once `close` began: streams stop writing. */
  closing(): boolean;
  /** A delay that `close` cancels. */
  delay(ms: number): Promise<void>;
  /** Writes `text` (in `fragmentBytes` pieces when set); resolves once the bytes reach the kernel. */
  write(res: ServerResponse, text: string): Promise<void>;
  /** Destroys the socket under `res` now (a cut the fake made: not counted as a client abort). */
  cut(res: ServerResponse): void;
  /**
   * A whole (non-streamed) 200 answer under the mode's faults: `slow` waits first, `malformed_after`
   * sends half the body, `stall_after` sends only the headers, `cut_after` half the body then cuts.
   */
  answerWhole(res: ServerResponse, m: FakeFault, headers: Record<string, string>, json: string): Promise<void>;
  /**
   * A 200 event stream of framed `events`: headers flushed first; the fault of `m` at its `chunks`
   * (cut, stall, error event, malformed event) and the waits of `faults.waitBefore`.
   */
  streamEvents(res: ServerResponse, m: FakeFault, headers: Record<string, string>, events: string[], faults?: StreamFaults): Promise<void>;
  /** The counters and controls of the fake's handle (`requests` is the fake's own list). */
  controls<R extends RecordedRequest>(requests: R[]): FakeServerControls<M, R> & { closedSockets(): number };
}

/**
 * Starts the server of the fake `name` (named in the harness's own errors, e.g. `fake-openai: no
 * client abort …`) with its options' `mode` (default ok) and `fragmentBytes`, and resolves once it listens.
 */
export async function startFakeProviderHarness<M extends { kind: string }>(
  name: string,
  opts: { mode?: M; fragmentBytes?: number },
  wire: FakeWire,
): Promise<FakeProviderHarness<M>> {
  let mode: M | { kind: "ok" } = opts.mode ?? { kind: "ok" };
  const timers = new Set<NodeJS.Timeout>();
  const cutByUs = new WeakSet<ServerResponse>();
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  let connections = 0;
  let closed = 0;
  let aborted = 0;
  let seq = 0;
  let closing = false;

  const delay = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  // Resolves once the bytes are handed to the kernel, so a following socket.destroy() cannot drop them.
  const flushWrite = (res: ServerResponse, data: string | Buffer): Promise<void> =>
    new Promise((resolve) => {
      res.write(data, () => resolve());
    });

  async function write(res: ServerResponse, text: string): Promise<void> {
    const size = opts.fragmentBytes;
    if (!size) return flushWrite(res, text);
    const bytes = Buffer.from(text, "utf8");
    for (let i = 0; i < bytes.length && !res.destroyed; i += size) {
      await flushWrite(res, bytes.subarray(i, i + size));
      // A pause makes the pieces leave as separate TCP segments instead of being coalesced.
      await delay(1);
    }
  }

  function cut(res: ServerResponse): void {
    cutByUs.add(res);
    res.socket?.destroy();
  }

  async function answerWhole(res: ServerResponse, m: FakeFault, headers: Record<string, string>, json: string): Promise<void> {
    if (m.kind === "slow") await delay(m.delayMs ?? 200);
    res.writeHead(200, headers);
    if (m.kind === "malformed_after") return void res.end(json.slice(0, Math.floor(json.length / 2)));
    if (m.kind === "stall_after") return void res.flushHeaders();
    if (m.kind === "cut_after") {
      res.write(json.slice(0, Math.floor(json.length / 2)));
      cutByUs.add(res);
      return void setTimeout(() => res.socket?.destroy(), 5);
    }
    res.end(json);
  }

  async function streamEvents(res: ServerResponse, m: FakeFault, headers: Record<string, string>, events: string[], faults: StreamFaults = {}): Promise<void> {
    res.writeHead(200, headers);
    res.flushHeaders();
    const faultAt = "chunks" in m ? m.chunks : -1;
    for (let i = 0; i < events.length; i++) {
      if (res.destroyed || closing) return;
      if (i === faultAt) {
        if (m.kind === "cut_after") return cut(res);
        if (m.kind === "stall_after") return; // keep the socket open; the client must give up
        if (m.kind === "stream_error_after" && faults.errorEvent) {
          await write(res, faults.errorEvent());
          return void res.end();
        }
        if (m.kind === "malformed_after" && faults.malformedEvent !== undefined) await write(res, faults.malformedEvent);
      }
      const wait = faults.waitBefore?.(i) ?? 0;
      if (wait > 0) await delay(wait);
      if (res.destroyed || closing) return;
      await write(res, events[i] ?? "");
    }
    res.end();
  }

  const server = createServer((req, res) => {
    res.on("close", () => {
      if (res.writableFinished || cutByUs.has(res) || closing) return;
      aborted++;
      for (const w of waiters.splice(0))
        if (aborted >= w.count) w.resolve();
        else waiters.push(w);
    });
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => {
      const n = ++seq;
      Promise.resolve(wire.route(req, res, Buffer.concat(parts).toString("utf8"), n)).catch((err: unknown) => {
        if (!res.headersSent) wire.internalError(res, n, `${name} failed: ${String(err)}`);
        else res.destroy();
      });
    });
  });
  server.on("connection", (socket) => {
    connections++;
    socket.on("close", () => closed++);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    origin: `http://127.0.0.1:${port}`,
    mode: () => mode,
    closing: () => closing,
    delay,
    write,
    cut,
    answerWhole,
    streamEvents,
    controls: (requests) => ({
      requests,
      connections: () => connections,
      closedSockets: () => closed,
      abortedRequests: () => aborted,
      waitForClientAbort(timeoutMs = 5000, count = 1) {
        if (aborted >= count) return Promise.resolve();
        return new Promise<void>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error(`${name}: no client abort within ${timeoutMs} ms (aborted ${aborted}, wanted ${count})`)), timeoutMs);
          waiters.push({ count, resolve: () => (clearTimeout(t), resolve()) });
        });
      },
      setMode(next) {
        mode = next;
      },
      async close() {
        closing = true;
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      },
    }),
  };
}

/** A request's JSON body: undefined when empty, `INVALID_JSON` when it does not parse. */
export const INVALID_JSON: unique symbol = Symbol("invalid JSON");
export function jsonBody(raw: string): unknown {
  if (raw === "") return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return INVALID_JSON;
  }
}

/** The scripted answer text: `reply` as given, or called with the request, or `fallback`. */
export function scriptedReply<R>(reply: string | ((req: R) => string) | undefined, req: R, fallback: string): string {
  return typeof reply === "function" ? reply(req) : (reply ?? fallback);
}

/**
 * The scripted tool calls for a request that `offersTools` (declares tools and does not turn tool
 * calling off), or undefined (then the fake answers with text): none scripted, or no calls.
 */
export function scriptedToolReply<R>(
  toolReply: FakeToolReply | ((req: R) => FakeToolReply | undefined) | undefined,
  req: R,
  offersTools: boolean,
): FakeToolReply | undefined {
  if (!offersTools || toolReply === undefined) return undefined;
  const r = typeof toolReply === "function" ? toolReply(req) : toolReply;
  return r && r.calls.length > 0 ? r : undefined;
}
