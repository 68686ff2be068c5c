import type { OutputStream } from "./command";

/** Reports steps of a long task. */
export interface Progress {
  /** One more step finished; `label` says which (e.g. the day). */
  tick(label: string, detail?: string): void;
  /** Ends the bar's line (a no-op for plain lines). */
  done(): void;
}

const WIDTH = 24;

/**
 * Progress on `stream`: on a terminal, one bar redrawn in place (`[#####......] 2/3 2026-03-02`);
 * otherwise (a pipe, a log file, CI) one plain `n/N label detail` line per step.
 */
export function createProgress(stream: OutputStream, total: number): Progress {
  let n = 0;
  const tty = stream.isTTY === true;
  return {
    tick(label, detail) {
      n += 1;
      if (!tty) {
        stream.write(`${n}/${total} ${label}${detail ? ` ${detail}` : ""}\n`);
        return;
      }
      const filled = total === 0 ? WIDTH : Math.round((n / total) * WIDTH);
      // \r back to column 0, ESC[2K clears the line (a shorter label leaves no tail).
      stream.write(`\r\x1b[2K[${"#".repeat(filled)}${".".repeat(WIDTH - filled)}] ${n}/${total} ${label}`);
    },
    done() {
      if (tty && n > 0) stream.write("\n");
    },
  };
}
