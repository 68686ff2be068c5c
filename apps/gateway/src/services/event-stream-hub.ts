import { randomUUID } from "node:crypto";
import type { JobStore, Redis, RedisKeys, StreamedEvent } from "@switchyard/queue";

interface Follower {
  jobId: string;
  /** The last event id handed to this follower. */
  cursor: string;
  queue: StreamedEvent[];
  error: Error | null;
  notify: (() => void) | null;
}

/** Order of two Redis Stream ids (`ms-seq`). */
export function compareStreamIds(a: string, b: string): number {
  const [am, as] = a.split("-").map(BigInt) as [bigint, bigint];
  const [bm, bs] = b.split("-").map(BigInt) as [bigint, bigint];
  if (am !== bm) return am > bm ? 1 : -1;
  return as === bs ? 0 : as > bs ? 1 : -1;
}

/**
 * Every SSE stream of a gateway process reads its job's events through one blocking XREAD on one
 * connection, instead of a Redis connection (on a cluster, a connection per master) per client.
 * The read covers each followed job from the lowest cursor among its followers, plus a wake-up
 * stream of this process: a follower that joins while the read is blocked writes to it, so the
 * read returns at once and starts again with the new job in it. All keys share the prefix's hash
 * slot, so this works on Redis Cluster too.
 */
export class EventStreamHub {
  private readonly followers = new Set<Follower>();
  private readonly wakeKey: string;
  /** Newest wake entry seen; starting at 0 means the first read returns at once (harmless). */
  private wakeId = "0";
  private conn: Redis | null = null;
  private running = false;
  private closed = false;

  constructor(private readonly opts: { redis: Redis; keys: RedisKeys; jobStore: JobStore; blockMs?: number }) {
    this.wakeKey = opts.keys.sseWake(randomUUID());
  }

  /** Jobs followed right now (for tests and diagnostics). */
  get size(): number {
    return this.followers.size;
  }

  /**
   * A job's events after `after`, as they are written, until the caller stops iterating or
   * `signal` aborts. Yields `"idle"` when `idleMs` pass without an event (for heartbeats).
   */
  async *follow(jobId: string, after: string, opts: { idleMs: number; signal: AbortSignal }): AsyncGenerator<StreamedEvent | "idle"> {
    if (this.closed) throw new Error("event stream hub is closed");
    // "0" (from the start) as a full id, so cursors compare without a special case.
    const f: Follower = { jobId, cursor: after === "0" ? "0-0" : after, queue: [], error: null, notify: null };
    this.followers.add(f);
    const onAbort = () => f.notify?.();
    opts.signal.addEventListener("abort", onAbort, { once: true });
    try {
      await this.start();
      while (!opts.signal.aborted) {
        if (f.queue.length === 0 && f.error === null) {
          const got = await new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => resolve(false), opts.idleMs);
            f.notify = () => {
              clearTimeout(timer);
              resolve(true);
            };
          });
          f.notify = null;
          if (!got && !opts.signal.aborted) yield "idle";
          continue;
        }
        for (const e of f.queue.splice(0)) yield e;
        if (f.error) throw f.error;
      }
    } finally {
      opts.signal.removeEventListener("abort", onAbort);
      this.followers.delete(f);
    }
  }

  /** Stop reading; followers still attached get an error. */
  async close(): Promise<void> {
    this.closed = true;
    this.fail(new Error("event stream hub closed"));
    this.conn?.disconnect();
  }

  /** Make sure the read loop runs and sees the newest follower. */
  private async start(): Promise<void> {
    if (!this.running) {
      this.running = true;
      void this.loop();
    } else {
      await this.opts.jobStore.wake(this.wakeKey);
    }
  }

  private async loop(): Promise<void> {
    this.conn ??= this.opts.redis.duplicate();
    // `running` is cleared in the same turn as the emptiness check, so a follower added later
    // always finds the loop stopped and starts it again.
    while (this.followers.size > 0 && !this.closed) {
      const cursors = new Map<string, string>();
      for (const f of this.followers) {
        const c = cursors.get(f.jobId);
        if (c === undefined || compareStreamIds(f.cursor, c) < 0) cursors.set(f.jobId, f.cursor);
      }
      try {
        const r = await this.opts.jobStore.readManyEvents(cursors, { conn: this.conn, blockMs: this.opts.blockMs ?? 5000, wake: { key: this.wakeKey, after: this.wakeId } });
        if (r.wakeId) this.wakeId = r.wakeId;
        this.deliver(r.events);
      } catch (err) {
        if (this.closed) break;
        this.fail(err as Error);
      }
    }
    this.running = false;
  }

  private deliver(events: Map<string, StreamedEvent[]>): void {
    for (const f of this.followers) {
      const mine = events.get(f.jobId);
      if (!mine?.length) continue;
      const fresh = mine.filter((e) => compareStreamIds(e.id, f.cursor) > 0);
      if (!fresh.length) continue;
      f.queue.push(...fresh);
      f.cursor = fresh.at(-1)!.id;
      f.notify?.();
    }
  }

  /** A failed read ends every current follower with the error (as a failed read of its own would). */
  private fail(err: Error): void {
    for (const f of this.followers) {
      f.error = err;
      f.notify?.();
    }
    this.followers.clear();
  }
}
