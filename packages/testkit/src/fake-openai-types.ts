import type { FakeServerControls, FakeServerOptions, RecordedRequest } from "./fake-provider-harness";

// The request record and tool-call script every fake shares live with the harness.
export type { FakeToolCall, FakeToolReply, RecordedRequest } from "./fake-provider-harness";

/**
 * How the fake answers chat (and, for `error`, embeddings) requests. `chunks` counts SSE `data:`
 * events already written when the fault happens (the role chunk is the first).
 * - `error`: that status with OpenAI's error body (defaults per status) and extra `headers`.
 * - `cut_after`: destroys the socket mid-stream. `malformed_after`: sends a chunk that is not JSON.
 * - `stall_after`: stops sending but keeps the socket open. `stream_error_after`: `data: {"error":…}`.
 * - `slow`: `delayMs` (default 200) before every chunk after the first, so a client can cancel.
 * With `streamOnly`, a fault mode applies to streamed requests only; plain ones are answered normally.
 */
export type FakeOpenAIMode =
  | { kind: "ok" }
  | { kind: "error"; status: number; type?: string; code?: string | null; message?: string; headers?: Record<string, string> }
  | { kind: "cut_after"; chunks: number; streamOnly?: boolean }
  | { kind: "malformed_after"; chunks: number; streamOnly?: boolean }
  | { kind: "stall_after"; chunks: number; streamOnly?: boolean }
  | { kind: "stream_error_after"; chunks: number; type?: string; message?: string }
  | { kind: "slow"; delayMs?: number };

/** Characters of arguments per streamed piece, so arguments always arrive in several fragments. */
export const FAKE_ARGUMENT_PIECE = 7;

/** Splits tool arguments into the pieces the fakes stream. */
export function argumentPieces(args: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i += FAKE_ARGUMENT_PIECE) out.push(args.slice(i, i + FAKE_ARGUMENT_PIECE));
  return out;
}

/** Options of {@link startFakeOpenAI}. */
export interface FakeOpenAIOptions extends FakeServerOptions<FakeOpenAIMode> {
  /** Answer text, or a function of the request. Default `"Hello from the fake OpenAI server."`. */
  reply?: string | ((req: RecordedRequest) => string);
  /**
   * Delay between a streamed text answer's headers and its first chunk: the upstream's own time to
   * first token (benches). Default 0.
   */
  firstChunkDelayMs?: number;
  /** When set, any other bearer token gets 401 `invalid_api_key`. Default: any non-empty key. */
  apiKey?: string;
  /** SSE line ending. Default `"\n"`; `"\r\n"` exercises CRLF parsing. */
  lineEnding?: "\n" | "\r\n";
  /** Ids listed by `GET /v1/models`. */
  models?: string[];
  /** Embedding length when the request has no `dimensions`. Default 8. */
  embeddingDimensions?: number;
}

/** A running fake. `url` is the base URL including `/v1`, as `OPENAI_BASE_URL` would be. */
export interface FakeOpenAI extends FakeServerControls<FakeOpenAIMode> {
  url: string;
  /** Sockets closed so far, by either side. */
  closedSockets(): number;
}
