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
  }
}
