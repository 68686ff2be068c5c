/**
 * Collects items and flushes them together: when `maxSize` are waiting or `maxWaitMs` after the
 * first one arrived. Each `add` resolves (or rejects) with its batch, so a BullMQ job that awaits
 * it is acknowledged only after its batch committed. A `flush` that settles items one by one
 * returns one entry per item (`undefined`: done; anything else: that item's `add` rejects with
 * it); one that throws rejects the whole batch.
 */
export class MicroBatcher<T> {
  private pending: Array<{ item: T; resolve: () => void; reject: (err: unknown) => void }> = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly opts: { maxSize: number; maxWaitMs: number; flush: (items: T[]) => Promise<void | readonly unknown[]> }) {}

  add(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (this.pending.length >= this.opts.maxSize) this.flushNow();
      else this.timer ??= setTimeout(() => this.flushNow(), this.opts.maxWaitMs);
    });
  }

  /** Flush what is waiting now; batches run one after another, never concurrently. */
  flushNow(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return this.flushing;
    this.flushing = this.flushing.then(async () => {
      try {
        const outcomes = await this.opts.flush(batch.map((b) => b.item));
        batch.forEach((b, i) => {
          const err = outcomes?.[i];
          if (err === undefined) b.resolve();
          else b.reject(err);
        });
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
    });
    return this.flushing;
  }
}
