import { ProviderError } from "../types";

/** One server-sent event: its `event:` name (default "message") and its joined `data:` lines. */
export interface SseEvent {
  event: string;
  data: string;
}

const LF = 10;
const CR = 13;

/**
 * Incremental SSE parser (WHATWG event-stream rules): bytes in, events out. Handles LF, CRLF and
 * CR line endings (also when a CRLF pair is split across chunks), UTF-8 sequences split across
 * chunks, comments (`:`), multi-line `data:`, and ignores unknown fields (`id:`, `retry:` …).
 */
export class SseDecoder {
  /**
   * `onIgnoredLine` sees every line that is not a comment or a known SSE field (`data`,
   * `event`, `id`, `retry`), since Gemini may send a bare JSON error body into an event stream;
   * an event it returns is emitted in wire order, after the events completed before that line.
   */
  constructor(private readonly opts: { onIgnoredLine?: (line: string) => SseEvent | undefined } = {}) {}

  private readonly decoder = new TextDecoder("utf-8");
  private partial = "";
  private data: string[] = [];
  private event = "";
  private skipLeadingLF = false;

  /** Feeds one network chunk; returns the events it completed. */
  push(bytes: Uint8Array): SseEvent[] {
    return this.feed(this.decoder.decode(bytes, { stream: true }));
  }

  /**
   * Ends the stream. Per the standard an event without its closing blank line is dropped; we
   * dispatch it instead, since a server that ends right after `data: [DONE]` should still be
   * understood.
   */
  end(): SseEvent[] {
    const out = this.feed(this.decoder.decode());
    if (this.partial !== "") {
      this.line(this.partial, out);
      this.partial = "";
    }
    this.line("", out);
    return out;
  }

  private feed(text: string): SseEvent[] {
    const out: SseEvent[] = [];
    let pos = 0;
    if (this.skipLeadingLF && text.length > 0) {
      if (text.charCodeAt(0) === LF) pos = 1;
      this.skipLeadingLF = false;
    }
    let start = pos;
    for (let i = pos; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== LF && c !== CR) continue;
      const line = this.partial === "" ? text.slice(start, i) : this.partial + text.slice(start, i);
      this.partial = "";
      this.line(line, out);
      if (c === CR) {
        if (i + 1 < text.length) {
          if (text.charCodeAt(i + 1) === LF) i++;
        } else {
          this.skipLeadingLF = true;
        }
      }
      start = i + 1;
    }
    if (start < text.length) this.partial += text.slice(start);
    return out;
  }

  private line(line: string, out: SseEvent[]): void {
    if (line === "") {
      if (this.data.length > 0) out.push({ event: this.event || "message", data: this.data.join("\n") });
      this.data = [];
      this.event = "";
      return;
    }
    if (line.charCodeAt(0) === 58 /* ":" comment */) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === "data") this.data.push(value);
    else if (field === "event") this.event = value;
    else if (field !== "id" && field !== "retry") {
      const ev = this.opts.onIgnoredLine?.(line);
      if (ev) out.push(ev);
    }
  }
}

/** The slice of an undici response body the stream reader needs. */
export interface StreamBody extends AsyncIterable<unknown> {
  destroy(err?: Error): unknown;
  readonly destroyed: boolean;
}

/** Options of {@link readSseEvents}. */
export interface ReadSseOptions {
  /** Provider name, for the stall error. */
  provider: string;
  /** No bytes for this long destroys the body with a `timeout` ProviderError ("stream stalled"). 0 disables. */
  idleMs: number;
  /** Decoder to use (e.g. one with `onIgnoredLine`). Default: a plain SseDecoder. */
  decoder?: SseDecoder;
}

/**
 * Reads an event-stream body and yields its events, with a stall detector: no bytes for
 * `idleMs` destroys the body with a `timeout` ProviderError, which the iteration then throws.
 * Time the consumer spends on an event (it is suspended at our `yield`) does not count as
 * upstream silence. Errors of the body are thrown as they are (map them with
 * `toProviderError`). Ending the iteration early, or any error, destroys the body, which
 * closes the upstream socket; a consumer that reads to the end lets the socket go back to the pool.
 */
export async function* readSseEvents(body: StreamBody, opts: ReadSseOptions): AsyncGenerator<SseEvent> {
  const { provider, idleMs } = opts;
  const decoder = opts.decoder ?? new SseDecoder();
  let consumerHasEvent = false;
  const idle =
    idleMs > 0
      ? setTimeout(function onIdle() {
          if (consumerHasEvent) return void idle?.refresh();
          body.destroy(new ProviderError("timeout", `${provider}: stream stalled: no data for ${idleMs} ms`, { provider }));
        }, idleMs)
      : undefined;
  idle?.unref();
  async function* hand(events: SseEvent[]): AsyncGenerator<SseEvent> {
    for (const ev of events) {
      consumerHasEvent = true;
      try {
        yield ev;
      } finally {
        consumerHasEvent = false;
      }
      idle?.refresh();
    }
  }
  try {
    for await (const bytes of body) {
      idle?.refresh();
      yield* hand(decoder.push(bytes as Uint8Array));
    }
    yield* hand(decoder.end());
  } finally {
    if (idle) clearTimeout(idle);
    if (!body.destroyed) body.destroy();
  }
}
