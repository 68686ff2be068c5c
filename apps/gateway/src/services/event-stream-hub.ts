import { duplicateUnpipelined, type JobStore, type Redis, type StreamedEvent } from "@switchyard/queue";

/** Order of two Redis Stream ids (`ms-seq`), without allocating: by length, then by character, per part. */
export function compareStreamIds(a: string, b: string): number {
  const da = a.indexOf("-");
  const db = b.indexOf("-");
  if (da !== db) return da > db ? 1 : -1; // more digits in the millisecond part (no leading zeros)
  for (let i = 0; i < da; i++) {
    const d = a.charCodeAt(i) - b.charCodeAt(i);
    if (d !== 0) return d > 0 ? 1 : -1;
  }
  const sa = a.length - da;
  const sb = b.length - db;
  if (sa !== sb) return sa > sb ? 1 : -1;
  for (let i = da + 1; i < a.length; i++) {
    const d = a.charCodeAt(i) - b.charCodeAt(i);
    if (d !== 0) return d > 0 ? 1 : -1;
  }
  return 0;
}

/** Where a follower's events go. Called in order; nothing is called after `error`. */
export interface FollowSink {
  /** Events after the follower's cursor, oldest first (never empty). */
  events(batch: StreamedEvent[]): void;
  /** The hub cannot serve the follower any more (it was closed). */
  error(err: Error): void;
}

interface Follower {
  /** The last event id handed to this follower. */
  cursor: string;
  sink: FollowSink;
}

interface Followed {
  jobId: string;
  followers: Set<Follower>;
  /** A read of this job's stream is in flight (reads of one job never overlap, so delivery stays in order). */
  reading: boolean;
  /** Read again when the current read returns: the stream moved, or a follower joined behind it. */
  again: boolean;
}

export interface HubStats {
  jobs: number;
  followers: number;
  noticesRead: number;
  streamReads: number;
  eventsDelivered: number;
  resyncs: number;
}

/**
 * Every SSE follower of a gateway process reads its job's events through this hub, and what the
 * hub costs follows events, not followers. Each event-stream write also appends a notice naming
 * the job to one notice stream (see `NOTIFY` in the job store's scripts); the hub tails it with
 * one blocking XREAD and, for the jobs it follows that moved, reads their streams after their
 * followers' cursors in one pipelined round trip. A follower is a cursor and a sink.
 *
 * Order: all reads of one job go through one connection, one at a time, and a read from cursor S
 * is handed only to followers at or past S (one further back gets another read), so nothing is
 * skipped or repeated. A follower that joins is read for at once from its own cursor; the notice
 * tail starts (at the newest notice, read on the same connection first) before that read is sent,
 * so an event written after the read has a notice the tail will see.
 *
 * Lost notices: the tail resumes from its last notice id after a dropped connection (commands
 * wait for the reconnect). Only trimming can lose notices, and only when a read comes back full:
 * then, if the oldest kept notice is newer than the last one read, every followed job is read
 * again from its cursors. After a failed read the same full re-read runs once the tail works again.
 * All keys share the prefix's hash slot, so this works on Redis Cluster too.
 */
export class EventStreamHub {
  private readonly jobs = new Map<string, Followed>();
  private followerCount = 0;
  /** Blocking notice reads. */
  private tailConn: Redis | null = null;
  /** Stream reads, in order. */
  private readConn: Redis | null = null;
  private started: Promise<void> | null = null;
  private closed = false;
  private readonly pending = new Set<Followed>();
  private flushQueued = false;
  private readonly counters = { noticesRead: 0, streamReads: 0, eventsDelivered: 0, resyncs: 0 };
  private readonly blockMs: number;
  private readonly readCount: number;
  private readonly noticeCount: number;

  constructor(
    private readonly opts: {
      redis: Redis;
      jobStore: JobStore;
      blockMs?: number;
      /** Events read per job per round trip (default 500). */
      readCount?: number;
      /** Notices read per blocking read (default 1000). */
      noticeCount?: number;
      onError?: (err: Error, where: string) => void;
      /** Age (s) of the oldest event a read hands on, once per read that hands any on. */
      observeLag?: (seconds: number) => void;
    },
  ) {
    this.blockMs = opts.blockMs ?? 5000;
    this.readCount = opts.readCount ?? 500;
    this.noticeCount = opts.noticeCount ?? 1000;
  }

  /** Followers attached right now (for tests and diagnostics). */
  get size(): number {
    return this.followerCount;
  }

  stats(): HubStats {
    return { jobs: this.jobs.size, followers: this.followerCount, ...this.counters };
  }

  /**
   * Follow a job's events after `after` ("0": from the start). Returns the function that stops
   * following; the sink gets nothing after it is called.
   */
  subscribe(jobId: string, after: string, sink: FollowSink): () => void {
    if (this.closed) throw new Error("event stream hub is closed");
    const f: Follower = { cursor: after === "0" ? "0-0" : after, sink };
    let job = this.jobs.get(jobId);
    if (!job) {
      job = { jobId, followers: new Set(), reading: false, again: false };
      this.jobs.set(jobId, job);
    }
    job.followers.add(f);
    this.followerCount++;
    const followed = job;
    const unsubscribe = () => {
      if (!followed.followers.delete(f)) return;
      this.followerCount--;
      if (followed.followers.size === 0 && this.jobs.get(jobId) === followed) this.jobs.delete(jobId);
    };
    // The first follower starts the tail, whose starting point is read before this job's read.
    this.start().then(
      () => this.want(followed),
      (err: Error) => {
        if (!followed.followers.has(f)) return;
        unsubscribe();
        f.sink.error(err);
      },
    );
    return unsubscribe;
  }

  /**
   * A job's events after `after`, as they are written, until the caller stops iterating or
   * `signal` aborts. Yields `"idle"` when `idleMs` pass without an event (for heartbeats).
   */
  async *follow(jobId: string, after: string, opts: { idleMs: number; signal: AbortSignal }): AsyncGenerator<StreamedEvent | "idle"> {
    const queue: StreamedEvent[] = [];
    // Set by the reader below; declared this way so the loop does not narrow it to its initial null.
    let error = null as Error | null;
    let notify: (() => void) | null = null;
    const unsubscribe = this.subscribe(jobId, after, {
      events: (batch) => {
        for (const e of batch) queue.push(e);
        notify?.();
      },
      error: (err) => {
        error = err;
        notify?.();
      },
    });
    const onAbort = () => notify?.();
    opts.signal.addEventListener("abort", onAbort, { once: true });
    try {
      while (!opts.signal.aborted) {
        if (queue.length === 0 && error === null) {
          const got = await new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => resolve(false), opts.idleMs);
            notify = () => {
              clearTimeout(timer);
              resolve(true);
            };
          });
          notify = null;
          if (!got && !opts.signal.aborted) yield "idle";
          continue;
        }
        while (queue.length) yield queue.shift()!;
        if (error) throw error;
      }
    } finally {
      opts.signal.removeEventListener("abort", onAbort);
      unsubscribe();
    }
  }

  /** Stop reading; followers still attached get an error. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new Error("event stream hub closed");
    for (const job of this.jobs.values()) for (const f of job.followers) f.sink.error(err);
    this.jobs.clear();
    this.followerCount = 0;
    this.tailConn?.disconnect();
    this.readConn?.disconnect();
  }

  /** Connections and the tail's starting point, once. */
  private start(): Promise<void> {
    this.started ??= (async () => {
      // Each reconnects on its own and its commands wait for it; errors are reported where a read fails.
      this.tailConn ??= duplicateUnpipelined(this.opts.redis).on("error", () => undefined);
      this.readConn ??= duplicateUnpipelined(this.opts.redis).on("error", () => undefined);
      const from = await this.opts.jobStore.latestNotice(this.readConn);
      if (this.closed) throw new Error("event stream hub closed");
      void this.tail(from);
    })().catch((err: Error) => {
      this.started = null; // the next follower tries again
      throw err;
    });
    return this.started;
  }

  private async tail(from: string): Promise<void> {
    let last = from;
    let resync = false;
    while (!this.closed) {
      try {
        const r = await this.opts.jobStore.readNotices(this.tailConn!, last, { blockMs: this.blockMs, count: this.noticeCount });
        this.counters.noticesRead += r.read;
        if (r.read >= this.noticeCount && compareStreamIds(await this.opts.jobStore.oldestNotice(this.readConn!), last) > 0) resync = true;
        last = r.last;
        if (resync) {
          resync = false;
          this.counters.resyncs++;
          for (const job of this.jobs.values()) this.want(job);
        } else {
          for (const id of r.jobIds) {
            const job = this.jobs.get(id);
            if (job) this.want(job);
          }
        }
      } catch (err) {
        if (this.closed) break;
        this.opts.onError?.(err as Error, "notice tail");
        resync = true;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /** Read this job's stream soon (batched with the other jobs wanted in the same turn). */
  private want(job: Followed): void {
    if (this.closed || job.followers.size === 0) return;
    if (job.reading) {
      job.again = true;
      return;
    }
    this.pending.add(job);
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => this.flush());
    }
  }

  private flush(): void {
    this.flushQueued = false;
    if (this.closed || this.pending.size === 0) return;
    const batch: Array<{ job: Followed; from: string }> = [];
    for (const job of this.pending) {
      if (job.followers.size === 0 || job.reading) continue;
      let from: string | null = null;
      for (const f of job.followers) if (from === null || compareStreamIds(f.cursor, from) < 0) from = f.cursor;
      job.reading = true;
      job.again = false;
      batch.push({ job, from: from! });
    }
    this.pending.clear();
    if (batch.length === 0) return;
    this.counters.streamReads += batch.length;
    this.opts.jobStore
      .readEventsAfter(
        this.readConn!,
        batch.map((b) => ({ jobId: b.job.jobId, after: b.from })),
        this.readCount,
      )
      .then(
        (results) => {
          for (let i = 0; i < batch.length; i++) this.settle(batch[i]!.job, batch[i]!.from, results[i]!);
        },
        (err: Error) => {
          for (const b of batch) this.settle(b.job, b.from, err);
        },
      );
  }

  /** Hand a read's events to the followers it covers, then read again if the job moved meanwhile. */
  private settle(job: Followed, from: string, r: { events: StreamedEvent[]; last: string | null; read: number } | Error): void {
    job.reading = false;
    if (this.closed) return;
    if (r instanceof Error) {
      this.opts.onError?.(r, "stream read");
      setTimeout(() => this.want(job), 500).unref();
      return;
    }
    if (r.events.length && this.opts.observeLag) {
      const id = r.events[0]!.id;
      this.opts.observeLag(Math.max(0, Date.now() - Number(id.slice(0, id.indexOf("-")))) / 1000);
    }
    for (const f of job.followers) {
      if (compareStreamIds(f.cursor, from) < 0) {
        job.again = true; // joined behind this read: it gets a read from its own cursor
        continue;
      }
      let start = 0;
      while (start < r.events.length && compareStreamIds(r.events[start]!.id, f.cursor) <= 0) start++;
      if (r.last !== null && compareStreamIds(r.last, f.cursor) > 0) f.cursor = r.last;
      if (start < r.events.length) {
        const batch = start === 0 ? r.events : r.events.slice(start);
        this.counters.eventsDelivered += batch.length;
        f.sink.events(batch);
      }
    }
    if (r.read >= this.readCount) job.again = true;
    if (job.again) {
      job.again = false;
      this.want(job);
    }
  }
}
