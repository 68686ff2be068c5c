import type { OutputStream } from "./command";

/** Reports steps of a long task. */
export interface Progress {
  /** One more step finished; `label` says which (e.g. the day). */
  tick(label: string, detail?: string): void;
  /**
   * Jump to `n` of `total` steps, counted elsewhere (a batch's `request_counts`); `total` may grow.
   * On a pipe one line per change of position or label, not per call (a poll that saw nothing new writes nothing).
   */
  set(n: number, total: number, label: string): void;
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
  let drawn = false;
  let last = "";
  const tty = stream.isTTY === true;
  const draw = (label: string, detail?: string) => {
    drawn = true;
    if (!tty) {
      stream.write(`${n}/${total} ${label}${detail ? ` ${detail}` : ""}\n`);
      return;
    }
    const filled = total === 0 ? WIDTH : Math.min(WIDTH, Math.round((n / total) * WIDTH));
    // \r back to column 0, ESC[2K clears the line (a shorter label leaves no tail).
    stream.write(`\r\x1b[2K[${"#".repeat(filled)}${".".repeat(WIDTH - filled)}] ${n}/${total} ${label}`);
  };
  return {
    tick(label, detail) {
      n += 1;
      draw(label, detail);
    },
    set(at, of, label) {
      const key = `${at}/${of} ${label}`;
      if (key === last) return;
      last = key;
      n = at;
      total = of;
      draw(label);
    },
    done() {
      if (tty && drawn) stream.write("\n");
    },
  };
}
