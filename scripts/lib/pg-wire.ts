/**
 * Just enough of the Postgres wire protocol (v3) to multiplex client connections onto one PGlite
 * session: framing of client messages, and spotting ReadyForQuery in the server's output.
 */

/** Request codes of the untyped messages a client may send before its startup message. */
export const SSL_REQUEST_CODE = 80877103;
export const GSSENC_REQUEST_CODE = 80877104;
export const CANCEL_REQUEST_CODE = 80877102;

/** One framed client message. */
export type FrontendMessage =
  | { kind: "ssl-request" }
  | { kind: "gssenc-request" }
  | { kind: "cancel-request" }
  | { kind: "startup"; bytes: Buffer }
  | { kind: "typed"; type: string; bytes: Buffer };

/**
 * Splits a client's byte stream into whole messages. Before startup, messages are untyped
 * (`int32 length, int32 code, …`); after it, each starts with a type byte and an int32 length.
 */
export class FrontendFramer {
  private buf: Buffer = Buffer.alloc(0);
  private started = false;

  /** Add received bytes; returns every message now complete (possibly none). */
  push(chunk: Buffer): FrontendMessage[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: FrontendMessage[] = [];
    for (;;) {
      const msg = this.started ? this.nextTyped() : this.nextUntyped();
      if (!msg) return out;
      out.push(msg);
    }
  }

  private nextUntyped(): FrontendMessage | undefined {
    if (this.buf.length < 8) return undefined;
    const len = this.buf.readInt32BE(0);
    if (len < 8) throw new Error(`invalid startup packet length ${len}`);
    if (this.buf.length < len) return undefined;
    const code = this.buf.readInt32BE(4);
    const bytes = this.take(len);
    if (code === SSL_REQUEST_CODE) return { kind: "ssl-request" };
    if (code === GSSENC_REQUEST_CODE) return { kind: "gssenc-request" };
    if (code === CANCEL_REQUEST_CODE) return { kind: "cancel-request" };
    this.started = true;
    return { kind: "startup", bytes };
  }

  private nextTyped(): FrontendMessage | undefined {
    if (this.buf.length < 5) return undefined;
    const len = this.buf.readInt32BE(1);
    if (len < 4) throw new Error(`invalid message length ${len}`);
    if (this.buf.length < len + 1) return undefined;
    const bytes = this.take(len + 1);
    return { kind: "typed", type: String.fromCharCode(bytes[0] ?? 0), bytes };
  }

  private take(n: number): Buffer {
    const bytes = Buffer.from(this.buf.subarray(0, n));
    this.buf = this.buf.subarray(n);
    return bytes;
  }
}

/** Transaction status carried by ReadyForQuery: idle, in a transaction block, or in a failed one. */
export type TxStatus = "I" | "T" | "E";

/**
 * Follows the server's output message by message (chunks may split messages anywhere) and
 * remembers the transaction status of the last ReadyForQuery seen.
 */
export class BackendTracker {
  private header: number[] = [];
  private remaining = 0;
  private inReadyForQuery = false;
  private status: TxStatus | undefined;

  /** Feed server output. */
  push(chunk: Uint8Array): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, chunk.length - i);
        if (this.inReadyForQuery && this.remaining === 1) this.status = readStatus(chunk[i]);
        this.remaining -= n;
        i += n;
        continue;
      }
      this.header.push(chunk[i] ?? 0);
      i++;
      if (this.header.length === 5) {
        const [t, a, b, c, d] = this.header as [number, number, number, number, number];
        this.remaining = ((a << 24) | (b << 16) | (c << 8) | d) - 4;
        this.inReadyForQuery = t === 0x5a; // 'Z'
        this.header = [];
      }
    }
  }

  /** Status of the last ReadyForQuery fed since the previous call, then forgets it. */
  takeReadyStatus(): TxStatus | undefined {
    const s = this.status;
    this.status = undefined;
    return s;
  }
}

function readStatus(byte: number | undefined): TxStatus {
  const c = String.fromCharCode(byte ?? 0);
  return c === "T" || c === "E" ? c : "I";
}

/** A Sync message: ends an extended-protocol sequence (and its implicit transaction). */
export const SYNC_MESSAGE: Uint8Array = Uint8Array.from([0x53, 0, 0, 0, 4]);

/** An ErrorResponse (`E`) with severity, SQLSTATE code and message, e.g. for "too many connections". */
export function errorResponse(severity: "ERROR" | "FATAL", code: string, message: string): Buffer {
  const fields = Buffer.concat([field("S", severity), field("V", severity), field("C", code), field("M", message), Buffer.from([0])]);
  const head = Buffer.alloc(5);
  head.write("E", 0, "latin1");
  head.writeInt32BE(fields.length + 4, 1);
  return Buffer.concat([head, fields]);
}

function field(tag: string, value: string): Buffer {
  return Buffer.concat([Buffer.from(tag, "latin1"), Buffer.from(value, "utf8"), Buffer.from([0])]);
}
