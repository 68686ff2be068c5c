import { spawn, type ChildProcess } from "node:child_process";
import { createLineSplitter, formatPrefix } from "./prefix-stream";

/** What to run under supervision. */
export interface ChildSpec {
  /** Shown before each output line (`gateway        | …`). */
  name: string;
  /** Executable (e.g. `process.execPath`). */
  command: string;
  args: string[];
  /** The child's whole environment (default: the launcher's). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Open an IPC channel, so the child can notice the launcher dying (`process.on("disconnect")`). */
  ipc?: boolean;
}

/** How a child ended. */
export interface ChildExit {
  name: string;
  pid: number | undefined;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be spawned at all. */
  error?: Error;
  /** Whether the supervisor had asked it to stop. */
  requested: boolean;
}

type LineWatcher = (line: string) => void;

/** One supervised child process. */
export class SupervisedChild {
  /** Resolves once the process has exited (never rejects). */
  readonly exited: Promise<ChildExit>;
  private readonly watchers = new Set<LineWatcher>();
  private stopRequested = false;
  private exit: ChildExit | undefined;

  constructor(
    readonly name: string,
    private readonly proc: ChildProcess,
    onLine: (line: string) => void,
  ) {
    const feed = (line: string) => {
      onLine(line);
      for (const w of this.watchers) w(line);
    };
    for (const stream of [proc.stdout, proc.stderr]) {
      if (!stream) continue;
      const splitter = createLineSplitter(feed);
      stream.on("data", (chunk: Buffer) => splitter.push(chunk));
      stream.on("end", () => splitter.flush());
    }
    this.exited = new Promise<ChildExit>((resolve) => {
      const finish = (code: number | null, signal: NodeJS.Signals | null, error?: Error) => {
        if (this.exit) return;
        this.exit = { name, pid: proc.pid, code, signal, requested: this.stopRequested, ...(error ? { error } : {}) };
        resolve(this.exit);
      };
      // "close" waits for stdio to drain, so the last lines are printed before the exit is reported.
      proc.once("close", (code, signal) => finish(code, signal));
      proc.once("error", (err) => {
        if (proc.pid === undefined) finish(null, null, err);
      });
    });
  }

  /** The child's process id (undefined when spawning failed). */
  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** Whether the process is still running. */
  get running(): boolean {
    return this.exit === undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /**
   * Resolve with the first output line (stdout or stderr) matching `re`; reject when the child
   * exits first or `timeoutMs` passes.
   */
  waitForLine(re: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        this.watchers.delete(watcher);
      };
      const watcher: LineWatcher = (line) => {
        const m = re.exec(line);
        if (m) {
          cleanup();
          resolve(m);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${this.name}: no line matching ${re} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.watchers.add(watcher);
      void this.exited.then((e) => {
        cleanup();
        reject(new Error(`${this.name} exited (${describeExit(e)}) before printing a line matching ${re}`));
      });
    });
  }

  /** Send `signal` to the child's process group (it was spawned detached, as a group leader). */
  signal(signal: NodeJS.Signals): void {
    if (!this.running || this.proc.pid === undefined) return;
    try {
      process.kill(-this.proc.pid, signal);
    } catch {
      try {
        this.proc.kill(signal);
      } catch {
        // already gone
      }
    }
  }

  /** Mark the exit that follows as requested (not a crash), without signalling. */
  markStopping(): void {
    this.stopRequested = true;
    if (this.exit) this.exit.requested = true;
  }

  /** SIGTERM, then SIGKILL if still running after `graceMs`. Resolves when the process is gone. */
  async stop(graceMs: number): Promise<ChildExit> {
    this.markStopping();
    if (!this.running) return this.exited;
    this.signal("SIGTERM");
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), graceMs)));
    const first = await Promise.race([this.exited, timedOut]);
    clearTimeout(timer);
    if (first === "timeout") this.signal("SIGKILL");
    return this.exited;
  }
}

/** Human-readable exit: `code 1`, `signal SIGKILL`, or the spawn error. */
export function describeExit(e: ChildExit): string {
  if (e.error) return `failed to spawn: ${e.error.message}`;
  return e.signal ? `signal ${e.signal}` : `code ${String(e.code)}`;
}

/** Options of {@link Supervisor}. */
export interface SupervisorOptions {
  /** Where prefixed output goes (default stdout). */
  write?: (text: string) => void;
  /** Colour the prefixes (default: when stdout is a TTY and NO_COLOR is unset). */
  color?: boolean;
  /** Pad names to this width (default 16, the longest app name). */
  nameWidth?: number;
}

/**
 * Spawns children in their own process groups (so a terminal's Ctrl-C reaches only the launcher,
 * which then stops them in order), prefixes their output, and reports every exit.
 */
export class Supervisor {
  private readonly write: (text: string) => void;
  private readonly color: boolean;
  private readonly nameWidth: number;
  private readonly list: SupervisedChild[] = [];
  private readonly exitListeners = new Set<(exit: ChildExit) => void>();

  constructor(opts: SupervisorOptions = {}) {
    this.write = opts.write ?? ((text) => process.stdout.write(text));
    this.color = opts.color ?? (process.stdout.isTTY === true && !process.env.NO_COLOR);
    this.nameWidth = opts.nameWidth ?? 16;
  }

  /** Start a child; its output is prefixed, its exit reported to {@link onExit} listeners. */
  spawn(spec: ChildSpec): SupervisedChild {
    const proc = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      detached: true,
      stdio: spec.ipc ? ["ignore", "pipe", "pipe", "ipc"] : ["ignore", "pipe", "pipe"],
    });
    const prefix = formatPrefix(spec.name, { width: this.nameWidth, ...(this.color ? { color: this.list.length } : {}) });
    const child = new SupervisedChild(spec.name, proc, (line) => this.write(`${prefix}${line}\n`));
    this.list.push(child);
    // Pids on record, so whoever reads the log (a person, a test) can check nothing is left behind.
    if (proc.pid !== undefined) this.write(`${prefix}started (pid ${proc.pid})\n`);
    void child.exited.then((exit) => {
      for (const l of this.exitListeners) l(exit);
    });
    return child;
  }

  /** Every child spawned so far. */
  get children(): readonly SupervisedChild[] {
    return this.list;
  }

  /** Be told about every exit (requested or not). Returns an unsubscribe function. */
  onExit(listener: (exit: ChildExit) => void): () => void {
    this.exitListeners.add(listener);
    return () => this.exitListeners.delete(listener);
  }

  /** A line printed under the launcher's own name. */
  log(name: string, line: string): void {
    this.write(`${formatPrefix(name, { width: this.nameWidth })}${line}\n`);
  }

  /** Stop several children together (SIGTERM all, SIGKILL stragglers after `graceMs`). */
  async stopAll(children: readonly SupervisedChild[], graceMs: number): Promise<ChildExit[]> {
    for (const c of children) c.markStopping();
    return Promise.all(children.map((c) => c.stop(graceMs)));
  }
}
