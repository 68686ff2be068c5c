import { availableParallelism } from "node:os";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { warmO200k } from "@switchyard/tokenizer";
import { countInputTokens, extraTexts, messageTexts, type CountedExtras, type CountedMessage } from "./token-count";
import type { CountReply, CountTask } from "./token-count-worker";

/** Refused because the pool already has `maxPendingBytes` of text to count: retry in a moment. */
export class TokenCountBusyError extends Error {
  override readonly name = "TokenCountBusyError";
  readonly code = "token_count_busy";
  readonly retryable = true;
}

export interface TokenCountPoolOptions {
  /** Worker threads, started on first use. Default: cores − 1, at least 1, at most 4. */
  threads?: number;
  /**
   * Requests with at most this many UTF-8 bytes of text are counted on the calling thread: at the
   * worst measured cost (~1 µs per byte of adversarial text on a loaded machine) that is ≤ ~4 ms,
   * less than a hop to a thread is worth below it. Default 4096.
   */
  inlineBytes?: number;
  /**
   * Bytes of text queued or being counted across the threads past which `count` throws
   * `TokenCountBusyError` instead of queueing more (at ~0.5–1 s of CPU per MB of adversarial text,
   * the default is a minute of one thread's work). Default 64 MiB.
   */
  maxPendingBytes?: number;
}

interface Pending {
  resolve: (tokens: number) => void;
  reject: (err: Error) => void;
  bytes: number;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
  bytes: number;
}

/** UTF-8 bytes of the messages' text (tool calls included) and of the extras' JSON: what counting costs in proportion to. */
export function messageTextBytes(messages: readonly CountedMessage[], extras: CountedExtras = {}): number {
  let bytes = 0;
  for (const m of messages) for (const t of messageTexts(m).texts.slice(1)) bytes += Buffer.byteLength(t, "utf8");
  const { toolTexts, formatText } = extraTexts(extras);
  for (const t of toolTexts) bytes += Buffer.byteLength(t, "utf8");
  if (formatText !== null) bytes += Buffer.byteLength(formatText, "utf8");
  return bytes;
}

/**
 * `countInputTokens` off the event loop: small requests are counted in place, larger ones on a
 * few worker threads (the one with the least text queued), so a megabyte of adversarial text
 * costs a thread a second instead of stalling every request of the process. Threads start on
 * first use, do not keep the process alive, and are replaced if one dies (its requests fail).
 * The constructor loads the rank table on the calling thread (~150–250 ms, once) so that no
 * request pays for it.
 */
export class TokenCountPool {
  private readonly threads: number;
  private readonly inlineBytes: number;
  private readonly maxPendingBytes: number;
  private readonly slots: (Slot | undefined)[];
  private nextId = 1;
  private closed = false;

  constructor(opts: TokenCountPoolOptions = {}) {
    this.threads = Math.max(1, opts.threads ?? Math.min(4, availableParallelism() - 1));
    this.inlineBytes = opts.inlineBytes ?? 4096;
    this.maxPendingBytes = opts.maxPendingBytes ?? 64 * 1024 * 1024;
    this.slots = Array.from({ length: this.threads }, () => undefined);
    if (this.inlineBytes > 0) warmO200k();
  }

  /** Bytes of text queued or being counted on the threads now. */
  get pendingBytes(): number {
    return this.slots.reduce((a, s) => a + (s?.bytes ?? 0), 0);
  }

  /** `countInputTokens(messages, extras)`, exact; on a thread when the text is over `inlineBytes`. */
  async count(messages: readonly CountedMessage[], extras: CountedExtras = {}): Promise<number> {
    if (this.closed) throw new Error("token count pool is closed");
    const bytes = messageTextBytes(messages, extras);
    if (bytes <= this.inlineBytes) return countInputTokens(messages, extras);
    if (this.pendingBytes + bytes > this.maxPendingBytes) {
      throw new TokenCountBusyError(`token counting is busy: ${this.pendingBytes} bytes of text queued, limit ${this.maxPendingBytes}`);
    }
    const slot = this.pick();
    const id = this.nextId++;
    return new Promise<number>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject, bytes });
      slot.bytes += bytes;
      const task: CountTask = { id, messages: messages as CountedMessage[], extras: { tools: extras.tools, response_format: extras.response_format } };
      slot.worker.postMessage(task);
    });
  }

  /** Stop the threads; requests still being counted fail. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(
      this.slots.map(async (s, i) => {
        if (!s) return;
        this.slots[i] = undefined;
        this.fail(s, new Error("token count pool closed"));
        await s.worker.terminate();
      }),
    );
  }

  /** The thread with the least text queued, started if it is not running. */
  private pick(): Slot {
    let best = -1;
    for (let i = 0; i < this.slots.length; i++) {
      const s = this.slots[i];
      if (!s) return this.start(i);
      if (best < 0 || s.bytes < this.slots[best]!.bytes) best = i;
    }
    return this.slots[best]!;
  }

  private start(i: number): Slot {
    const worker = spawnCountWorker();
    worker.unref();
    const slot: Slot = { worker, pending: new Map(), bytes: 0 };
    this.slots[i] = slot;
    worker.on("message", (reply: CountReply) => {
      const p = slot.pending.get(reply.id);
      if (!p) return;
      slot.pending.delete(reply.id);
      slot.bytes -= p.bytes;
      if ("error" in reply) p.reject(new Error(`token counting failed: ${reply.error}`));
      else p.resolve(reply.tokens);
    });
    const gone = (err: Error) => {
      if (this.slots[i] === slot) this.slots[i] = undefined;
      this.fail(slot, err);
    };
    worker.on("error", (err: Error) => gone(err));
    worker.on("exit", (code) => gone(new Error(`token count thread exited with code ${code}`)));
    return slot;
  }

  private fail(slot: Slot, err: Error): void {
    for (const p of slot.pending.values()) p.reject(err);
    slot.pending.clear();
    slot.bytes = 0;
  }
}

/**
 * The worker thread. From source (`.ts`, under tsx or jest) the thread registers tsx's loader
 * before loading the worker module: Node does not hand the parent's `--import tsx` hooks to a
 * worker's entry file.
 */
function spawnCountWorker(): Worker {
  const ext = path.extname(__filename);
  const file = path.join(__dirname, `token-count-worker${ext}`);
  if (ext !== ".ts") return new Worker(file);
  const tsx = require.resolve("tsx/cjs/api");
  return new Worker(`require(${JSON.stringify(tsx)}).register(); require(${JSON.stringify(file)});`, { eval: true });
}
