/** ANSI colours cycled through for child names (bright, readable on dark and light terminals). */
const COLORS = [36, 33, 35, 32, 34, 91, 96, 93] as const;

/** Options of {@link formatPrefix}. */
export interface PrefixOptions {
  /** Pad the name to this many characters (default: the name's length). */
  width?: number;
  /** Colour index (cycled); undefined → no colour. */
  color?: number;
}

/** `"gateway        | "`, optionally wrapped in an ANSI colour. */
export function formatPrefix(name: string, opts: PrefixOptions = {}): string {
  const label = `${name.padEnd(opts.width ?? name.length)} | `;
  if (opts.color === undefined) return label;
  const code = COLORS[Math.abs(opts.color) % COLORS.length];
  return `\u001b[${code}m${label}\u001b[0m`;
}

/** A line splitter fed with arbitrary chunks; see {@link createLineSplitter}. */
export interface LineSplitter {
  /** Feed a chunk; every complete line is passed on. */
  push(chunk: string | Buffer): void;
  /** Pass on a trailing partial line, if any (call when the stream ends). */
  flush(): void;
}

/**
 * Split a byte stream into lines. Chunks may split lines (or UTF-8 characters) anywhere; a partial
 * line is held until its newline arrives or {@link LineSplitter.flush} is called. A trailing `\r`
 * is dropped, so `\r\n` streams give the same lines.
 */
export function createLineSplitter(onLine: (line: string) => void): LineSplitter {
  const decoder = new TextDecoder("utf-8");
  let pending = "";
  const strip = (l: string) => (l.endsWith("\r") ? l.slice(0, -1) : l);
  return {
    push(chunk) {
      const lines = (pending + (typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true }))).split("\n");
      pending = lines.pop() ?? "";
      for (const l of lines) onLine(strip(l));
    },
    flush() {
      const rest = pending + decoder.decode();
      pending = "";
      if (rest.length > 0) onLine(strip(rest));
    },
  };
}

/** Prefix every line of a byte stream (see {@link createLineSplitter}); `write` gets `prefix + line + "\n"`. */
export function createLinePrefixer(prefix: string, write: (text: string) => void): LineSplitter {
  return createLineSplitter((line) => write(`${prefix}${line}\n`));
}
